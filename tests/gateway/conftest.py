"""Fixtures of the gateway tests: a fake ingest that acks on the real broker, a scripted adapter."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from anxin.localservers import Server
from devices.clock import Clock, ManualClock
from devices.codec import UplinkMessage, decode_uplink, encode
from devices.payloads import AckMessage, EventMessage, ReadingsMessage
from devices.topics import Channel, topic
from gateway.adapters.base import DeviceData
from gateway.app import run_gateway
from gateway.config import GatewayConfig

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
WAIT_S = 15.0  # generous: a reconnect takes paho's 1 s minimum delay


class ScriptedAdapter:
    """A device adapter that returns what the test pushes (the in-memory twin of a real one)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[DeviceData] = asyncio.Queue(100)

    def push(self, data: DeviceData) -> None:
        """Make ``data`` the next thing the devices report."""
        self.queue.put_nowait(data)

    async def read(self) -> DeviceData:
        """The next pushed data (cancellation-safe)."""
        return await self.queue.get()


@dataclass
class FakeIngest:
    """Plays ingest for one gateway: records every uplink message; acks readings and events."""

    client: aiomqtt.Client
    gateway_id: str
    ack: bool = True
    seen: list[tuple[str, UplinkMessage]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def collect(self) -> None:
        """Record (and ack) messages until cancelled."""
        async for message in self.client.messages:
            assert isinstance(message.payload, bytes)
            channel = message.topic.value.rsplit("/", 1)[1]
            _, decoded = decode_uplink(message.topic.value, message.payload)
            if self.ack and isinstance(decoded, ReadingsMessage | EventMessage):
                ack = AckMessage(boot=decoded.boot, seqs=[decoded.seq], t=datetime.now(UTC))
                await self.client.publish(topic(self.gateway_id, Channel.ACK), encode(ack), qos=1)
            async with self.changed:
                self.seen.append((channel, decoded))
                self.changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[list[tuple[str, UplinkMessage]]], Any], wait_s: float = WAIT_S
    ) -> Any:
        """Wait until ``predicate(seen)`` is truthy; return its value."""
        async with asyncio.timeout(wait_s), self.changed:
            result: Any = None

            def check() -> bool:
                nonlocal result
                result = predicate(self.seen)
                return bool(result)

            await self.changed.wait_for(check)
            return result

    def of(self, kind: type[Any]) -> list[Any]:
        """Every message of one payload type seen so far."""
        return [m for _, m in self.seen if isinstance(m, kind)]


IngestFactory = Callable[[str], Awaitable[FakeIngest]]


@pytest.fixture
async def fake_ingest(mosquitto_server: Server) -> AsyncIterator[IngestFactory]:
    """Start a fake ingest for a gateway id, subscribed before the gateway starts."""
    stack = contextlib.AsyncExitStack()
    tasks: list[asyncio.Task[None]] = []

    async def start(gateway_id: str) -> FakeIngest:
        client = await stack.enter_async_context(
            aiomqtt.Client(
                "127.0.0.1", mosquitto_server.port, identifier=f"ingest-{uuid.uuid4().hex[:8]}"
            )
        )
        for channel in (Channel.READINGS, Channel.EVENTS, Channel.STATUS):
            await client.subscribe(topic(gateway_id, channel), qos=1)
        ingest = FakeIngest(client, gateway_id)
        tasks.append(asyncio.create_task(ingest.collect()))
        return ingest

    yield start
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await stack.aclose()


@dataclass
class RunningGateway:
    """A gateway agent running as a task of the test."""

    config: GatewayConfig
    task: asyncio.Task[None]

    async def stop(self) -> None:
        """Cancel it and wait for the clean stop."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


GatewayFactory = Callable[..., RunningGateway]


@pytest.fixture
def gateway_id() -> str:
    """A fresh gateway id (retained status of other tests must not leak in)."""
    return f"gw-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def manual_clock() -> ManualClock:
    """Test time."""
    return ManualClock(T0)


@pytest.fixture
async def start_gateway(
    mosquitto_server: Server, tmp_path: Path, gateway_id: str, manual_clock: ManualClock
) -> AsyncIterator[GatewayFactory]:
    """Start ``run_gateway`` on the real broker; everything started is stopped at teardown."""
    running: list[RunningGateway] = []

    def start(adapter: Any, clock: Clock | None = None, **fields: Any) -> RunningGateway:
        values: dict[str, Any] = {
            "gateway_id": gateway_id,
            "broker_port": mosquitto_server.port,
            "data_dir": tmp_path / "gw",
            "heartbeat_s": 0.2,
            "batch_max": 1,
        }
        values.update(fields)
        config = GatewayConfig(**values)
        task = asyncio.create_task(run_gateway(config, clock or manual_clock, adapter))
        gw = RunningGateway(config, task)
        running.append(gw)
        return gw

    yield start
    for gw in running:
        await gw.stop()
