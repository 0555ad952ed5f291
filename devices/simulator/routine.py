"""A resident's day as data: who they are (profile), what they do when (plan) and what goes wrong.

Pure functions of a ``random.Random`` and a date: a day's plan is a contiguous list of segments
(activity, room) from local midnight to the next midnight, with incidents laid over it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum

CHINA_TZ = timezone(timedelta(hours=8), "CST")  # the homes of the demo live in UTC+8

DAY_HOURS = 24.0
MIN_SEGMENT_H = 1 / 3600  # pieces shorter than a second are dropped when plans are cut


class Activity(StrEnum):
    """What the resident is doing; decides which sensors see what."""

    SLEEP = "sleep"
    TOILET = "toilet"
    WASH = "wash"
    COOK = "cook"
    EAT = "eat"
    TV = "tv"
    IDLE = "idle"
    OUT = "out"  # left the home: front door, then silence (the wearable is out of range)
    VISIT = "visit"  # someone came round: more movement than one person makes
    FALLEN = "fallen"  # on the floor after a fall, not moving
    LIE_IN = "lie_in"  # did not get up: in bed, no movement


IN_BED = frozenset({Activity.SLEEP, Activity.LIE_IN})
UPRIGHT_SETTLE = timedelta(minutes=1)  # a fall moved to after getting up happens a minute later
AWAKE_AT_HOME = frozenset(
    {Activity.TOILET, Activity.WASH, Activity.COOK, Activity.EAT, Activity.TV, Activity.IDLE}
)


@dataclass(frozen=True, slots=True)
class Segment:
    """The resident does ``activity`` in ``room`` (None: away) from ``start`` until ``end``."""

    start: datetime
    end: datetime
    activity: Activity
    room: str | None


class IncidentKind(StrEnum):
    """Things that go wrong."""

    FALL = "fall"
    CALL_BUTTON = "call_button"
    NO_RISE = "no_rise"  # a morning without getting up


@dataclass(frozen=True, slots=True)
class Incident:
    """Ground truth of one incident; ``cancelled`` falls end with the resident pressing "I'm OK"."""

    kind: IncidentKind
    time: datetime
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class IncidentRates:
    """Expected incidents per resident-day (Poisson), and the share of falls the resident cancels."""

    fall_per_day: float = 0.02
    call_button_per_day: float = 0.03
    no_rise_per_day: float = 0.01
    fall_cancel_share: float = 0.3


NO_INCIDENTS = IncidentRates(0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class ResidentProfile:
    """The habits of one resident (local hours of day), drawn once per home."""

    wake_h: float
    bed_h: float
    breakfast_h: float
    lunch_h: float
    dinner_h: float
    out_prob: float  # chance of going out on a given day
    visit_prob: float  # chance of a visitor on a given day
    night_toilet_mean: float  # night-time toilet visits per night
    resting_hr: float  # bpm

    @classmethod
    def draw(cls, rng: random.Random) -> ResidentProfile:
        """A plausible older resident living alone."""
        return cls(
            wake_h=rng.gauss(6.5, 0.25),
            bed_h=rng.gauss(22.0, 0.3),
            breakfast_h=rng.gauss(7.2, 0.2),
            lunch_h=rng.gauss(11.8, 0.2),
            dinner_h=rng.gauss(17.8, 0.25),
            out_prob=rng.uniform(0.2, 0.6),
            visit_prob=rng.uniform(0.1, 0.3),
            night_toilet_mean=rng.uniform(0.5, 2.0),
            resting_hr=rng.uniform(60.0, 78.0),
        )


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One local day: contiguous segments from midnight to midnight, incidents and button presses."""

    day: date
    segments: tuple[Segment, ...]
    incidents: tuple[Incident, ...]
    presses: tuple[datetime, ...]


@dataclass(frozen=True, slots=True)
class _Piece:
    start_h: float
    end_h: float
    activity: Activity
    room: str | None


class _Timeline:
    """Builds a day in hours: anchors in time order, gaps filled with ordinary home life."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pieces: list[_Piece] = []
        self.cursor = 0.0

    def add(self, start_h: float, duration_h: float, activity: Activity, room: str | None) -> None:
        start_h = max(start_h, self.cursor)
        end_h = min(start_h + duration_h, DAY_HOURS)
        if end_h - start_h < MIN_SEGMENT_H:
            return
        self.fill_until(start_h)
        start_h = min(start_h, self.cursor)  # close the sub-second rest fill_until leaves
        self.pieces.append(_Piece(start_h, end_h, activity, room))
        self.cursor = end_h

    def fill_until(self, end_h: float) -> None:
        """Ordinary home life until ``end_h``: pottering about, now and then the toilet."""
        rng = self.rng
        while end_h - self.cursor > MIN_SEGMENT_H:
            length = min(rng.uniform(0.3, 1.0), end_h - self.cursor)
            room = rng.choices(("living_room", "kitchen", "bedroom"), (0.6, 0.15, 0.25))[0]
            activity = (
                Activity.TV if room == "living_room" and rng.random() < 0.4 else Activity.IDLE
            )
            start = self.cursor
            self.pieces.append(_Piece(start, start + length, activity, room))
            self.cursor = start + length
            toilet_h = 5 / 60
            if rng.random() < length / 2.5 and end_h - self.cursor > toilet_h:
                self.pieces.append(
                    _Piece(self.cursor, self.cursor + toilet_h, Activity.TOILET, "bathroom")
                )
                self.cursor += toilet_h


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; means here are small."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _sleep_with_toilet(tl: _Timeline, end_h: float, visits: int) -> None:
    """Sleep until ``end_h`` with ``visits`` short trips to the toilet."""
    start = tl.cursor
    if visits and end_h - start > 1.0:
        times = sorted(tl.rng.uniform(start + 0.5, end_h - 0.3) for _ in range(visits))
        for t in times:
            tl.add(tl.cursor, max(t - tl.cursor, 0.0), Activity.SLEEP, "bedroom")
            tl.add(tl.cursor, tl.rng.uniform(3, 8) / 60, Activity.TOILET, "bathroom")
    tl.add(tl.cursor, end_h - tl.cursor, Activity.SLEEP, "bedroom")


def _meal(
    tl: _Timeline, at_h: float, cook_min: tuple[float, float], eat_min: tuple[float, float]
) -> None:
    rng = tl.rng
    tl.add(at_h, rng.uniform(*cook_min) / 60, Activity.COOK, "kitchen")
    tl.add(tl.cursor, rng.uniform(*eat_min) / 60, Activity.EAT, "kitchen")


def _ordinary_day(profile: ResidentProfile, rng: random.Random, *, lie_in: bool) -> list[_Piece]:
    tl = _Timeline(rng)
    wake = min(max(profile.wake_h + rng.gauss(0, 0.3), 5.0), 8.5)
    bed = min(max(profile.bed_h + rng.gauss(0, 0.3), 20.5), 23.7)
    _sleep_with_toilet(tl, wake, _poisson(rng, profile.night_toilet_mean * 0.8))
    if lie_in:
        tl.add(wake, rng.uniform(3.0, 5.0), Activity.LIE_IN, "bedroom")
    tl.add(tl.cursor, rng.uniform(4, 8) / 60, Activity.TOILET, "bathroom")
    tl.add(tl.cursor, rng.uniform(10, 20) / 60, Activity.WASH, "bathroom")
    _meal(tl, max(tl.cursor + 0.2, profile.breakfast_h + rng.gauss(0, 0.15)), (10, 20), (10, 20))
    morning = (tl.cursor + 0.3, profile.lunch_h - 0.3)
    afternoon = (profile.lunch_h + 1.3, profile.dinner_h - 0.3)
    windows = [morning, afternoon]
    rng.shuffle(windows)
    outings: list[tuple[float, float, Activity]] = []
    for (lo, hi), activity, prob, dur in (
        (windows[0], Activity.OUT, profile.out_prob, (1.0, 2.5)),
        (windows[1], Activity.VISIT, profile.visit_prob, (0.75, 2.0)),
    ):
        length = rng.uniform(*dur)
        if rng.random() < prob and hi - lo > length:
            start = rng.uniform(lo, hi - length)
            outings.append((start, length, activity))
    outings.sort()
    lunch_h = profile.lunch_h + rng.gauss(0, 0.15)
    dinner_h = profile.dinner_h + rng.gauss(0, 0.15)
    anchors: list[tuple[float, str]] = [(lunch_h, "lunch"), (dinner_h, "dinner")]
    anchors += [(start, "outing") for start, _, _ in outings]
    outing_iter = iter(outings)
    for _, what in sorted(anchors):
        if what == "lunch":
            _meal(tl, lunch_h, (20, 40), (15, 30))
        elif what == "dinner":
            _meal(tl, dinner_h, (25, 45), (20, 30))
        else:
            start, length, activity = next(outing_iter)
            tl.add(start, length, activity, None if activity is Activity.OUT else "living_room")
    tl.add(
        max(tl.cursor, 19.0), max(bed - 0.4 - max(tl.cursor, 19.0), 0.0), Activity.TV, "living_room"
    )
    tl.add(tl.cursor, rng.uniform(8, 15) / 60, Activity.WASH, "bathroom")
    tl.add(tl.cursor, rng.uniform(3, 6) / 60, Activity.TOILET, "bathroom")
    _sleep_with_toilet(tl, DAY_HOURS, _poisson(rng, profile.night_toilet_mean * 0.2))
    return tl.pieces


def overlay(
    segments: tuple[Segment, ...],
    start: datetime,
    end: datetime,
    activity: Activity,
    room: str | None,
) -> tuple[Segment, ...]:
    """``segments`` with [start, end) replaced by one segment of ``activity`` (clipped to the plan)."""
    lo, hi = segments[0].start, segments[-1].end
    start, end = max(start, lo), min(end, hi)
    if end <= start:
        return segments
    new = Segment(start, end, activity, room)
    out: list[Segment] = []
    inserted = False
    for seg in segments:
        if seg.end <= start or seg.start >= end:
            out.append(seg)
            continue
        if seg.start < start:
            out.append(replace(seg, end=start))
        if not inserted:
            out.append(new)
            inserted = True
        if seg.end > end:
            out.append(replace(seg, start=end))
    return tuple(out)


def segment_at(segments: tuple[Segment, ...], t: datetime) -> Segment:
    """The segment that contains ``t`` (segments are contiguous and sorted)."""
    lo, hi = 0, len(segments) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if segments[mid].start <= t:
            lo = mid
        else:
            hi = mid - 1
    return segments[lo]


def _next_upright(segments: tuple[Segment, ...], t: datetime) -> datetime:
    """``t`` if the resident is up and about at home then, else the start of the next such time."""
    for segment in segments:
        if segment.end <= t or segment.activity not in AWAKE_AT_HOME:
            continue
        return max(t, segment.start + UPRIGHT_SETTLE)
    return t  # no upright time left in this day plan: keep the drawn time


def with_incident(plan: DayPlan, incident: Incident, rng: random.Random) -> DayPlan:
    """Lay ``incident`` over ``plan``: a fall puts the resident on the floor, a call presses the button."""
    t = incident.time
    segments, presses = plan.segments, list(plan.presses)
    if incident.kind is IncidentKind.CALL_BUTTON:
        presses.append(t)
    elif incident.kind is IncidentKind.NO_RISE:
        segments = overlay(
            segments, t, t + timedelta(hours=rng.uniform(3, 5)), Activity.LIE_IN, "bedroom"
        )
    else:
        # people fall while up and about: a fall drawn while in bed, out or already on the
        # floor happens when they are next up and about at home
        t = _next_upright(segments, t)
        incident = Incident(incident.kind, t, incident.cancelled)
        room = segment_at(segments, t).room or "living_room"
        if incident.cancelled:
            down = timedelta(seconds=rng.uniform(10, 20))
            segments = overlay(segments, t, t + down, Activity.FALLEN, room)
            presses.append(t + down + timedelta(seconds=rng.uniform(1, 5)))
        else:
            down = timedelta(hours=rng.uniform(1, 3))
            segments = overlay(segments, t, t + down, Activity.FALLEN, room)
            # someone comes round and helps the resident up
            segments = overlay(
                segments, t + down, t + down + timedelta(minutes=30), Activity.VISIT, room
            )
    return DayPlan(
        plan.day,
        segments,
        tuple(sorted((*plan.incidents, incident), key=lambda i: i.time)),
        tuple(sorted(presses)),
    )


def _random_awake_time(segments: tuple[Segment, ...], rng: random.Random) -> datetime | None:
    awake = [s for s in segments if s.activity in AWAKE_AT_HOME]
    if not awake:
        return None
    seg = rng.choices(awake, [(s.end - s.start).total_seconds() for s in awake])[0]
    return seg.start + (seg.end - seg.start) * rng.random()


def plan_day(
    profile: ResidentProfile,
    day: date,
    rng: random.Random,
    rates: IncidentRates,
    tz: tzinfo = CHINA_TZ,
) -> DayPlan:
    """The plan of one local day, incidents included; the same ``rng`` state gives the same day."""
    no_rise = rng.random() < 1 - math.exp(-rates.no_rise_per_day)
    pieces = _ordinary_day(profile, rng, lie_in=no_rise)
    midnight = datetime.combine(day, time(), tz)
    starts = [midnight + timedelta(hours=p.start_h) for p in pieces]
    # each segment ends where the next begins and the last at the next midnight: the pieces may
    # leave gaps of under a second (MIN_SEGMENT_H), and a gap would stall SimulatedHome.step
    ends = [*starts[1:], datetime.combine(day + timedelta(days=1), time(), tz)]
    segments = tuple(
        Segment(start, end, p.activity, p.room)
        for start, end, p in zip(starts, ends, pieces, strict=True)
    )
    incidents: list[Incident] = []
    if no_rise:
        lie = next(s for s in segments if s.activity is Activity.LIE_IN)
        incidents.append(Incident(IncidentKind.NO_RISE, lie.start))
    plan = DayPlan(day, segments, tuple(incidents), ())
    for _ in range(_poisson(rng, rates.fall_per_day)):
        at = _random_awake_time(plan.segments, rng)
        if at is not None:
            cancelled = rng.random() < rates.fall_cancel_share
            plan = with_incident(plan, Incident(IncidentKind.FALL, at, cancelled), rng)
    for _ in range(_poisson(rng, rates.call_button_per_day)):
        at = _random_awake_time(plan.segments, rng)
        if at is not None:
            plan = with_incident(plan, Incident(IncidentKind.CALL_BUTTON, at), rng)
    return plan
