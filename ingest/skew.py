"""Gateway clock skew: measure each gateway's clock offset, re-stamp or quarantine what it misdates.

Pure: the consumer feeds it observations and receive times and applies its decisions.

*Offset* is receive time minus the gateway's send time (platform minus gateway clock, plus the
delivery delay), tracked per (gateway, boot). Only live observations count: the status heartbeat
is encoded when it is sent, whereas a data message's ``sent_at`` is when it entered the outbox
(a backlog after an outage would read as a clock hours behind). The estimate is the median of
the last ``WINDOW`` heartbeats (one late heartbeat does not move it, and a clock that was set
moves it within two); it is *stable* when the last ``STABLE_MIN`` agree within ``STABLE_SPREAD_S``.

Readings (gateway clock ``t``):
- when a stable offset is beyond ``SKEW_FLAG_S``, every reading is re-stamped ``t + offset`` (so a
  clock that jumped backwards does not reuse the times of readings already stored: the identity
  (gw, dev, m, t) stays unique), and the gateway is flagged once per change;
- otherwise a reading within ``PLAUSIBLE_S`` of the receive time is taken as it is, and so is
  one that belongs to its message (within ``PLAUSIBLE_S`` of ``sent_at``) when the message was
  merely delayed (``sent_at`` not in the future): the backlog after an outage;
- anything else — a reading in the future, or one its own message contradicts — is quarantined
  with reason ``clock``; nothing is dropped.
"""

from __future__ import annotations

import json
import statistics
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from devices.values import Reading
from ingest.quarantine import QuarantinedMessage, quarantined

SKEW_FLAG_S = 5.0  # the line: a clock more than 5 s off is a technical alarm
PLAUSIBLE_S = 300.0  # ±5 min: readings further from the receive time need explaining
WINDOW = 5  # heartbeats in the median (2.5 min at the 30 s heartbeat)
STABLE_MIN = 3  # heartbeats that must agree before the offset is used to re-stamp
STABLE_SPREAD_S = 2.0  # how closely they must agree (delivery jitter is well under this)
CLOCK = "clock"  # quarantine reason of readings whose time cannot be trusted

SkewHook = Callable[[str, float], None]
"""Called as ``on_clock_skew(gateway_id, offset_s)`` when a gateway's clock is found wrong."""


@dataclass(frozen=True, slots=True)
class Offset:
    """What is known of one (gateway, boot)'s clock: platform minus gateway, in seconds."""

    gateway: str
    boot: str
    offset_s: float
    samples: int
    stable: bool

    @property
    def skewed(self) -> bool:
        """A stable offset beyond the alarm line."""
        return self.stable and abs(self.offset_s) > SKEW_FLAG_S


@dataclass(frozen=True, slots=True)
class Judged:
    """The readings to store (some re-stamped) and those to quarantine, with a reason detail."""

    keep: list[Reading]
    restamped: int
    refused: list[tuple[Reading, str]]


class SkewTracker:
    """Per-(gateway, boot) offsets from live heartbeats; bounded to ``max_boots`` entries."""

    def __init__(self, max_boots: int = 100_000) -> None:
        self.max_boots = max_boots
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._flagged: dict[str, float] = {}  # gateway -> offset last flagged

    def observe(self, gateway: str, boot: str, sent_at: datetime, received_at: datetime) -> Offset:
        """Take one live observation (a heartbeat's ``t`` and when it arrived)."""
        key = (gateway, boot)
        window = self._seen.get(key)
        if window is None:
            if len(self._seen) >= self.max_boots:
                del self._seen[next(iter(self._seen))]  # the oldest boot seen
            window = self._seen[key] = deque(maxlen=WINDOW)
        window.append((received_at - sent_at).total_seconds())
        return self.offset(gateway, boot)

    def offset(self, gateway: str, boot: str) -> Offset:
        """The current estimate (offset 0, not stable, before any heartbeat)."""
        window = self._seen.get((gateway, boot))
        if not window:
            return Offset(gateway, boot, 0.0, 0, False)
        recent = list(window)[-STABLE_MIN:]
        stable = len(recent) >= STABLE_MIN and max(recent) - min(recent) <= STABLE_SPREAD_S
        return Offset(gateway, boot, statistics.median(window), len(window), stable)

    def to_flag(self, offset: Offset) -> bool:
        """Whether ``offset`` is a skew not yet flagged (or one that changed by more than the line)."""
        if not offset.skewed:
            if offset.stable:
                self._flagged.pop(offset.gateway, None)  # the clock was set right again
            return False
        last = self._flagged.get(offset.gateway)
        if last is not None and abs(last - offset.offset_s) <= SKEW_FLAG_S:
            return False
        self._flagged[offset.gateway] = offset.offset_s
        return True


def suspicious(times: Sequence[datetime], sent_at: datetime, received_at: datetime) -> bool:
    """Cheap test for the hot path: would ``judge`` (without a skew) refuse any of these times?"""
    if not times:
        return False
    lo, hi = min(times), max(times)
    limit = timedelta(seconds=PLAUSIBLE_S)
    if received_at - limit <= lo and hi <= received_at + limit:
        return False
    delayed = sent_at <= received_at + limit
    return not (delayed and sent_at - limit <= lo and hi <= sent_at + limit)


def judge(
    readings: Sequence[Reading], offset: Offset, sent_at: datetime, received_at: datetime
) -> Judged:
    """Re-stamp, keep or refuse each reading of one message (see the module docstring)."""
    limit = timedelta(seconds=PLAUSIBLE_S)
    if offset.skewed:
        shift = timedelta(seconds=offset.offset_s)
        keep, refused = [], []
        for r in readings:
            fixed = r.time + shift
            if fixed > received_at + limit:
                refused.append((r, f"t={r.time.isoformat()} in the future after offset {shift}"))
            else:
                keep.append(replace(r, time=fixed))
        return Judged(keep, len(keep), refused)
    delayed = sent_at <= received_at + limit
    keep, refused = [], []
    for r in readings:
        if abs(r.time - received_at) <= limit or (delayed and abs(r.time - sent_at) <= limit):
            keep.append(r)
        else:
            detail = (
                f"t={r.time.isoformat()} sent_at={sent_at.isoformat()} "
                f"rx={received_at.isoformat()} offset={offset.offset_s:.1f}s stable={offset.stable}"
            )
            refused.append((r, detail))
    return Judged(keep, 0, refused)


def refused_items(topic: str, judged: Judged, received_at: datetime) -> list[QuarantinedMessage]:
    """One quarantine item (reason ``clock``) per refused reading, as it arrived."""
    return [
        quarantined(
            CLOCK,
            topic,
            json.dumps(
                {"dev": r.device, "m": r.measurement, "val": r.value, "t": r.time.isoformat()}
            ).encode(),
            received_at,
            detail,
        )
        for r, detail in judged.refused
    ]
