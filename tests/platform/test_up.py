"""``anxin up --demo`` end to end: broker, gateways, ingest, store, alerts and API in one process."""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest

from anxin.credentials import demo_gateway_password
from anxin.localservers import free_port
from devices.codec import encode
from devices.payloads import EventKind, EventMessage
from devices.topics import Channel, topic
from tests.platform.conftest import Platform, make_platform

pytestmark = pytest.mark.slow

WAIT_S = 60.0


def wait_until(condition: Any, timeout: float = WAIT_S, what: str = "condition") -> Any:
    """Poll an out-of-process condition until it holds (the platform is another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def publish_event(
    p: Platform, gateway_id: str, kind: EventKind, event_id: str, times: int = 1
) -> None:
    """Publish an event as the demo gateway would, with its own broker login."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{gateway_id}")
    client.username_pw_set(gateway_id, demo_gateway_password(p.secret(), gateway_id))
    client.connect("127.0.0.1", p.mqtt_port)
    client.loop_start()
    try:
        for seq in range(times):
            msg = EventMessage(
                gw=gateway_id,
                boot="testboot",
                seq=seq,
                sent_at=datetime.now(UTC),
                id=event_id,
                kind=kind,
                dev="wear-1",
                t=datetime.now(UTC),
            )
            info = client.publish(topic(gateway_id, Channel.EVENTS), encode(msg), qos=1)
            info.wait_for_publish(timeout=10)
    finally:
        client.loop_stop()
        client.disconnect()


def alerts(p: Platform, token: str, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{p.url}/api/v1/alerts", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    r.raise_for_status()
    result: list[dict[str, Any]] = r.json()
    return result


def stored_readings(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir / 'timeseries.db'}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        table = "readings" if "readings" in tables else tables[0]
        count: int = db.execute(f"select count(*) from {table}").fetchone()[0]
        return count


def test_healthz_and_demo_logins(platform: Platform) -> None:
    assert httpx.get(f"{platform.url}/healthz").status_code == 200
    staff = platform.token("station")
    r = httpx.get(f"{platform.url}/api/v1/residents", headers={"Authorization": f"Bearer {staff}"})
    assert r.status_code == 200
    assert len(r.json()) == 3
    family = platform.token("family")
    r = httpx.get(f"{platform.url}/api/v1/residents", headers={"Authorization": f"Bearer {family}"})
    assert len(r.json()) == 1
    bad = httpx.post(
        f"{platform.url}/api/v1/auth/token", data={"username": "station", "password": "x"}
    )
    assert bad.status_code == 401


def test_simulated_homes_stream_readings_into_the_store(platform: Platform) -> None:
    wait_until(lambda: stored_readings(platform.data_dir) > 0, what="readings in the store")


def test_fall_delivered_twice_raises_one_alert(platform: Platform) -> None:
    staff = platform.token("station")
    event_id = uuid.uuid4().hex
    publish_event(platform, "demo-gw-0002", EventKind.FALL, event_id, times=2)
    found = wait_until(
        lambda: [
            a for a in alerts(platform, staff) if a["kind"] == "fall" and a["state"] != "resolved"
        ],
        what="a fall alert",
    )
    assert len(found) == 1
    assert found[0]["priority"] == "high"
    r = httpx.post(
        f"{platform.url}/api/v1/alerts/{found[0]['id']}/ack",
        headers={"Authorization": f"Bearer {staff}"},
    )
    assert r.status_code == 200
    assert r.json()["state"] == "acknowledged"


def test_sigint_and_restart_keep_residents_alerts_and_readings(tmp_path: Path) -> None:
    p = make_platform(tmp_path, homes=2, speed=60)
    p.start()
    try:
        staff = p.token("station")
        publish_event(p, "demo-gw-0001", EventKind.CALL_BUTTON, uuid.uuid4().hex)
        before_alerts = wait_until(lambda: alerts(p, staff), what="an alert")
        wait_until(lambda: stored_readings(p.data_dir) > 0, what="readings")
        assert p.interrupt() == 0
        before_readings = stored_readings(p.data_dir)
        p.start()
        staff = p.token("station")
        after = {a["id"]: a for a in alerts(p, staff)}
        for a in before_alerts:
            assert a["id"] in after
            assert after[a["id"]]["kind"] == a["kind"]
        r = httpx.get(f"{p.url}/api/v1/residents", headers={"Authorization": f"Bearer {staff}"})
        assert len(r.json()) == 2
        assert stored_readings(p.data_dir) >= before_readings
        assert p.interrupt() == 0
    finally:
        if p.proc and p.proc.poll() is None:
            p.proc.kill()


def test_with_influxdb_down_falls_still_alert_and_the_station_is_told(tmp_path: Path) -> None:
    """The time-series store unreachable at start: ``anxin up`` starts anyway, a fall reaches the
    console, /healthz says detection is degraded, and the station gets a detector_down alarm."""
    p = make_platform(tmp_path, homes=1, speed=60)
    p.argv += ["--store", "influxdb", "--influx-url", f"http://127.0.0.1:{free_port()}"]
    p.start()
    try:
        staff = p.token("station")
        publish_event(p, "demo-gw-0001", EventKind.FALL, uuid.uuid4().hex)
        wait_until(
            lambda: [a for a in alerts(p, staff) if a["kind"] == "fall"], what="a fall alert"
        )
        health = wait_until(
            lambda: (h := httpx.get(f"{p.url}/healthz").json())["status"] == "degraded" and h,
            what="/healthz degraded",
        )
        assert "routine" in {problem["detector"] for problem in health["problems"]}
        down = wait_until(
            lambda: [a for a in alerts(p, staff) if a["kind"] == "detector_down"],
            what="a detector_down alarm",
        )
        assert len(down) == 1
        assert down[0]["priority"] == "technical"
    finally:
        p.interrupt()
