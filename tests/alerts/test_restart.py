"""The alert service killed with SIGKILL mid-escalation resumes on restart, sending nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from alerts.contacts import ContactSpec, add_contact
from anxin.localservers import Server
from devices.codec import encode
from devices.payloads import EventKind, EventMessage
from devices.topics import Channel, topic
from tests.alerts.conftest import Home
from tests.alerts.receivers import Inbox, inbox

__all__ = ["inbox"]
pytestmark = pytest.mark.mosquitto

SPEED = 30.0  # 60 simulated seconds pass in 2 real seconds
REF = re.compile(r"(?:编号：|Ref: )(\d+:\d+:\d+)")


class Child:
    """``anxin alerts run`` in a subprocess with simulated time; stderr drained in a task."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.ready = asyncio.Event()
        self.lines: list[str] = []

    async def drain(self) -> None:
        """Read stderr until it closes; set ``ready`` on the service's ready line."""
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            if "alert_service_ready" in line:
                self.ready.set()


@contextlib.asynccontextmanager
async def service(
    database_url: str,
    mqtt_port: int,
    start: datetime,
    series: Path,
    speed: float = SPEED,
    store: tuple[str, ...] | None = None,
) -> AsyncIterator[Child]:
    """``anxin alerts run`` on this database, broker and SQLite time-series file (or ``store``:
    other ``--store …`` arguments)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "anxin",
        "alerts",
        "run",
        "--database-url",
        database_url,
        "--mqtt-port",
        str(mqtt_port),
        "--speed",
        str(speed),
        "--start",
        start.isoformat(),
        *(store or ("--store", "sqlite", "--sqlite-path", str(series))),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    child = Child(proc)
    drain = asyncio.create_task(child.drain())
    try:
        await asyncio.wait_for(child.ready.wait(), 30)
        yield child
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await drain


def fall(gateway: str) -> bytes:
    now = datetime.now(UTC)
    return encode(
        EventMessage(
            gw=gateway,
            boot="boot1",
            seq=1,
            sent_at=now,
            id=uuid.uuid4().hex,
            kind=EventKind.FALL,
            dev="wear-1",
            t=now,
        )
    )


async def test_sigkill_mid_escalation_resumes_without_duplicates(
    home: Home, inbox: Inbox, database_url: str, mosquitto_server: Server, tmp_path: Path
) -> None:
    async with home.sessions() as session, session.begin():
        for spec in (
            ContactSpec("staff", (inbox.mailto("duty@example.org"),)),
            ContactSpec("manager", (inbox.webhook("manager"),)),
            ContactSpec("family", (inbox.mailto("son@example.org"),), resident_id=home.wearer_id),
        ):
            await add_contact(session, home.station_id, spec)
    series = tmp_path / "series.db"
    sim0, real0 = datetime.now(UTC), time.monotonic()
    async with service(database_url, mosquitto_server.port, sim0, series) as first:
        async with aiomqtt.Client("127.0.0.1", mosquitto_server.port) as gateway:
            await gateway.publish(topic("gw-1", Channel.EVENTS), fall("gw-1"), qos=1)
        assert (await inbox.next(wait_s=5)).to == "duty@example.org"
        assert (await inbox.next(wait_s=10)).to == "manager"  # 60 s simulated
        first.proc.kill()  # SIGKILL: family is due at 180 s simulated, 4 real seconds away
    elapsed = timedelta(seconds=(time.monotonic() - real0) * SPEED)
    async with service(database_url, mosquitto_server.port, sim0 + elapsed, series) as second:
        family = await inbox.next(wait_s=20)
        assert family.to == "son@example.org"
        second.proc.terminate()
    refs = []
    for received in inbox.all:
        found = REF.search(received.body)
        refs.append((received.to, found.group(1) if found else received.body))
    assert len(refs) == len(set(refs)), refs  # nothing sent twice
    assert [to for to, _ in refs[:3]] == ["duty@example.org", "manager", "son@example.org"]
    assert [ref.split(":", 1)[1] for _, ref in refs[:3]] == ["1:0", "2:0", "3:0"]
