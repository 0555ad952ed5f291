"""The simulated home: device ids, catalog-valid readings, a plausible day, incidents, determinism."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from devices.catalog import DEVICE_KINDS, ROOMS, measurement
from devices.simulator import HOME_DEVICES
from devices.simulator.home import SimReading, SimulatedHome, StepOutput
from devices.simulator.routine import (
    NO_INCIDENTS,
    Activity,
    IncidentKind,
    IncidentRates,
)

START = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)  # local midnight in UTC+8


def run(home: SimulatedHome, hours: float, step_s: float = 60.0) -> list[StepOutput]:
    """Step ``home`` for ``hours`` in steps of ``step_s``."""
    out = []
    t = home.now
    end = t + timedelta(hours=hours)
    while t < end:
        t = min(t + timedelta(seconds=step_s), end)
        out.append(home.step(t))
    return out


def readings(outputs: list[StepOutput]) -> list[SimReading]:
    """All readings of several steps."""
    return [r for o in outputs for r in o.readings]


def magnitudes(outputs: list[StepOutput]) -> list[tuple[datetime, float]]:
    """(time, |a|) of every accelerometer sample."""
    return [
        (b.start + timedelta(seconds=i / b.rate_hz), math.sqrt(x * x + y * y + z * z))
        for o in outputs
        for b in o.accel
        for i, (x, y, z) in enumerate(b.samples)
    ]


def test_home_devices_are_catalog_kinds_in_rooms() -> None:
    ids = [d for d, _, _ in HOME_DEVICES]
    assert len(set(ids)) == len(ids) == 10
    for _, kind, room in HOME_DEVICES:
        assert kind in DEVICE_KINDS
        assert room in ROOMS or (kind == "wearable" and room == "")
    assert {f"pir-{room}" for room in ROOMS} <= set(ids)


def test_a_week_of_readings_is_valid_for_the_catalog() -> None:
    home = SimulatedHome(11, START, IncidentRates(0.3, 0.3, 0.1), accel_hz=0)
    kinds = {d: k for d, k, _ in HOME_DEVICES}
    seen: Counter[tuple[str, str]] = Counter()
    for r in readings(run(home, 24 * 7, step_s=300)):
        assert r.device in kinds
        assert r.measurement in DEVICE_KINDS[kinds[r.device]].measurements
        assert measurement(r.measurement).accepts(r.value), r
        assert r.time.tzinfo is not None
        seen[r.device, r.measurement] += 1
    for device, kind, _ in HOME_DEVICES:
        for m in DEVICE_KINDS[kind].measurements:
            if m not in ("spo2", "worn"):
                assert seen[device, m] > 0, (device, m)


def test_readings_come_in_time_order_within_the_stepped_interval() -> None:
    home = SimulatedHome(5, START, NO_INCIDENTS, accel_hz=0)
    t0 = home.now
    outputs = run(home, 6, step_s=97)
    times = [r.time for r in readings(outputs)]
    assert times == sorted(times)
    assert t0 <= times[0]
    assert times[-1] < home.now


def test_same_seed_same_home_different_seed_different_home() -> None:
    def fingerprint(seed: int) -> list[tuple[str, str, float, datetime]]:
        home = SimulatedHome(seed, START, IncidentRates(0.5, 0.5, 0.2), accel_hz=1)
        outs = run(home, 30, step_s=120)
        acc = [round(m, 6) for _, m in magnitudes(outs)[:1000]]
        return [(r.device, r.measurement, r.value, r.time) for r in readings(outs)] + [
            ("acc", "", m, START) for m in acc
        ]

    assert fingerprint(1) == fingerprint(1)
    assert fingerprint(1) != fingerprint(2)


def test_a_night_in_bed_and_a_day_up_and_about() -> None:
    home = SimulatedHome(21, START, NO_INCIDENTS, accel_hz=0)
    for day in range(5):
        midnight = START + timedelta(days=day)
        assert home.segment_at(midnight + timedelta(hours=3)).activity in (
            Activity.SLEEP,
            Activity.TOILET,
        )
        # awake, at home or out, by 10:00 and at lunch time
        assert home.segment_at(midnight + timedelta(hours=10)).activity not in (
            Activity.SLEEP,
            Activity.LIE_IN,
        )
        plan = home.plan(midnight.astimezone(home.tz).date())
        cooks = [s for s in plan.segments if s.activity is Activity.COOK]
        assert len(cooks) == 3
        assert all(s.room == "kitchen" for s in cooks)
    rs = readings(run(home, 24 * 5, step_s=600))
    bed = [r for r in rs if r.device == "bed-1" and r.time > START]
    assert sum(1 for r in bed if r.value == 1) >= 5  # into bed each night, and after night visits
    fridge_days = {
        r.time.astimezone(home.tz).date() for r in rs if r.device == "fridge-1" and r.value
    }
    assert len(fridge_days) == 5
    hr = [r for r in rs if r.measurement == "heart_rate"]
    assert 60 * 24 * 3 < len(hr) <= 60 * 24 * 5  # once a minute while at home


def test_going_out_opens_the_door_then_the_wearable_is_silent() -> None:
    home = SimulatedHome(3, START, NO_INCIDENTS, accel_hz=0.2)
    outs = run(home, 24 * 7, step_s=600)
    away = [
        s
        for d in range(7)
        for s in home.plan((START + timedelta(days=d)).astimezone(home.tz).date()).segments
        if s.activity is Activity.OUT
    ]
    assert away, "seed 3 goes out at least once a week"
    rs = readings(outs)
    accel_times = [t for t, _ in magnitudes(outs)]
    assert accel_times
    for seg in away:
        doors = [
            r
            for r in rs
            if r.device == "door-front" and abs(r.time - seg.start) < timedelta(seconds=30)
        ]
        assert [r.value for r in doors] == [1.0, 0.0]
        inside = [
            r
            for r in rs
            if r.device == "wear-1" and seg.start + timedelta(minutes=1) < r.time < seg.end
        ]
        assert inside == []
        assert not any(seg.start < t < seg.end for t in accel_times)


def test_a_fall_is_an_impact_then_lying_still_without_motion() -> None:
    home = SimulatedHome(8, START + timedelta(hours=10), NO_INCIDENTS)  # 10:00 local
    at = home.now + timedelta(minutes=2)
    home.force_incident(IncidentKind.FALL, at)
    outs = run(home, 1, step_s=7)
    mags = magnitudes(outs)
    peaks = [(t, m) for t, m in mags if m > 2.5]
    assert peaks
    assert all(at <= t < at + timedelta(seconds=1) for t, _ in peaks)
    after = [m for t, m in mags if at + timedelta(seconds=2) <= t < at + timedelta(minutes=50)]
    assert after
    assert all(abs(m - 1.0) < 0.1 for m in after)
    rs = readings(outs)
    assert not [r for r in rs if r.measurement == "motion" and r.value == 1 and r.time > at]
    assert not [o for o in outs if o.presses]
    incidents = [i for o in outs for i in o.incidents]
    assert [(i.kind, i.time, i.cancelled) for i in incidents] == [(IncidentKind.FALL, at, False)]


def test_a_cancelled_fall_ends_with_a_button_press_soon_after() -> None:
    home = SimulatedHome(8, START + timedelta(hours=15), NO_INCIDENTS)
    at = home.now + timedelta(seconds=30)
    home.force_incident(IncidentKind.FALL, at, cancelled=True)
    outs = run(home, 0.1, step_s=1)
    presses = [p for o in outs for p in o.presses]
    assert len(presses) == 1
    assert presses[0].device == "wear-1"
    assert at + timedelta(seconds=8) < presses[0].time < at + timedelta(seconds=30)
    assert max(m for _, m in magnitudes(outs)) > 2.5


def test_a_morning_without_getting_up() -> None:
    home = SimulatedHome(13, START, NO_INCIDENTS, accel_hz=0)
    morning = START + timedelta(hours=5)  # 05:00 local, asleep
    assert home.segment_at(morning).activity is Activity.SLEEP
    home.force_incident(IncidentKind.NO_RISE, morning)
    rs = readings(run(home, 10, step_s=60))
    late = [r for r in rs if morning < r.time < morning + timedelta(hours=3)]
    assert not [r for r in late if r.measurement in ("motion", "contact_open", "flush") and r.value]
    assert not [r for r in late if r.device == "bed-1"]  # stays in bed
    assert (
        next(r.value for r in rs if r.device == "bed-1" and r.time > morning) == 0.0
    )  # up at last


def test_call_button_presses_at_its_time() -> None:
    home = SimulatedHome(2, START + timedelta(hours=16), NO_INCIDENTS, accel_hz=0)
    at = home.now + timedelta(minutes=3, seconds=7)
    home.force_incident(IncidentKind.CALL_BUTTON, at)
    presses = [p for o in run(home, 0.2, step_s=30) for p in o.presses]
    assert [(p.device, p.time) for p in presses] == [("wear-1", at)]


def test_the_past_cannot_be_changed() -> None:
    home = SimulatedHome(2, START, NO_INCIDENTS, accel_hz=0)
    home.step(START + timedelta(minutes=5))
    with pytest.raises(ValueError, match="past"):
        home.force_incident(IncidentKind.FALL, START)


def test_incident_rates_are_honoured_over_many_days() -> None:
    rates = IncidentRates(fall_per_day=0.5, call_button_per_day=1.0, no_rise_per_day=0.2)
    counts: Counter[IncidentKind] = Counter()
    for seed in range(10):
        home = SimulatedHome(seed, START, rates, accel_hz=0)
        for d in range(20):
            plan = home.plan((START + timedelta(days=d)).astimezone(home.tz).date())
            counts.update(i.kind for i in plan.incidents)
    # 200 resident-days: expected 100 falls, 200 calls, ~36 lie-ins (1 - e^-0.2)
    assert 70 < counts[IncidentKind.FALL] < 130
    assert 160 < counts[IncidentKind.CALL_BUTTON] < 240
    assert 20 < counts[IncidentKind.NO_RISE] < 55
    quiet = SimulatedHome(1, START, NO_INCIDENTS, accel_hz=0)
    assert not any(
        quiet.plan((START + timedelta(days=d)).astimezone(quiet.tz).date()).incidents
        for d in range(30)
    )


def test_plans_are_contiguous_from_midnight_to_midnight() -> None:
    home = SimulatedHome(4, START, IncidentRates(1.0, 1.0, 0.3), accel_hz=0)
    for d in range(30):
        plan = home.plan((START + timedelta(days=d)).astimezone(home.tz).date())
        segs = plan.segments
        assert segs[0].start == START + timedelta(days=d)
        assert segs[-1].end == START + timedelta(days=d + 1)
        assert all(a.end == b.start for a, b in itertools.pairwise(segs))
        assert all(s.start < s.end for s in segs)
