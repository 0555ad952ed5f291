"""Constructed event streams of a resident with a very regular day (times are UTC)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from alerts.routine.events import BED, DOOR, MOTION, SensorEvent

START = date(2024, 3, 4)  # a Monday


def at(day: date, hour: float) -> datetime:
    """``hour`` (may exceed 24) after midnight UTC of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def pulse(time: datetime, room: str, minutes: float = 1.0) -> list[SensorEvent]:
    """A motion sensor on for ``minutes``."""
    sensor = f"pir-{room}"
    return [
        SensorEvent(time, sensor, room, MOTION, 1.0),
        SensorEvent(time + timedelta(minutes=minutes), sensor, room, MOTION, 0.0),
    ]


def bed(time: datetime, occupied: bool) -> SensorEvent:
    """The bed mat changing state."""
    return SensorEvent(time, "bed-1", "bedroom", BED, 1.0 if occupied else 0.0)


def front_door(time: datetime) -> list[SensorEvent]:
    """The front door opened and closed."""
    return [
        SensorEvent(time, "door-front", "hallway", DOOR, 1.0),
        SensorEvent(time + timedelta(seconds=20), "door-front", "hallway", DOOR, 0.0),
    ]


def day_events(
    day: date, *, until: float = 24.0, lunch: bool = True, bedtime: bool = True
) -> list[SensorEvent]:
    """One regular day: up 07:00, meals 07:30/12:00/18:00, moving about every 30 min, bed 22:30.

    Only events before ``until`` (hours after midnight) are kept.
    """
    ev: list[SensorEvent] = [bed(at(day, 7.0), False)]
    ev += pulse(at(day, 7.1), "bathroom", 10)
    ev += pulse(at(day, 7.5), "kitchen", 20)
    for hour in (8, 8.5, 9, 9.5, 10, 10.5, 11, 11.5):
        ev += pulse(at(day, hour), "living_room")
    if lunch:
        ev += pulse(at(day, 12.0), "kitchen", 30)
    for hour in (13, 13.5, 14, 14.5, 15.5, 16, 16.5, 17, 17.5):
        ev += pulse(at(day, hour), "living_room")
    ev += pulse(at(day, 15.0), "bathroom", 10)
    ev += pulse(at(day, 18.0), "kitchen", 30)
    for hour in (19, 19.5, 20, 20.5, 21, 21.5, 22):
        ev += pulse(at(day, hour), "living_room")
    ev += pulse(at(day, 22.25), "bathroom", 5)
    if bedtime:
        ev.append(bed(at(day, 22.5), True))
    return [e for e in ev if e.time < at(day, until)]


def history(days: int, start: date = START) -> list[SensorEvent]:
    """``days`` complete regular days (plus the night before the first)."""
    ev: list[SensorEvent] = [bed(at(start, -1.5), True)]
    for n in range(days):
        ev += day_events(start + timedelta(days=n))
    return ev


def then(days: int, *extra: Iterable[SensorEvent], start: date = START) -> list[SensorEvent]:
    """``days`` regular days followed by the given events."""
    out = history(days, start)
    for chunk in extra:
        out += list(chunk)
    return sorted(out, key=lambda e: e.time)
