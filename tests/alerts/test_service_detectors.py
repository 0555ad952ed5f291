"""``anxin alerts run`` on its own raises what no event announces: a resident gone silent.

A split deployment (Mosquitto, ``anxin ingest``, ``anxin alerts run``) must run the routine
(inactivity) detectors too; before, only ``anxin up`` ran them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from alerts.contacts import ContactSpec, add_contact
from anxin.localservers import Server, free_port
from devices.topics import Channel, topic
from devices.values import Reading
from ingest.sqlite_store import SQLiteStore
from tests.alerts.conftest import START, Home
from tests.alerts.receivers import Inbox, inbox
from tests.alerts.test_restart import fall, service

__all__ = ["inbox"]

pytestmark = pytest.mark.mosquitto


async def test_the_alert_service_raises_inactivity_from_the_store(
    home: Home, database_url: str, mosquitto_server: Server, tmp_path: Path
) -> None:
    series = tmp_path / "series.db"
    store = await SQLiteStore.open(series)
    try:
        # the hallway sensor saw the resident at 09:30 (Shanghai), then nothing
        await store.write_readings(
            [
                Reading("gw-1", "pir-hallway", "motion", 1.0, START, START),
                Reading("gw-1", "pir-hallway", "motion", 0.0, START + timedelta(minutes=1),
                        START + timedelta(minutes=1)),
            ]
        )  # fmt: skip
    finally:
        await store.close()
    # started 4 h 10 min later: past the 4 h default limit (no personal baseline yet)
    start = START + timedelta(hours=4, minutes=10)
    async with service(database_url, mosquitto_server.port, start, series, speed=1.0) as child:
        assert any("routine" in line for line in child.lines if "alert_service_ready" in line)
        for _ in range(100):
            alerts = await home.service.list(resident_ids=[home.resident_id])
            if alerts:
                break
            await asyncio.sleep(0.2)
        child.proc.terminate()
    assert [a.kind for a in alerts] == ["inactivity"]
    assert alerts[0].priority == "high"


async def test_falls_are_alerted_while_the_time_series_store_is_down(
    home: Home, inbox: Inbox, database_url: str, mosquitto_server: Server, tmp_path: Path
) -> None:
    """InfluxDB unreachable when the alert service starts: the detectors that read it wait
    (retried, logged), the fall path does not."""
    async with home.sessions() as session, session.begin():
        await add_contact(session, home.station_id,
                          ContactSpec("staff", (inbox.mailto("duty@example.org"),)))  # fmt: skip
    dead = f"http://127.0.0.1:{free_port()}"
    start = datetime.now(UTC)
    async with service(
        database_url, mosquitto_server.port, start, tmp_path / "unused.db", speed=1.0,
        store=("--store", "influxdb", "--influx-url", dead),
    ) as child:  # fmt: skip
        async with aiomqtt.Client("127.0.0.1", mosquitto_server.port) as gateway:
            await gateway.publish(topic("gw-1", Channel.EVENTS), fall("gw-1"), qos=1)
        assert (await inbox.next(wait_s=10)).to == "duty@example.org"
        for _ in range(100):
            if _store_failures(child.lines):
                break
            await asyncio.sleep(0.1)
        child.proc.terminate()
    assert any("store_unreachable kind=influxdb" in line for line in child.lines)
    assert _store_failures(child.lines), "the detectors that read the store say they fail"


def _store_failures(lines: list[str]) -> list[str]:
    return [
        line
        for line in lines
        if "detector_failed name=" in line or "routine_sweep_incomplete" in line
    ]
