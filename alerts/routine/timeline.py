"""A home's activity events with, after each one, what is known so far (causal context).

Everything stored at index ``i`` depends only on events ``0..i``, so a stream cut at ``i``
(an injected incapacitation) is the same timeline read up to ``i``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from datetime import datetime, tzinfo

from alerts.routine.events import (
    BATHROOM,
    BED,
    DOOR,
    KITCHEN,
    MOTION,
    OCCUPANCY_KINDS,
    STEPS,
    SensorEvent,
)

PASSAGE_S = 300.0  # front-door openings this close, with nothing else between, are one passage
LONG_QUIET_S = 3 * 3600.0  # a quiet span this long (not seated, not away) may be a night
NIGHT_PIVOT_HOUR = 15.0  # "night hours" count from 15:00 local so one night never wraps midnight
NAN = math.nan


def local_hour(epoch_s: float, tz: tzinfo) -> float:
    """Local clock time of ``epoch_s`` in hours (9.5 = 09:30)."""
    local = datetime.fromtimestamp(epoch_s, tz)
    return local.hour + local.minute / 60.0 + local.second / 3600.0


def night_hour(epoch_s: float, tz: tzinfo) -> float:
    """Hours since the last 15:00 local: 23:00 → 8, 07:00 → 16."""
    return (local_hour(epoch_s, tz) - NIGHT_PIVOT_HOUR) % 24.0


def to_night_hour(hour: float) -> float:
    """A local clock hour as night hours."""
    return (hour - NIGHT_PIVOT_HOUR) % 24.0


def hour_text(hour: float) -> str:
    """A clock hour as ``HH:MM``, to the nearest minute (7.9999 → "08:00", not "07:00")."""
    minutes = round(hour * 60.0) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def from_night_hour(night: float) -> float:
    """Night hours back to a local clock hour."""
    return (night + NIGHT_PIVOT_HOUR) % 24.0


class Timeline:
    """Activity events of one home in time order, with per-event context (see module doc)."""

    def __init__(self, events: Iterable[SensorEvent]) -> None:
        self.t: list[float] = []
        self.room: list[str] = []
        self.kind: list[str] = []
        self.in_bed: list[bool] = []
        self.bed_since: list[float] = []
        self.resting: list[bool] = []
        self.away: list[bool] = []
        self.bath_since: list[float] = []
        # the last LONG_QUIET_S span (not seated, not away) ended at or before each event
        self.long_quiet: list[tuple[float, float]] = []
        self.departures: list[float] = []  # starts of door passages that left the home
        self.kitchen: list[float] = []  # times of kitchen activity
        self.bed_events = 0
        self.steps = 0  # wearable step events (signs of activity only; baselines learn without)
        self.motion_rooms: set[str] = set()  # rooms where a motion sensor sees presence
        occupied: set[str] = set()
        bed_on: dict[str, float] = {}
        away = False
        last_door = -math.inf
        last_inside = -math.inf
        bath_since = NAN
        long_quiet = (NAN, NAN)
        for ev in sorted(events, key=lambda e: e.time):
            if not ev.is_activity:
                continue
            ts = ev.time.timestamp()
            # the wearable's steps say the person walked, not where nor whether at home: the room
            # is the last one seen, and they neither end nor begin being away
            roomless = ev.kind == STEPS
            room = (self.room[-1] if self.room else "") if roomless else ev.room
            if roomless:
                self.steps += 1
            if ev.kind == MOTION:
                self.motion_rooms.add(ev.room)
            if ev.kind in OCCUPANCY_KINDS:
                if ev.value > 0:
                    occupied.add(ev.sensor)
                else:
                    occupied.discard(ev.sensor)
            if ev.kind == BED:
                self.bed_events += 1
                if ev.value > 0:
                    bed_on.setdefault(ev.sensor, ts)
                else:
                    bed_on.pop(ev.sensor, None)
            if ev.kind == DOOR:
                if ev.value > 0:
                    same_passage = ts - last_door <= PASSAGE_S and last_inside < last_door
                    if not same_passage:
                        away = not away
                        if away:
                            self.departures.append(ts)
                    last_door = ts
            elif not roomless:
                away = False
                last_inside = ts
            bath_since = (
                (bath_since if not math.isnan(bath_since) else ts) if (room == BATHROOM) else NAN
            )
            if ev.room == KITCHEN:
                self.kitchen.append(ts)
            if (
                self.t
                and ts - self.t[-1] >= LONG_QUIET_S
                and not (self.resting[-1] or self.away[-1])
            ):
                long_quiet = (self.t[-1], ts)
            self.long_quiet.append(long_quiet)
            self.t.append(ts)
            self.room.append(room)
            self.kind.append(ev.kind)
            self.in_bed.append(bool(bed_on))
            self.bed_since.append(min(bed_on.values()) if bed_on else NAN)
            self.resting.append(bool(occupied))
            self.away.append(away)
            self.bath_since.append(bath_since)

    def __len__(self) -> int:
        return len(self.t)

    def last_index(self, at_s: float) -> int:
        """Index of the last activity at or before ``at_s``, or -1."""
        return bisect.bisect_right(self.t, at_s) - 1


def count_between(times: list[float], start_s: float, end_s: float) -> int:
    """How many of the sorted ``times`` fall in [start, end)."""
    return bisect.bisect_left(times, end_s) - bisect.bisect_left(times, start_s)
