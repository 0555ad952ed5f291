"""A resident's day from the time-series store: timeline lanes, trends, device health, plain words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dashboard.residents import HomeKit
from devices.catalog import DEVICE_KINDS
from devices.values import Reading
from ingest.queries import OccupancySpan, TrendPoint
from ingest.store import ReadingStore

HOUR = timedelta(hours=1)
LANE_ROOMS = ("bedroom", "living_room", "kitchen", "bathroom", "hallway")
BED_LOOKBACK = timedelta(hours=14)  # a night in bed that began yesterday evening still counts
GOT_UP_AFTER = timedelta(
    hours=4
)  # leaving bed before 04:00 local is a night-time visit, not getting up
RECENT_ROOM = timedelta(hours=2)  # "has been in the kitchen" speaks of the last two hours
LEAVING_GRACE = timedelta(minutes=2)  # motion right after the door opens is the person leaving
TREND_SPAN = timedelta(hours=24)
HEART_BUCKET = timedelta(minutes=15)
STEPS_BUCKET = timedelta(hours=1)
BATTERY_LOOKBACK = timedelta(days=7)
SILENT_AFTER = timedelta(hours=6)  # a sensor without any reading this long is shown as silent
BATTERY_LOW = 20.0  # percent


@dataclass(frozen=True, slots=True)
class Lane:
    """One row of the timeline: a label key and a level 0-3 per local hour of the day."""

    key: str
    cells: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """A device with its last reading and battery level."""

    key: str
    kind: str
    room: str
    last_seen: datetime | None
    battery: float | None
    silent: bool
    battery_low: bool


@dataclass(frozen=True, slots=True)
class Status:
    """Today's status as message keys with parameters, for a family member to read."""

    parts: tuple[tuple[str, dict[str, str]], ...]


def day_bounds(day: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC bounds of the local calendar day holding ``day``."""
    local = day.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(
        days=1
    )  # wall-clock arithmetic: the next local midnight, even on DST days
    return start.astimezone(UTC), end.astimezone(UTC)


def _hours(start: datetime, end: datetime) -> int:
    return round((end - start) / HOUR)


def _index(moment: datetime, start: datetime, hours: int) -> int | None:
    index = int((moment - start) // HOUR)
    return index if 0 <= index < hours else None


def _level(count: int) -> int:
    """0 none, 1 a little, 2 some, 3 much activity in an hour."""
    return 0 if count <= 0 else 1 if count < 3 else 2 if count < 10 else 3


def count_lane(key: str, moments: list[datetime], start: datetime, end: datetime) -> Lane:
    """A lane counting moments per hour."""
    hours = _hours(start, end)
    counts = [0] * hours
    for moment in moments:
        if (i := _index(moment, start, hours)) is not None:
            counts[i] += 1
    return Lane(key, tuple(_level(c) for c in counts))


def bed_lane(spans: list[OccupancySpan], start: datetime, end: datetime, now: datetime) -> Lane:
    """A lane that is full (3) in the hours a bed was occupied for at least half of, else 1 or 0."""
    hours = _hours(start, end)
    cells = []
    for i in range(hours):
        low, high = start + i * HOUR, start + (i + 1) * HOUR
        occupied = timedelta()
        for span in spans:
            span_end = span.end or now
            overlap = min(high, span_end) - max(low, span.start)
            occupied += max(overlap, timedelta())
        cells.append(3 if occupied >= HOUR / 2 else 1 if occupied > timedelta() else 0)
    return Lane("lane.bed", tuple(cells))


def _active(readings: list[Reading]) -> list[datetime]:
    return [r.time for r in readings if r.value >= 1]


async def _readings(
    store: ReadingStore,
    kit: HomeKit,
    kinds: tuple[str, ...],
    measurement: str,
    since: datetime,
    until: datetime,
) -> list[Reading]:
    found: list[Reading] = []
    for device in kit.of_kind(*kinds):
        found += await store.recent_readings(
            device.gateway_id, device.key, measurement, since, until
        )
    return sorted(found, key=lambda r: r.time)


async def timeline(
    store: ReadingStore, kit: HomeKit, start: datetime, end: datetime, now: datetime
) -> list[Lane]:
    """Rooms, bed, front door and toilet per local hour of one day (empty lanes left out)."""
    until = min(end, now)
    if until <= start:
        return []
    per_room: dict[str, list[int]] = {}
    hours = _hours(start, end)
    rooms = kit.rooms()
    for gateway in kit.gateways:
        for row in await store.activity_per_room_hour(gateway, rooms, start, until):
            if (i := _index(row.hour, start, hours)) is not None:
                per_room.setdefault(row.room, [0] * hours)[i] += row.count
    lanes = [
        Lane(f"room.{room}", tuple(_level(c) for c in per_room[room]))
        for room in (*LANE_ROOMS, *sorted(set(per_room) - set(LANE_ROOMS)))
        if room in per_room
    ]
    spans: list[OccupancySpan] = []
    for gateway in kit.gateways:
        spans += await store.bed_occupancy_spans(gateway, start - BED_LOOKBACK, until)
    if spans:
        lanes.append(bed_lane(spans, start, end, until))
    door = _active(await _readings(store, kit, ("door",), "contact_open", start, until))
    flush = _active(await _readings(store, kit, ("toilet",), "flush", start, until))
    lanes += [
        count_lane(key, moments, start, end)
        for key, moments in (("lane.front_door", door), ("lane.toilet", flush))
        if moments
    ]
    return lanes


def _series(points: list[TrendPoint], total: bool) -> dict[str, list[float]]:
    return {
        "x": [p.start.timestamp() for p in points],
        "y": [round(p.mean * p.count if total else p.mean, 1) for p in points],
    }


async def trends(
    store: ReadingStore, kit: HomeKit, now: datetime
) -> dict[str, dict[str, list[float]]]:
    """Heart rate (15-min means) and steps (hourly sums) of the last 24 h from the wearables."""
    heart: list[TrendPoint] = []
    steps: list[TrendPoint] = []
    for device in kit.of_kind("wearable"):
        heart += await store.vitals_trend(
            device.gateway_id, device.key, "heart_rate", now - TREND_SPAN, now, HEART_BUCKET
        )
        steps += await store.vitals_trend(
            device.gateway_id, device.key, "steps", now - TREND_SPAN, now, STEPS_BUCKET
        )
    return {"heart_rate": _series(heart, False), "steps": _series(steps, True)}


async def device_health(
    store: ReadingStore | None, kit: HomeKit, now: datetime
) -> list[DeviceHealth]:
    """Every device of a home with last reading and battery (None where unknown)."""
    seen: dict[str, datetime] = {}
    if store is not None:
        for gateway in kit.gateways:
            seen.update(await store.last_seen(gateway))
    health = []
    for device in kit.devices:
        battery: float | None = None
        kind = DEVICE_KINDS.get(device.kind)
        if store is not None and kind is not None and "battery" in kind.measurements:
            levels = await store.recent_readings(
                device.gateway_id, device.key, "battery", now - BATTERY_LOOKBACK, now
            )
            battery = levels[-1].value if levels else None
        last = seen.get(device.key)
        health.append(
            DeviceHealth(
                key=device.key,
                kind=device.kind,
                room=device.room,
                last_seen=last,
                battery=battery,
                silent=last is None or now - last > SILENT_AFTER,
                battery_low=battery is not None and battery < BATTERY_LOW,
            )
        )
    return health


def describe_day(
    spans: list[OccupancySpan],
    motion: list[tuple[datetime, str]],
    door_opens: list[datetime],
    start: datetime,
    now: datetime,
    zone: ZoneInfo,
) -> Status:
    """Today in plain words: got up at, still in bed, the room of late, out since (as message keys)."""

    def hhmm(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%H:%M")

    parts: list[tuple[str, dict[str, str]]] = []
    ordered = sorted(spans, key=lambda s: s.start)
    if ordered and ordered[-1].end is None:
        parts.append(("family.status.in_bed", {}))
    else:
        got_up = [s.end for s in ordered if s.end is not None and s.end >= start + GOT_UP_AFTER]
        if got_up:
            parts.append(("family.status.got_up", {"time": hhmm(got_up[0])}))
    recent = [(t, room) for t, room in motion if t >= now - RECENT_ROOM]
    last_door = max(door_opens, default=None)
    last_motion = max((t for t, _ in motion), default=None)
    if last_door is not None and (last_motion is None or last_motion <= last_door + LEAVING_GRACE):
        parts.append(("family.status.out_since", {"time": hhmm(last_door)}))
    elif recent:
        parts.append(("family.status.in_room", {"place": max(recent)[1]}))
    if not parts:
        parts.append(("family.status.no_data", {}))
    return Status(tuple(parts))


async def today_status(store: ReadingStore, kit: HomeKit, now: datetime, zone: ZoneInfo) -> Status:
    """Today's status of a home from its bed, motion and door sensors."""
    start, _ = day_bounds(now, zone)
    spans: list[OccupancySpan] = []
    for gateway in kit.gateways:
        spans += await store.bed_occupancy_spans(gateway, start - BED_LOOKBACK, now)
    spans = [s for s in spans if s.end is None or s.end >= start]
    motion = [
        (r.time, room)
        for device in kit.of_kind("pir")
        for r in await store.recent_readings(device.gateway_id, device.key, "motion", start, now)
        if r.value >= 1 and (room := device.room)
    ]
    door = _active(await _readings(store, kit, ("door",), "contact_open", start, now))
    return describe_day(spans, motion, door, start, now, zone)
