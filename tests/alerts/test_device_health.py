"""Device health: silent sensors and low batteries as technical alarms, with hysteresis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.device_health import (
    BATTERY_LOW,
    NOT_WORN,
    SENSOR_SILENT,
    DeviceHealth,
    DeviceHealthMonitor,
)
from devices.values import Reading
from ingest.sqlite_store import SQLiteStore
from tests.alerts.conftest import Home

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KINDS = {"wear-1": "wearable", "pir-kitchen": "pir", "bed-1": "bed"}


def test_a_sensor_silent_while_the_home_is_active_is_found() -> None:
    health = DeviceHealth()
    seen = {
        "wear-1": T0,
        "pir-kitchen": T0 - timedelta(hours=14),
        "bed-1": T0 - timedelta(hours=14),
    }
    (found,) = health.check("gw", KINDS, seen, {}, T0)
    assert (found.kind, found.device) == (SENSOR_SILENT, "pir-kitchen")  # the bed mat may rest 48 h


def test_a_quiet_or_empty_home_is_not_a_broken_sensor() -> None:
    health = DeviceHealth()
    long_ago = T0 - timedelta(hours=20)
    seen = dict.fromkeys(KINDS, long_ago)
    assert health.check("gw", KINDS, seen, {}, T0) == []


def test_low_battery_raises_once_and_clears_only_well_above() -> None:
    health = DeviceHealth()
    seen = dict.fromkeys(KINDS, T0)
    (low,) = health.check("gw", KINDS, seen, {"pir-kitchen": 12.0}, T0)
    assert (low.kind, low.device) == (BATTERY_LOW, "pir-kitchen")
    assert health.check("gw", KINDS, seen, {"pir-kitchen": 16.0}, T0) == []  # wobble: no new alarm
    assert health.check("gw", KINDS, seen, {"pir-kitchen": 14.0}, T0) == []
    assert health.check("gw", KINDS, seen, {"pir-kitchen": 90.0}, T0) == []  # a new battery
    (again,) = health.check("gw", KINDS, seen, {"pir-kitchen": 10.0}, T0)
    assert again.kind == BATTERY_LOW


async def test_monitor_raises_technical_alarms_and_skips_offline_gateways(
    home: Home, tmp_path: Path
) -> None:
    store = await SQLiteStore.open(tmp_path / "ts.db")
    try:
        now = home.clock.now()
        await store.write_readings([Reading("gw-1", "wear-1", "battery", 9.0, now, now)])
        offline = {"gw-1"}
        monitor = DeviceHealthMonitor(
            home.service, home.sessions, store, home.clock, 600, lambda gw: gw in offline
        )
        assert await monitor.check_once() == []  # the gateway's own alarm stands for its devices
        offline.clear()
        (found,) = await monitor.check_once()
        assert (found.kind, found.device) == (BATTERY_LOW, "wear-1")
        alerts = await home.service.list()
        (alert,) = [a for a in alerts if a.kind == BATTERY_LOW]
        assert alert.priority == "technical"
        assert alert.station_id is not None
    finally:
        await store.close()


def _worn(*pairs: tuple[int, float]) -> list[Reading]:
    """``worn`` readings of wear-1: (minutes before T0, value)."""
    return [
        Reading("gw", "wear-1", "worn", value, T0 - timedelta(minutes=m), T0)
        for m, value in sorted(pairs, reverse=True)
    ]


def test_a_wearable_off_the_wrist_for_half_an_hour_is_one_alarm() -> None:
    health = DeviceHealth()
    took_off = _worn((90, 1), (20, 0))
    assert health.check_worn("gw", "wear-1", took_off, None, T0, T0) is None  # a shower: 20 min
    off = _worn((90, 1), (40, 0), (10, 0))
    found = health.check_worn("gw", "wear-1", off, None, T0, T0)
    assert found is not None
    assert (found.kind, found.since) == (NOT_WORN, T0 - timedelta(minutes=40))
    later = T0 + timedelta(minutes=10)
    assert health.check_worn("gw", "wear-1", off, None, later, later) is None  # one alarm
    assert health.check_worn("gw", "wear-1", _worn((40, 0), (1, 1)), T0, T0, T0) is None
    assert health.check_worn("gw", "wear-1", off, None, later, later) is not None  # a new episode


def test_in_range_without_a_pulse_is_not_worn_out_of_range_says_nothing() -> None:
    health = DeviceHealth()
    pulse = T0 - timedelta(minutes=45)
    battery_report = T0 - timedelta(minutes=2)
    found = health.check_worn("gw", "wear-1", [], pulse, battery_report, T0)
    assert found is not None
    assert (found.kind, found.since) == (NOT_WORN, pulse)
    health = DeviceHealth()
    away = T0 - timedelta(hours=3)  # the wearer is out with it: nothing reported at all
    assert health.check_worn("gw", "wear-1", [], away, away, T0) is None
    assert health.check_worn("gw", "wear-1", [], None, battery_report, T0) is None  # a pendant
    fresh = T0 - timedelta(minutes=1)
    assert health.check_worn("gw", "wear-1", [], fresh, fresh, T0) is None  # a pulse: worn


async def test_monitor_raises_not_worn_from_the_store(home: Home, tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "ts.db")
    try:
        now = home.clock.now()
        at = [now - timedelta(minutes=m) for m in (50, 35, 1)]
        await store.write_readings(
            [Reading("gw-1", "wear-1", "heart_rate", 72.0, at[0], at[0])]
            + [Reading("gw-1", "wear-1", "worn", 0.0, t, t) for t in at[1:]]
        )
        monitor = DeviceHealthMonitor(home.service, home.sessions, store, home.clock, 600)
        (found,) = await monitor.check_once()
        assert (found.kind, found.device, found.since) == (NOT_WORN, "wear-1", at[1])
        assert await monitor.check_once() == []
        (alert,) = [a for a in await home.service.list() if a.kind == NOT_WORN]
        assert alert.priority == "technical"
    finally:
        await store.close()
