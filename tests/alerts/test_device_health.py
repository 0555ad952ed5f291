"""Device health: silent sensors and low batteries as technical alarms, with hysteresis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.device_health import BATTERY_LOW, SENSOR_SILENT, DeviceHealth, DeviceHealthMonitor
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
