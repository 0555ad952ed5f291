"""Day plans with incidents: where a fall can happen."""

from __future__ import annotations

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
