"""Fixtures of the ingest tests: both store adapters on real backends, a quarantine."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from pydantic import BaseModel

from anxin.localservers import Server
from devices.clock import ManualClock
from devices.codec import decode_as, encode
from devices.payloads import AckMessage, ReadingIn, ReadingsMessage
from devices.topics import Channel, topic
from ingest.consumer import Ingest
from ingest.influx_store import InfluxStore
from ingest.quarantine import SQLiteQuarantine
from ingest.sqlite_store import SQLiteStore
from ingest.store import ReadingStore

_databases = itertools.count()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """A fresh SQLite store in the test's temp dir."""
    store = await SQLiteStore.open(tmp_path / "series.db")
    yield store
    await store.close()


@pytest.fixture
async def influx_store(influxdb_server: Server) -> AsyncIterator[InfluxStore]:
    """A fresh database on the session's real InfluxDB."""
    store = await InfluxStore.open(influxdb_server.url, f"anxin_test_{next(_databases)}")
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", pytest.param("influxdb", marks=pytest.mark.influxdb)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadingStore]:
    """Each store adapter in turn, on a real backend."""
    opened: ReadingStore
    if request.param == "sqlite":
        opened = await SQLiteStore.open(tmp_path / "series.db")
    else:
        server: Server = request.getfixturevalue("influxdb_server")
        opened = await InfluxStore.open(server.url, f"anxin_contract_{next(_databases)}")
    yield opened
    await opened.close()


@pytest.fixture
async def quarantine(tmp_path: Path) -> AsyncIterator[SQLiteQuarantine]:
    """A fresh quarantine in the test's temp dir."""
    q = await SQLiteQuarantine.open(tmp_path / "quarantine.db")
    yield q
    await q.close()


class FakeGateway:
    """A gateway's uplink as a test drives it: publishes QoS 1, collects every ack it sees."""

    def __init__(self, client: aiomqtt.Client, boot: str) -> None:
        self.client = client
        self.boot = boot
        self.acks: asyncio.Queue[tuple[str, AckMessage]] = asyncio.Queue()
        self._seq = itertools.count(1)

    def next_seq(self) -> int:
        """A fresh sequence number of this boot."""
        return next(self._seq)

    def readings(
        self, gw: str, items: list[tuple[str, str, float]], seq: int | None = None
    ) -> ReadingsMessage:
        """A readings message of (device, measurement, value) items, one second apart."""
        return ReadingsMessage(
            gw=gw,
            boot=self.boot,
            seq=self.next_seq() if seq is None else seq,
            sent_at=T_SENT,
            readings=[
                ReadingIn(dev=dev, m=m, val=val, t=T_SENT + timedelta(seconds=i))
                for i, (dev, m, val) in enumerate(items)
            ],
        )

    async def publish(self, gw: str, channel: Channel, payload: bytes | BaseModel) -> None:
        """Publish on a gateway's topic at QoS 1."""
        body = payload if isinstance(payload, bytes) else encode(payload)
        await self.client.publish(topic(gw, channel), body, qos=1)

    async def next_ack(self, wait_s: float = 10.0) -> tuple[str, AckMessage]:
        """The next ack seen on any gateway's ack topic, as (gateway, ack)."""
        async with asyncio.timeout(wait_s):
            return await self.acks.get()

    async def _collect(self) -> None:
        async for message in self.client.messages:
            assert isinstance(message.payload, bytes)
            gw = message.topic.value.split("/")[2]
            await self.acks.put((gw, decode_as(AckMessage, message.payload)))


T_SENT = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def fake_gateway(mosquitto_server: Server) -> AsyncIterator[FakeGateway]:
    """A connected fake gateway listening on every ack topic."""
    async with aiomqtt.Client(
        "127.0.0.1", mosquitto_server.port, identifier=f"fake-{uuid.uuid4().hex[:8]}"
    ) as client:
        await client.subscribe("anxin/v1/+/ack", qos=1)
        gateway = FakeGateway(client, boot=f"boot{uuid.uuid4().hex[:8]}")
        task = asyncio.create_task(gateway._collect())
        yield gateway
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


IngestFactory = Callable[..., Awaitable[Ingest]]


@pytest.fixture
async def start_ingest(
    mosquitto_server: Server, quarantine: SQLiteQuarantine
) -> AsyncIterator[IngestFactory]:
    """Start an Ingest on the real broker (fresh persistent session) and stop it at teardown."""
    tasks: list[asyncio.Task[None]] = []

    async def start(store: ReadingStore, known: set[str], **settings: Any) -> Ingest:
        async def is_known(gw: str) -> bool:
            return gw in known

        ingest = Ingest(
            "127.0.0.1",
            mosquitto_server.port,
            store,
            quarantine,
            ManualClock(T_SENT + timedelta(minutes=1)),
            is_known,
            client_id=f"ingest-{uuid.uuid4().hex[:8]}",
            **settings,
        )
        tasks.append(asyncio.create_task(ingest.run()))
        async with asyncio.timeout(10):
            await ingest.ready.wait()
        return ingest

    yield start
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
