"""The wearable's steps as signs of activity: they prove the person walked, not where, and not
whether at home; baselines learn without them (docs/detection.md, "The wearable's steps")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.routine.baseline import RoutineBaseline
from alerts.routine.detectors import RoutineDetector
from alerts.routine.events import STEPS, WALKING_STEPS, SensorEvent, from_reading
from alerts.routine.situation import Status, classify
from alerts.routine.timeline import Timeline
from tests.routine.homes import START, at, day_events, front_door, history, pulse, then

DAY = START + timedelta(days=9)


def walked(time: datetime, steps: float = 40.0) -> SensorEvent:
    """A minute's step count from the wearable (it has no room)."""
    return SensorEvent(time, "wearable-", "", STEPS, steps)


def every(start: datetime, end: datetime, minutes: float, steps: float) -> list[SensorEvent]:
    out: list[SensorEvent] = []
    t = start
    while t < end:
        out.append(walked(t, steps))
        t += timedelta(minutes=minutes)
    return out


def test_a_step_count_is_a_sign_of_activity_from_walking_up() -> None:
    now = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    event = from_reading("wearable", "", "steps", 12.0, now)
    assert event is not None
    assert (event.kind, event.room, event.is_activity) == (STEPS, "", True)
    assert from_reading("wearable", "", "steps", WALKING_STEPS - 1, now) is None  # an arm in bed
    assert from_reading("wearable", "", "heart_rate", 72.0, now) is None


def test_walking_where_no_sensor_sees_is_not_inactivity() -> None:
    """The fixed sensors last saw her at 10:00; she then walks about the living room, which
    has no sensor in this test, until 13:30. At 15:00 she has been quiet 1.5 h, not 5 h."""
    base = RoutineBaseline("UTC").fit(history(4))  # defaults: 4 h allowed awake
    sensors = then(4, day_events(START + timedelta(days=4), until=10.0))
    now = at(START + timedelta(days=4), 15.0)
    assert [f.kind for f in RoutineDetector().check(base, sensors, now)] == ["inactivity"]
    walking = every(at(START + timedelta(days=4), 10.5), at(START + timedelta(days=4), 13.5), 5, 30)
    assert (
        RoutineDetector().check(base, sorted([*sensors, *walking], key=lambda e: e.time), now) == ()
    )
    shuffling = every(
        at(START + timedelta(days=4), 10.5), at(START + timedelta(days=4), 13.5), 1, 3
    )
    found = RoutineDetector().check(base, sorted([*sensors, *shuffling], key=lambda e: e.time), now)
    assert [f.kind for f in found] == ["inactivity"]  # 3 steps a minute: not walking


def test_steps_neither_end_nor_begin_being_away() -> None:
    """A band that counted her walk outside reaches the gateway late, with the walk's times.
    Those steps must not read as being home — else the front door on her return would read as
    leaving, and a fall after it would go unseen."""
    day = START + timedelta(days=4)
    events = then(
        4,
        day_events(day, until=8.0),  # up at 07:00
        front_door(at(day, 9.0)),  # out
        every(at(day, 9.2), at(day, 10.8), 10, 60),  # the walk, synced on return
        front_door(at(day, 11.0)),  # back
    )
    timeline = Timeline(events)
    base = RoutineBaseline("UTC").fit(history(4))
    assert classify(timeline, base.window_, at(day, 10.0).timestamp()).status is Status.AWAY
    after = classify(timeline, base.window_, at(day, 16.0).timestamp())
    assert after.status is Status.AWAKE  # home since 11:00, quiet 5 h
    assert [f.kind for f in RoutineDetector().check(base, timeline, at(day, 16.0))] == [
        "inactivity"
    ]


def test_steps_in_the_bathroom_keep_the_stay_going() -> None:
    """Steps say nothing of the room: after the bathroom sensor, they are still the bathroom."""
    day = START + timedelta(days=4)
    events = then(
        4,
        day_events(day, until=8.0),  # up at 07:00
        pulse(at(day, 10.0), "bathroom"),
        every(at(day, 10.2), at(day, 12.0), 10, 20),
    )
    timeline = Timeline(events)
    base = RoutineBaseline("UTC").fit(history(4))
    situation = classify(timeline, base.window_, at(day, 12.5).timestamp())
    assert situation.bathroom_since == at(day, 10.0).timestamp()
    assert [f.kind for f in RoutineDetector().check(base, timeline, at(day, 12.5))] == [
        "bathroom_stay"  # 2.5 h in the bathroom, 2 h allowed (defaults)
    ]
    assert timeline.kitchen == Timeline(then(4, day_events(day, until=8.0))).kitchen  # not cooking


def test_baselines_learn_without_the_steps() -> None:
    """Limits learned where she wore the band would be too short on days she does not; so the
    fit leaves steps out, and a step can only shorten the silence a detector judges."""
    plain = history(9)
    worn = sorted(
        [*plain, *(e for n in range(9)
                   for e in every(at(START + timedelta(days=n), 8.1), at(START + timedelta(days=n), 21.0), 7, 25))],
        key=lambda e: e.time,
    )  # fmt: skip
    a, b = RoutineBaseline("UTC").fit(plain), RoutineBaseline("UTC").fit(worn)
    assert a.threshold_active_s_ == b.threshold_active_s_
    assert a.bathroom_stays_s_ == b.bathroom_stays_s_
    assert a.window_ == b.window_
    with pytest.raises(ValueError, match="without the wearable's steps"):
        RoutineBaseline("UTC").fit(Timeline(worn))


def test_a_recording_with_steps_replays(tmp_path: Path) -> None:
    """events-csv rows of kind ``steps`` (room empty) load, and the eval learns without them and
    replays with them — as the platform's monitor does."""
    from alerts.routine.evaluation import evaluate
    from alerts.routine.loaders import load_recording

    events = sorted(
        [*history(9), *every(at(START + timedelta(days=2), 9.0), at(START + timedelta(days=2), 9.5), 5, 30)],
        key=lambda e: e.time,
    )  # fmt: skip
    rows = "".join(
        f"{e.time.isoformat()},{e.sensor},{e.room},{e.kind},{e.value:g}\n" for e in events
    )
    (tmp_path / "home.csv").write_text("timestamp,sensor,room,kind,value\n" + rows)
    recording = load_recording("events-csv", tmp_path)
    assert sum(e.kind == STEPS for e in recording.events) == 6
    report = evaluate(recording, trials=5, seed=1)
    assert report.summary()["false_alarms"] == 0
    assert report.summary()["detected"] == 5
