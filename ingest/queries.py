"""Result values of the named queries, and the pure parts both stores share to compute them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.values import Reading
from ingest.errors import StoreError
from ingest.store import from_ns, to_ns

HOUR_NS = 3_600 * 1_000_000_000
BED_MEASUREMENT = "bed_occupied"
VITALS: tuple[str, ...] = ("heart_rate", "spo2")


@dataclass(frozen=True, slots=True)
class RoomHour:
    """How many activity readings (value >= 1) a room had in one UTC hour."""

    room: str
    hour: datetime
    count: int


@dataclass(frozen=True, slots=True)
class OccupancySpan:
    """A time a bed was occupied: from its first 1 to the next 0 (``end`` None: still occupied)."""

    device: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """Aggregate of one measurement over one time bucket starting at ``start``."""

    start: datetime
    mean: float
    low: float
    high: float
    count: int


def bucket_ns(bucket: timedelta) -> int:
    """A bucket length in ns; StoreError unless a whole number of seconds, at least one."""
    micro = bucket // timedelta(microseconds=1)
    if micro < 1_000_000 or micro % 1_000_000:
        raise StoreError(f"bucket {bucket} must be a whole number of seconds, at least 1 s")
    return micro * 1000


def floor_ns(ns: int, size_ns: int) -> int:
    """The start of the epoch-aligned bucket holding ``ns``."""
    return ns - ns % size_ns


def room_hours(counts: Iterable[tuple[str, int, int]], rooms: Mapping[str, str]) -> list[RoomHour]:
    """(device, hour ns, count) rows summed per (room, hour), devices without a room left out."""
    summed: dict[tuple[int, str], int] = {}
    for device, hour_ns, count in counts:
        room = rooms.get(device)
        if room is not None and count > 0:
            summed[hour_ns, room] = summed.get((hour_ns, room), 0) + count
    return [RoomHour(room, from_ns(hour), n) for (hour, room), n in sorted(summed.items())]


def occupancy_spans(readings: Iterable[Reading]) -> list[OccupancySpan]:
    """Spans of value 1 per device from bed readings; sorted by (start, device)."""
    by_device: dict[str, list[Reading]] = {}
    for reading in readings:
        by_device.setdefault(reading.device, []).append(reading)
    spans: list[OccupancySpan] = []
    for device, series in by_device.items():
        start: datetime | None = None
        for reading in sorted(series, key=lambda r: r.time):
            if reading.value >= 1 and start is None:
                start = reading.time
            elif reading.value < 1 and start is not None:
                spans.append(OccupancySpan(device, start, reading.time))
                start = None
        if start is not None:
            spans.append(OccupancySpan(device, start, None))
    return sorted(spans, key=lambda s: (s.start, s.device))


def half_open(since: datetime, until: datetime) -> tuple[int, int]:
    """The ns bounds of since <= t < until, StoreError when empty or reversed."""
    low, high = to_ns(since), to_ns(until)
    if high <= low:
        raise StoreError(f"empty time range {since} .. {until}")
    return low, high
