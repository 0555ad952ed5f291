"""Day plans with incidents: where a fall can happen."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from devices.simulator.home import SimulatedHome
from devices.simulator.routine import (
    AWAKE_AT_HOME,
    IN_BED,
    NO_INCIDENTS,
    Activity,
    IncidentKind,
    segment_at,
)


def test_a_fall_drawn_while_in_bed_happens_when_next_up_and_about() -> None:
    home = SimulatedHome(100001, datetime(2026, 1, 4, 16, 0, tzinfo=UTC), NO_INCIDENTS)
    day = date(2026, 1, 5)
    night = next(s for s in home.plan(day).segments if s.activity in IN_BED)
    drawn = night.start + (night.end - night.start) / 2
    home.force_incident(IncidentKind.FALL, drawn)
    plan = home.plan(day)
    fall = next(i for i in plan.incidents if i.kind is IncidentKind.FALL)
    assert fall.time > drawn
    before = segment_at(plan.segments, fall.time - timedelta(seconds=1))
    assert before.activity in AWAKE_AT_HOME
    assert segment_at(plan.segments, fall.time).activity is Activity.FALLEN


def test_every_day_plan_is_contiguous_from_midnight_to_midnight() -> None:
    """A gap between two segments (even under a second) stalled ``step`` forever (seed 2)."""
    start = date(2026, 2, 1)
    for seed in range(300):
        home = SimulatedHome(seed, datetime(2026, 1, 31, tzinfo=UTC))
        for n in range(20):
            day = start + timedelta(days=n)
            segments = home.plan(day).segments
            midnight = datetime.combine(day, datetime.min.time(), home.tz)
            assert segments[0].start == midnight, (seed, day)
            assert segments[-1].end == midnight + timedelta(days=1), (seed, day)
            for a, b in itertools.pairwise(segments):
                assert a.end == b.start, (seed, day, a, b)


def test_five_weeks_of_the_resident_that_once_stalled() -> None:
    now = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    home = SimulatedHome(2, now - timedelta(days=35), NO_INCIDENTS, accel_hz=0)
    assert len(home.step(now).readings) > 50_000
