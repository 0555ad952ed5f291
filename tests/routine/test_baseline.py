"""The baseline learned from a constructed regular resident."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import timedelta

import pytest

from alerts.routine.baseline import (
    DEFAULT_GAP_ACTIVE_S,
    GAP_FLOOR_S,
    STANDARD,
    WATCH_LEVELS,
    RoutineBaseline,
    hour_of,
    watch_of,
)
from alerts.routine.detectors import NO_BASELINE_NOTE, RoutineDetector
from alerts.routine.events import SensorEvent
from alerts.routine.timeline import hour_text, to_night_hour
from tests.routine.homes import START, at, bed, day_events, history, then


def test_regular_week_learns_the_routine() -> None:
    base = RoutineBaseline("UTC").fit(history(9))
    assert base.baseline_ready_
    assert base.days_ == 8  # the last day ends at 22:30, so it is not complete
    assert base.has_bed_sensor_
    assert base.bathroom_observable_
    assert base.getup_hours_ == pytest.approx([7.0] * len(base.getup_hours_))
    assert len(base.getup_hours_) >= 7
    assert base.usual_getup_hour_ == pytest.approx(7.0)
    assert base.bedtime_hours_ == pytest.approx([22.5] * len(base.bedtime_hours_))
    # moving about every 30 min with 1 min pulses: the longest usual silence is 29 min
    assert base.normal_gap_active_s_[10] == pytest.approx(29 * 60, abs=5 * 60)
    assert base.threshold_active_s_[10] == GAP_FLOOR_S  # 1.5 × 29 min is under the 1 h floor
    # bathroom stays: first bathroom event until seen elsewhere (15:00→15:30 is the longest)
    assert max(base.bathroom_stays_s_) == pytest.approx(30 * 60)
    assert base.bathroom_threshold_s_ == pytest.approx(45 * 60)  # longest × 1.5
    assert base.meal_windows_ == ()  # a missed-meal rule needs a month without a miss


def test_meal_windows_need_a_month() -> None:
    base = RoutineBaseline("UTC").fit(history(31))
    assert (12.0, 13.0) in base.meal_windows_
    assert (18.0, 19.0) in base.meal_windows_


def test_fewer_than_seven_days_uses_defaults() -> None:
    base = RoutineBaseline("UTC").fit(history(4))
    assert not base.baseline_ready_
    assert base.threshold_active_s_ == (DEFAULT_GAP_ACTIVE_S,) * 24
    events = then(4, day_events(START + timedelta(days=4), until=10.0))
    now = at(START + timedelta(days=4), 15.0)
    findings = RoutineDetector().check(base, events, now)
    assert [f.kind for f in findings] == ["inactivity"]  # 5 h quiet > default 4 h
    assert not findings[0].baseline_ready
    assert findings[0].note == NO_BASELINE_NOTE
    status = RoutineDetector().status(base, events, now)
    assert not status.baseline_ready
    assert status.note == NO_BASELINE_NOTE


LATE = timedelta(hours=5.25)  # a late riser: in bed 03:45, up 12:15


def _late_days(days: int) -> list[SensorEvent]:
    events = [bed(at(START, -1.5) + LATE, True)]
    for n in range(days):
        events += [replace(e, time=e.time + LATE) for e in day_events(START + timedelta(days=n))]
    return events


def test_before_a_baseline_the_nights_seen_only_make_not_up_later() -> None:
    """The first week of a late riser: before, "not up" at the default 11:00 every morning."""
    late = RoutineBaseline("UTC").fit(_late_days(4))
    assert not late.baseline_ready_
    assert late.window_.getup_alert == pytest.approx(to_night_hour(13.25))  # 12:15 + 1 h
    fifth = START + timedelta(days=4)
    still_in_bed = _late_days(4)  # the mat is occupied since 03:45 of the fifth day
    assert "not_up" not in [
        f.kind for f in RoutineDetector().check(late, still_in_bed, at(fifth, 12.0))
    ]
    assert "not_up" in [
        f.kind for f in RoutineDetector().check(late, still_in_bed, at(fifth, 13.5))
    ]
    early = RoutineBaseline("UTC").fit(history(4))  # up at 07:00: the default stays, not earlier
    assert early.window_.getup_alert == pytest.approx(to_night_hour(11.0))


def test_held_out_days_are_not_learned() -> None:
    events = history(10)
    all_days = RoutineBaseline("UTC").fit(events)
    some = RoutineBaseline("UTC").fit(events, days=[START + timedelta(days=n) for n in range(3)])
    assert all_days.days_ == 9
    assert some.days_ == 3
    assert not some.baseline_ready_


def test_usual_longest_silence_by_hour_and_situation() -> None:
    base = RoutineBaseline("UTC").fit(history(9))
    asleep = base.usual_longest_s_[("asleep", True)]
    # in bed 22:30 → 07:00 with no other sign: the night is one 8.5 h silence
    assert asleep[3] == pytest.approx(8.5 * 3600)
    assert asleep[12] == 0.0
    awake = base.usual_longest_s_[("awake", False)]
    assert awake[10] == pytest.approx(29 * 60, abs=60)


def test_start_and_clock_limits_agree_on_a_regular_day() -> None:
    by_start = RoutineBaseline("UTC", limit_by="start").fit(history(9))
    by_clock = RoutineBaseline("UTC", limit_by="clock").fit(history(9))
    assert by_start.threshold_active_s_[10] == by_clock.threshold_active_s_[10] == GAP_FLOOR_S


def test_a_usual_get_up_time_told_sets_the_not_up_limit_until_nights_are_learned() -> None:
    """Staff or family say when the person usually gets up; until their own nights are learned
    "not up" comes two hours after it, instead of at the default 11:00."""
    early = RoutineBaseline("UTC", usual_getup="06:30").fit(history(3))
    assert not early.baseline_ready_
    assert early.window_.getup_alert == pytest.approx(to_night_hour(8.5))
    assert early.usual_getup_hour_ == pytest.approx(6.5)
    assert RoutineBaseline("UTC").fit(history(3)).window_.getup_alert == to_night_hour(11.0)
    late = RoutineBaseline("UTC", usual_getup="11:30").fit(history(3))
    assert late.window_.getup_alert == pytest.approx(to_night_hour(13.5))
    learned = RoutineBaseline("UTC", usual_getup="11:30").fit(history(9))
    assert learned.window_.getup_alert == pytest.approx(to_night_hour(8.0))  # her own nights


@pytest.mark.parametrize("told", ["03:00", "13:00", "6:30", "06:60", "noon", ""])
def test_a_usual_get_up_time_is_a_morning_hh_mm(told: str) -> None:
    with pytest.raises(ValueError, match="HH:MM between 04:00 and 12:00"):
        hour_of(told)


def test_hour_text_rounds_to_the_nearest_minute() -> None:
    """A limit learned as 7.9999 h is shown as 08:00 (truncating read 07:00: an hour too early)."""
    assert [hour_text(h) for h in (7.99999, 8.5, 6.0 + 59.6 / 60, 0.0)] == [
        "08:00", "08:30", "07:00", "00:00",
    ]  # fmt: skip


def test_the_standard_watch_level_is_the_estimator_default() -> None:
    """The figures in docs/detection.md are measured with the constructor's defaults; the
    "standard" level a resident starts with must be exactly those."""
    default = RoutineBaseline("UTC")
    assert asdict(WATCH_LEVELS[STANDARD]) == {
        "gap_margin": default.gap_margin,
        "bathroom_margin": default.bathroom_margin,
        "getup_margin_h": default.getup_margin_h,
    }
    with pytest.raises(ValueError, match="close, standard, relaxed"):
        watch_of("never")


def _at_level(level: str, days: int) -> RoutineBaseline:
    return RoutineBaseline("UTC", **asdict(watch_of(level))).fit(history(days))


def test_a_closer_watch_allows_less_of_the_same_history() -> None:
    """Learned (9 days): the limits are the same longest usual silence, stay and get-up, with
    the level's margin; the bathroom limit is 1.25 / 1.5 / 2 × the longest stay (30 min)."""
    close, standard, relaxed = (_at_level(level, 9) for level in ("close", STANDARD, "relaxed"))
    assert close.normal_gap_active_s_ == standard.normal_gap_active_s_
    for hour in range(24):
        assert close.threshold_resting_s_[hour] <= standard.threshold_resting_s_[hour]
        assert standard.threshold_resting_s_[hour] <= relaxed.threshold_resting_s_[hour]
    assert [b.bathroom_threshold_s_ for b in (close, standard, relaxed)] == pytest.approx(
        [37.5 * 60, 45 * 60, 60 * 60]
    )
    # usual latest get-up 07:00: not up by 07:30 / 08:00 / 08:30 is the finding
    assert [b.window_.getup_alert for b in (close, standard, relaxed)] == pytest.approx(
        [to_night_hour(7.5), to_night_hour(8.0), to_night_hour(8.5)]
    )


def test_a_closer_watch_also_moves_the_defaults_of_the_first_week() -> None:
    """A resident watched closely from the day she comes home from hospital: the conservative
    defaults move with the level's margin (4 h awake silence at standard: 3 h 20 min close,
    5 h 20 min relaxed; not up 2 h after the usual time: 1.5 h / 2.5 h; bathroom 2 h: 100 min
    / 160 min)."""
    close, standard, relaxed = (_at_level(level, 4) for level in ("close", STANDARD, "relaxed"))
    assert not close.baseline_ready_
    assert [b.threshold_active_s_[10] for b in (close, standard, relaxed)] == pytest.approx(
        [DEFAULT_GAP_ACTIVE_S * 1.25 / 1.5, DEFAULT_GAP_ACTIVE_S, DEFAULT_GAP_ACTIVE_S * 2 / 1.5]
    )
    assert [b.window_.getup_alert for b in (close, standard, relaxed)] == pytest.approx(
        [to_night_hour(10.5), to_night_hour(11.0), to_night_hour(11.5)]
    )
    assert [b.bathroom_threshold_s_ for b in (close, standard, relaxed)] == pytest.approx(
        [100 * 60, 120 * 60, 160 * 60]
    )
    events = then(4, day_events(START + timedelta(days=4), until=10.0))
    quiet_3h30 = at(START + timedelta(days=4), 13.5)  # last activity before 10:00
    assert [f.kind for f in RoutineDetector().check(close, events, quiet_3h30)] == ["inactivity"]
    assert RoutineDetector().check(standard, events, quiet_3h30) == ()
