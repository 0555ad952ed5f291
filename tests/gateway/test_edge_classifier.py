"""The trained fall classifier inside the edge pipeline, on simulated homes (no broker needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.payloads import EventKind
from devices.simulator.home import SimulatedHome
from devices.simulator.routine import NO_INCIDENTS, IncidentKind
from gateway.adapters.base import AccelBlock, ButtonPress, DeviceData, DeviceReading
from gateway.fall_detection.model import SHIPPED_MODEL_PATH, FallModel, load_model
from gateway.pipeline import EdgePipeline, NewEvent

DAY0 = datetime(2026, 1, 4, 16, 0, tzinfo=UTC)  # local midnight in China
STEP = timedelta(seconds=2)  # what the simulator adapter reads per step


@pytest.fixture(scope="module")
def model() -> FallModel:
    """The model file the gateway ships with."""
    return load_model(SHIPPED_MODEL_PATH)


def forced_fall_time(home: SimulatedHome, start: datetime) -> datetime:
    """When the forced fall happens: a resident in bed or out then falls when next up."""
    plan = home.plan(start.astimezone(home.tz).date())
    return next(i.time for i in plan.incidents if i.kind is IncidentKind.FALL)


def run_home(home: SimulatedHome, pipeline: EdgePipeline, until: datetime) -> list[NewEvent]:
    """Step ``home`` like ``SimulatorAdapter`` does, through ``pipeline``; collect its events."""
    events: list[NewEvent] = []
    t = home.now
    while t < until:
        t = min(t + STEP, until)
        out = home.step(t)
        data = DeviceData(
            readings=tuple(
                DeviceReading(r.device, r.measurement, r.value, r.time) for r in out.readings
            ),
            accel=tuple(AccelBlock("wear-1", b.start, b.rate_hz, b.samples) for b in out.accel),
            presses=tuple(ButtonPress(p.device, p.time) for p in out.presses),
        )
        events += pipeline.take(data, t).events
    return events


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_forced_fall_in_a_simulated_home_becomes_a_fall_event(
    model: FallModel, seed: int
) -> None:
    start = DAY0 + timedelta(hours=10)
    home = SimulatedHome(seed, start, NO_INCIDENTS)
    home.force_incident(IncidentKind.FALL, start + timedelta(minutes=3))
    fall_at = forced_fall_time(home, start)
    pipeline = EdgePipeline(500, 5.0, cancel_window_s=30.0, model=model)
    events = run_home(home, pipeline, fall_at + timedelta(minutes=2))
    falls = [e for e in events if e.kind in (EventKind.PRE_ALERT, EventKind.FALL)]
    assert [e.kind for e in falls] == [EventKind.PRE_ALERT, EventKind.FALL]
    pre, fall = falls
    impact = datetime.fromisoformat(str(fall.data["impact_at"]))
    assert abs((impact - fall_at).total_seconds()) < 1.0  # free fall, then the impact
    assert fall.data["episode"] == pre.event_id
    assert (fall.time - pre.time) == timedelta(seconds=30)
    assert (pre.time - fall_at) < timedelta(seconds=15)


def test_a_fall_the_resident_cancels_is_a_cancel_not_a_fall(model: FallModel) -> None:
    start = DAY0 + timedelta(hours=10)
    home = SimulatedHome(1, start, NO_INCIDENTS)
    home.force_incident(IncidentKind.FALL, start + timedelta(minutes=3), cancelled=True)
    fall_at = forced_fall_time(home, start)
    pipeline = EdgePipeline(500, 5.0, cancel_window_s=30.0, model=model)
    events = run_home(home, pipeline, fall_at + timedelta(minutes=2))
    kinds = [e.kind for e in events if e.kind is not EventKind.CALL_BUTTON]
    assert kinds == [EventKind.PRE_ALERT, EventKind.CANCEL]


@pytest.mark.slow
def test_an_ordinary_simulated_day_raises_no_fall(model: FallModel) -> None:
    home = SimulatedHome(2, DAY0, NO_INCIDENTS)
    pipeline = EdgePipeline(500, 5.0, cancel_window_s=30.0, model=model)
    events = run_home(home, pipeline, DAY0 + timedelta(hours=24))
    assert [e for e in events if e.kind is not EventKind.CALL_BUTTON] == []
    assert pipeline.model is model


def hard_hit_while_upright() -> tuple[tuple[float, float, float], ...]:
    """Standing, a hard knock (|a| 3.5 g), standing still again: no change of posture."""
    upright = [(0.0, 0.0, 1.0)] * 150
    hit = [(0.0, 0.0, 0.3)] * 10 + [(0.5, 0.5, 3.4)] * 5
    return tuple(upright + hit + [(0.0, 0.0, 1.0)] * 600)


def test_the_classifier_vetoes_an_impact_without_a_fall(model: FallModel) -> None:
    signal = (AccelBlock("wear-1", DAY0, 50.0, hard_hit_while_upright()),)
    plain = EdgePipeline(500, 5.0, cancel_window_s=30.0)
    assert [e.kind for e in plain.take(DeviceData(accel=signal), DAY0).events] == [
        EventKind.PRE_ALERT
    ]
    trained = EdgePipeline(500, 5.0, cancel_window_s=30.0, model=model)
    assert trained.take(DeviceData(accel=signal), DAY0).events == ()
