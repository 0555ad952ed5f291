"""Detectors on constructed streams: each rule fires where it should and only there."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from alerts.routine.baseline import RoutineBaseline
from alerts.routine.detectors import PERSONAL_NOTE, RoutineDetector
from alerts.routine.events import SensorEvent
from tests.routine.homes import START, at, bed, day_events, front_door, history, pulse, then

DAYS = 10
TODAY = START + timedelta(days=DAYS)
TOMORROW = TODAY + timedelta(days=1)


@pytest.fixture(scope="module")
def baseline() -> RoutineBaseline:
    return RoutineBaseline("UTC").fit(history(DAYS))


@pytest.fixture(scope="module")
def month() -> RoutineBaseline:
    return RoutineBaseline("UTC").fit(history(31))


def kinds(
    baseline: RoutineBaseline, events: list[SensorEvent], now_day: date, hour: float, **kw: bool
) -> list[str]:
    return sorted(f.kind for f in RoutineDetector(**kw).check(baseline, events, at(now_day, hour)))


def test_normal_day_has_no_findings(baseline: RoutineBaseline) -> None:
    events = then(DAYS, day_events(TODAY), [bed(at(TOMORROW, 7.0), False)])
    for quarter in range(4 * 24):
        assert kinds(baseline, events, TODAY, 0.25 * quarter) == []


def test_afternoon_silence_is_found(baseline: RoutineBaseline) -> None:
    events = then(DAYS, day_events(TODAY, until=14.05))
    assert kinds(baseline, events, TODAY, 14.5) == []
    assert kinds(baseline, events, TODAY, 16.0) == ["inactivity"]
    finding = RoutineDetector().check(baseline, events, at(TODAY, 16.0))[0]
    assert finding.since == at(TODAY, 14.0) + timedelta(minutes=1)
    assert finding.baseline_ready
    assert finding.note == PERSONAL_NOTE
    assert finding.threshold == timedelta(hours=1)


def test_same_silence_in_bed_at_night_is_sleep(baseline: RoutineBaseline) -> None:
    events = then(DAYS, day_events(TODAY))  # in bed at 22:30, never gets up
    for hour in (23.0, 26.0, 29.0, 31.0):
        assert kinds(baseline, events, TODAY, hour) == []
    assert RoutineDetector().status(baseline, events, at(TODAY, 27.0)).status == "asleep"
    # not up by the usual 07:00 + 1 h margin
    assert kinds(baseline, events, TODAY, 32.5) == ["not_up"]


def test_front_door_then_silence_is_away(baseline: RoutineBaseline) -> None:
    events = then(DAYS, day_events(TODAY, until=14.01), front_door(at(TODAY, 14.1)))
    for hour in (15.0, 18.0, 21.0):
        assert kinds(baseline, events, TODAY, hour) == []
    assert RoutineDetector().status(baseline, events, at(TODAY, 18.0)).status == "away"
    back = [*events, *front_door(at(TODAY, 19.0)), *pulse(at(TODAY, 19.05), "kitchen")]
    back.sort(key=lambda e: e.time)
    assert kinds(baseline, back, TODAY, 19.5) == []
    assert kinds(baseline, back, TODAY, 21.5) == ["inactivity"]  # home again, then quiet


def test_two_hours_in_the_bathroom(baseline: RoutineBaseline) -> None:
    events = then(DAYS, day_events(TODAY, until=15.01))  # last seen in the bathroom at 15:00
    assert kinds(baseline, events, TODAY, 15.5) == []
    assert "bathroom_stay" in kinds(baseline, events, TODAY, 17.0)


def test_bathroom_at_night_is_not_sleep(baseline: RoutineBaseline) -> None:
    night = [bed(at(TODAY, 26.0), False), *pulse(at(TODAY, 26.05), "bathroom")]
    events = then(DAYS, day_events(TODAY), night)
    assert "bathroom_stay" in kinds(baseline, events, TODAY, 27.5)


def test_night_exit_only_with_wandering_risk(baseline: RoutineBaseline) -> None:
    night = [bed(at(TODAY, 26.0), False), *pulse(at(TODAY, 26.02), "hallway")]
    night += front_door(at(TODAY, 26.05))
    events = then(DAYS, day_events(TODAY), night)
    assert kinds(baseline, events, TODAY, 26.2, wandering_risk=True) == ["night_exit"]
    assert kinds(baseline, events, TODAY, 26.2) == []
    # the same exit in the afternoon is an outing
    day = then(DAYS, day_events(TODAY, until=14.01), front_door(at(TODAY, 14.1)))
    assert kinds(baseline, day, TODAY, 14.2, wandering_risk=True) == []


def test_missed_lunch(month: RoutineBaseline) -> None:
    today = START + timedelta(days=31)
    skipped = then(31, day_events(today, lunch=False))
    assert kinds(month, skipped, today, 13.5) == []  # still within the grace hour
    assert kinds(month, skipped, today, 14.5) == ["missed_meal"]
    eaten = then(31, day_events(today))
    assert kinds(month, eaten, today, 14.5) == []
    away = then(31, day_events(today, until=10.0), front_door(at(today, 10.5)))
    assert kinds(month, away, today, 14.5) == []  # out at lunchtime is not a missed meal


def test_allowed_silence_is_fixed_when_the_silence_begins() -> None:
    """The limit belongs to the silence (its start hour), so it does not move with the clock."""
    events = then(DAYS, day_events(TODAY, until=14.05))  # last sign of activity 14:01
    limits = {}
    for limit_by in ("start", "clock"):
        base = RoutineBaseline("UTC", limit_by=limit_by).fit(history(DAYS))
        table = list(base.threshold_active_s_)
        table[15] = 3 * 3600.0  # long silences are usual from 15:00 on
        base.threshold_active_s_ = tuple(table)
        limits[limit_by] = [
            RoutineDetector().status(base, events, at(TODAY, hour)).allowed_silence
            for hour in (14.5, 15.5)
        ]
    assert limits["start"] == [timedelta(hours=1)] * 2
    assert limits["clock"] == [timedelta(hours=1), timedelta(hours=3)]


def test_limit_by_must_be_known() -> None:
    with pytest.raises(ValueError, match="limit_by"):
        RoutineBaseline("UTC", limit_by="weekday").fit(history(DAYS))
