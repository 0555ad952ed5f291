"""Vitals against the person's own range, with hysteresis."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.vitals import DEFAULTS, PersonalRange, VitalsMonitor, VitalsWatch
from devices.values import Reading
from ingest.sqlite_store import SQLiteStore
from tests.alerts.conftest import Home

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def minutes(values: list[float], start: datetime = T0) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=i), v) for i, v in enumerate(values)]


def test_a_personal_band_is_learned_from_a_week_and_clamped() -> None:
    rng = random.Random(0)
    calm = [rng.gauss(58, 3) for _ in range(7 * 24 * 6)]  # a calm person: resting 58 bpm
    band = PersonalRange().fit(calm)
    assert band.personal_
    assert 35 <= band.low_ < 50
    assert 64 < band.high_ < 80
    assert band.outside(95)
    assert not band.outside(60)


def test_before_a_week_the_population_defaults_apply() -> None:
    band = PersonalRange().fit([60.0] * 100)
    assert not band.personal_
    assert (band.low_, band.high_) == DEFAULTS["heart_rate"]


def test_sustained_values_outside_raise_one_episode_and_a_wobble_does_not_reopen() -> None:
    band = PersonalRange().fit([])  # defaults 45-120
    watch = VitalsWatch()
    now = T0 + timedelta(minutes=5)
    assert watch.check(1, band, minutes([130, 132]), T0 + timedelta(minutes=1)) is None  # too short
    found = watch.check(1, band, minutes([130, 132, 135, 131, 133, 134]), now)
    assert found is not None
    assert found.value == 134
    later = now + timedelta(minutes=5)
    wobble = minutes([118, 125, 119, 126, 121, 124], now)
    assert watch.check(1, band, wobble, later) is None  # at the edge: still the same episode
    calm = minutes([80, 82, 81, 79, 80, 81], later)
    assert watch.check(1, band, calm, later + timedelta(minutes=5)) is None  # clears the episode
    again = minutes([130, 131, 133, 135, 132, 131], later + timedelta(minutes=5))
    assert watch.check(1, band, again, later + timedelta(minutes=10)) is not None


def test_a_brief_spike_is_not_a_finding() -> None:
    band = PersonalRange().fit([])
    watch = VitalsWatch()
    assert (
        watch.check(1, band, minutes([70, 71, 140, 72, 70, 69]), T0 + timedelta(minutes=5)) is None
    )


async def test_monitor_raises_a_vitals_alert_for_the_wearer(home: Home, tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "ts.db")
    try:
        now = home.clock.now()
        racing = [
            Reading("gw-1", "wear-1", "heart_rate", 140.0 + i, now - timedelta(minutes=5 - i), now)
            for i in range(6)
        ]
        await store.write_readings(racing)
        monitor = VitalsMonitor(home.service, home.sessions, store, home.clock, 120)
        (found,) = await monitor.check_once()
        assert found.measurement == "heart_rate"
        assert not found.personal  # no week of history yet: population defaults
        (alert,) = [a for a in await home.service.list() if a.kind == "vitals"]
        assert (alert.priority, alert.resident_id) == ("medium", home.wearer_id)
        assert await monitor.check_once() == []  # the same episode
    finally:
        await store.close()
