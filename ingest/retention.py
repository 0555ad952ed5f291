"""Retention and downsampling per measurement: raw points expire, hourly rollups stay longer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.queries import HOUR_NS, floor_ns
from ingest.store import from_ns, to_ns

DAY = timedelta(days=1)
ROLLUP_BUCKET = timedelta(hours=1)  # the dashboard's longest views and the detectors use hours


@dataclass(frozen=True, slots=True)
class Retention:
    """How long raw points of a measurement are kept, and how long their hourly rollups."""

    raw: timedelta
    rollup: timedelta


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one retention run did."""

    rolled_up: int  # rollup rows written (or rewritten) from expiring raw points
    deleted_raw: int  # raw points removed
    deleted_rollups: int  # rollup rows past their own retention removed


# routine learning (hour-of-week habits) reads ~half a year of activity; vitals are health
# records kept as hourly trends for years; technical readings only matter for weeks
_ACTIVITY = Retention(raw=180 * DAY, rollup=5 * 365 * DAY)
_VITALS = Retention(raw=90 * DAY, rollup=5 * 365 * DAY)
_TECHNICAL = Retention(raw=30 * DAY, rollup=365 * DAY)

DEFAULT_RETENTION: Mapping[str, Retention] = {
    "motion": _ACTIVITY,
    "contact_open": _ACTIVITY,
    "bed_occupied": _ACTIVITY,
    "flush": _ACTIVITY,
    "steps": _ACTIVITY,
    "heart_rate": _VITALS,
    "spo2": _VITALS,
    "battery": _TECHNICAL,
    "worn": _TECHNICAL,
    "water_leak": _TECHNICAL,
    "linkquality": _TECHNICAL,
}


def raw_cutoff(now: datetime, policy: Retention) -> int:
    """ns before which raw points expire: aligned down to a whole hour, so rollups are complete."""
    return floor_ns(to_ns(now - policy.raw), HOUR_NS)


def rollup_cutoff(now: datetime, policy: Retention) -> int:
    """ns before which rollup rows expire."""
    return floor_ns(to_ns(now - policy.rollup), HOUR_NS)


def describe(cutoff_ns: int) -> str:
    """A cutoff for logs."""
    return from_ns(cutoff_ns).isoformat()
