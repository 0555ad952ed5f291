"""Homes that see less: no bed mat, a room without a sensor. The rules must not read a missing
sensor as a person in trouble, nor a person in trouble as asleep (docs/detection.md)."""

from __future__ import annotations

from datetime import date, timedelta

from alerts.routine.baseline import RoutineBaseline
from alerts.routine.detectors import RoutineDetector
from alerts.routine.events import BED, SEAT, SensorEvent
from alerts.routine.situation import Status, classify
from alerts.routine.timeline import Timeline, to_night_hour
from tests.routine.homes import START, at, day_events, pulse

DAYS = 14
TODAY = START + timedelta(days=DAYS)


def _no_bed_mat(day: date, *, until: float = 24.0) -> list[SensorEvent]:
    """A regular day in a home without a bed mat: last seen in the living room at 22:24."""
    events = [e for e in day_events(day, until=until) if e.kind != BED]
    return events + (pulse(at(day, 22.4), "living_room") if until > 22.4 else [])


def _home(*days: list[SensorEvent]) -> list[SensorEvent]:
    return sorted((e for day in days for e in day), key=lambda e: e.time)


def _kinds(base: RoutineBaseline, events: list[SensorEvent], hour: float) -> list[str]:
    return sorted(f.kind for f in RoutineDetector().check(base, events, at(TODAY, hour)))


def test_a_quiet_span_across_15h_is_not_a_night() -> None:
    """Three evenings out (no front-door sensor here): quiet from 13:00 to the next morning. Read
    as nights they gave bedtime 15:00 and the afternoon became "sleep" — no inactivity alert."""
    out = {2, 6, 10}
    days = [
        _no_bed_mat(START + timedelta(days=n), until=13.0 if n in out else 24.0)
        for n in range(DAYS)
    ]
    base = RoutineBaseline("UTC").fit(_home(*days))
    assert base.baseline_ready_
    assert min(base.bedtime_hours_) >= 22.0  # the cut-off evenings gave no bedtime
    assert base.window_.bed_lo > to_night_hour(21.0)
    events = _home(*days, _no_bed_mat(TODAY, until=16.0))  # quiet from 15:51
    situation = classify(Timeline(events), base.window_, at(TODAY, 17.0).timestamp())
    assert situation.status is Status.AWAKE
    assert "inactivity" in _kinds(base, events, 19.0)


def _stays_out_of_sight(day: date) -> list[SensorEvent]:
    """A day when the person goes from the bathroom (13:00) to a room without a sensor and is
    next seen at 16:30: the bathroom "stay" is 3 h 30 min by what the sensors show."""
    kept = [e for e in day_events(day) if not at(day, 13.0) <= e.time < at(day, 16.5)]
    return kept + pulse(at(day, 13.0), "bathroom")


def test_bathroom_rule_is_off_where_leaving_the_bathroom_is_not_seen() -> None:
    days = [
        (_stays_out_of_sight if n in (3, 9) else day_events)(START + timedelta(days=n))
        for n in range(DAYS)
    ]
    base = RoutineBaseline("UTC").fit(_home(*days))
    assert max(base.bathroom_stays_s_) > 3 * 3600.0
    assert base.bathroom_threshold_s_ is None  # it would have cried wolf twice in two weeks
    # last seen in the bathroom at 15:00, then nothing: the inactivity rule still comes
    events = _home(*days, day_events(TODAY, until=15.01))
    found = _kinds(base, events, 21.0)
    assert found == ["inactivity"]


def test_one_long_stay_in_five_weeks_keeps_the_bathroom_rule() -> None:
    days = [
        (_stays_out_of_sight if n == 3 else day_events)(START + timedelta(days=n))
        for n in range(35)
    ]
    base = RoutineBaseline("UTC").fit(_home(*days))
    assert base.bathroom_threshold_s_ == 3 * 3600.0  # at the ceiling, still watching


def test_quiet_on_a_seat_at_night_is_not_the_night_without_a_bed_mat() -> None:
    """Nights are learned from quiet spans not on a seat; the present is judged the same way, so
    someone who sat down at 22:00 and stopped moving is not "asleep" until the get-up limit."""
    days = [_no_bed_mat(START + timedelta(days=n)) for n in range(DAYS)]
    base = RoutineBaseline("UTC").fit(_home(*days))
    assert not base.has_bed_sensor_
    sits = [SensorEvent(at(TODAY, 21.9), "seat-1", "living_room", SEAT, 1.0)]
    events = _home(*days, day_events(TODAY, until=21.8), sits)
    situation = classify(Timeline(events), base.window_, at(TODAY, 23.0).timestamp())
    assert situation.status is Status.AWAKE
    assert situation.resting
    assert "inactivity" in _kinds(base, events, 22.0 + 6.5)  # seated, no history: default 6 h


def _toilet_then_bed(day: date, *, until: float = 24.0) -> list[SensorEvent]:
    """No bed mat and nothing in the bedroom: last seen in the bathroom at 22:15 every night."""
    return [e for e in day_events(day, until=until) if e.kind != BED]


def test_nights_that_begin_in_the_bathroom_are_nights_where_the_bedroom_is_unseen() -> None:
    """Kept from counting as sleep, every such night would reach the 6 h ceiling of an awake
    silence: one false alarm a night. The person's own nights switch that off."""
    days = [_toilet_then_bed(START + timedelta(days=n)) for n in range(DAYS)]
    base = RoutineBaseline("UTC").fit(_home(*days))
    assert base.baseline_ready_
    assert not base.window_.bathroom_at_night
    assert base.bathroom_threshold_s_ is not None  # the nights are not learned as bathroom stays
    assert max(base.bathroom_stays_s_) < 3600.0
    morning = day_events(TODAY + timedelta(days=1), until=7.4)  # toilet again 07:06–07:16
    tonight = _home(*days, _toilet_then_bed(TODAY), morning)
    for hour in (27.0, 29.0, 30.9, 31.35):  # asleep at 03:00, 05:00, 06:54; up at 07:21
        assert _kinds(base, tonight, hour) == []  # no nine-hour "bathroom stay" at 07:21


def test_where_the_bedroom_is_seen_a_night_in_the_bathroom_is_not_sleep() -> None:
    days = [_no_bed_mat(START + timedelta(days=n)) for n in range(DAYS)]
    base = RoutineBaseline("UTC").fit(_home(*days))
    assert base.window_.bathroom_at_night
    night = _home(*days, _no_bed_mat(TODAY), pulse(at(TODAY, 26.0), "bathroom"))  # 02:00
    assert "bathroom_stay" in _kinds(base, night, 26.0 + 2.0)


def _late_riser_some_days(day: date, n: int) -> list[SensorEvent]:
    """No bed mat; on every other day the first sign of life is at 10:00, not 07:06."""
    events = _no_bed_mat(day)
    return [e for e in events if e.time >= at(day, 10.0)] if n % 2 else events


def test_quiet_after_getting_up_is_not_the_night() -> None:
    """Up at 07:06 (the usual early get-up), about for 85 min, then nothing from 08:31: nights
    are learned as ending with the first wake longer than 30 min, so this is not "still asleep"
    until the late usual get-up (10:00) and the not-up limit — it is an awake silence."""
    days = [_late_riser_some_days(START + timedelta(days=n), n) for n in range(DAYS)]
    base = RoutineBaseline("UTC").fit(_home(*days))
    assert base.window_.getup_hi >= to_night_hour(10.0)
    assert base.window_.getup_lo <= to_night_hour(7.2)
    events = _home(*days, _no_bed_mat(TODAY, until=8.6))
    situation = classify(Timeline(events), base.window_, at(TODAY, 9.5).timestamp())
    assert situation.status is Status.AWAKE
    assert "inactivity" in _kinds(base, events, 9.75)


def test_a_drink_of_water_at_three_does_not_end_the_night() -> None:
    days = [_late_riser_some_days(START + timedelta(days=n), n) for n in range(DAYS)]
    base = RoutineBaseline("UTC").fit(_home(*days))
    night = _home(*days, _no_bed_mat(TODAY), pulse(at(TODAY, 27.0), "kitchen", 5))
    situation = classify(Timeline(night), base.window_, at(TODAY, 28.0).timestamp())
    assert situation.status is Status.ASLEEP
