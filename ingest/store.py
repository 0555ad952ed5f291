"""The time-series store interface every stage reads and writes through, and shared encodings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from devices.catalog import DEVICE_KINDS, MEASUREMENTS
from devices.values import Event, Reading
from ingest.errors import StoreError

if TYPE_CHECKING:
    from ingest.queries import OccupancySpan, RoomHour, TrendPoint
    from ingest.retention import Retention, RetentionReport

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# measurements whose reading of ``activity_from`` (1; steps: 10) or more means someone is active
ACTIVITY_MEASUREMENTS: tuple[str, ...] = tuple(
    sorted(k for k, m in MEASUREMENTS.items() if m.activity)
)


def _by_level(names: tuple[str, ...]) -> tuple[tuple[float, tuple[str, ...]], ...]:
    return tuple(
        (level, tuple(k for k in names if MEASUREMENTS[k].activity_from == level))
        for level in sorted({MEASUREMENTS[k].activity_from for k in names})
    )


# the activity measurements grouped by the value from which a reading is activity
ACTIVITY_FROM = _by_level(ACTIVITY_MEASUREMENTS)
# those a device in a room reports (a wearable's steps have no room: no use to the room lanes)
ROOM_ACTIVITY_FROM = _by_level(
    tuple(
        k
        for k in ACTIVITY_MEASUREMENTS
        if any(k in d.measurements for d in DEVICE_KINDS.values() if not d.wearable)
    )
)
READING_MEASUREMENTS: tuple[str, ...] = tuple(sorted(MEASUREMENTS))


class ReadingStore(Protocol):
    """Where readings and events are kept: idempotent writes and the named queries."""

    async def write_readings(self, readings: Sequence[Reading]) -> None:
        """Store readings durably; a point with the same (gateway, device, measurement, time) is overwritten."""
        ...

    async def write_events(self, events: Sequence[Event]) -> None:
        """Store events durably; an event with the same ``event_id`` is overwritten."""
        ...

    async def recent_readings(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> list[Reading]:
        """Readings of one device and measurement with since <= time <= until, ascending time."""
        ...

    async def last_seen(self, gateway: str) -> dict[str, datetime]:
        """Device id -> time of its latest reading, for one gateway."""
        ...

    async def last_activity(self, gateways: Sequence[str], until: datetime) -> dict[str, datetime]:
        """Gateway -> time of its latest activity reading (value >= 1) at or before ``until``."""
        ...

    async def events(self, gateway: str, since: datetime) -> list[Event]:
        """Events of one gateway with time >= since, ascending time."""
        ...

    async def count_readings(self) -> int:
        """How many reading points the store holds."""
        ...

    async def activity_per_room_hour(
        self, gateway: str, rooms: Mapping[str, str], since: datetime, until: datetime
    ) -> list[RoomHour]:
        """Activity readings (value >= 1) per room (device -> room) per UTC hour, since <= t < until."""
        ...

    async def bed_occupancy_spans(
        self, gateway: str, since: datetime, until: datetime
    ) -> list[OccupancySpan]:
        """Spans of ``bed_occupied`` = 1 per bed device from readings with since <= t <= until."""
        ...

    async def vitals_trend(
        self,
        gateway: str,
        device: str,
        measurement: str,
        since: datetime,
        until: datetime,
        bucket: timedelta,
    ) -> list[TrendPoint]:
        """Mean/min/max/count per epoch-aligned bucket with since <= t < until; empty ones left out."""
        ...

    async def rollups(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> list[TrendPoint]:
        """Hourly rollups kept by retention, with since <= hour start < until."""
        ...

    async def apply_retention(
        self, now: datetime, policies: Mapping[str, Retention]
    ) -> RetentionReport:
        """Roll expiring raw points up into hours, then delete them and expired rollups."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


@runtime_checkable
class ReadingLineWriter(Protocol):
    """A store that takes readings as line protocol (ingest's hot path skips ``Reading`` values)."""

    async def write_reading_lines(self, lines: Sequence[str]) -> None:
        """Store readings encoded as ``ingest.line_protocol.reading_lines`` does, durably."""
        ...


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the Unix epoch of an aware datetime (exact to the microsecond)."""
    if moment.tzinfo is None:
        raise StoreError(f"naive datetime {moment!r}: times must be timezone-aware")
    return (moment - EPOCH) // _MICROSECOND * 1000


def from_ns(ns: int) -> datetime:
    """The UTC datetime of nanoseconds since the Unix epoch (truncated to the microsecond)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


def check_measurements(readings: Sequence[Reading]) -> None:
    """StoreError when a reading's measurement is not in the catalog (the stores hold only those)."""
    for reading in readings:
        if reading.measurement not in MEASUREMENTS:
            raise StoreError(f"unknown measurement {reading.measurement!r}")
