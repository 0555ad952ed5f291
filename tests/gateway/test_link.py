"""The link: jittered backoff, the urgent lane past a full window, TLS, MQTT 5 → 3.1.1, heartbeat."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from anxin import localservers
from anxin.broker import Principal, embedded_broker
from devices.clock import ManualClock
from devices.codec import encode
from devices.payloads import EventKind, EventMessage, ReadingIn, ReadingsMessage, StatusMessage
from devices.topics import Channel
from gateway.adapters.base import ButtonPress, DeviceData
from gateway.backoff import Backoff
from gateway.outbox import Budget, Encoder, Outbox
from gateway.uplink import BrokerAddress, Uplink, UplinkStats
from tests.gateway.conftest import T0, WAIT_S, GatewayFactory, IngestFactory, ScriptedAdapter
from tests.gateway.tlscerts import make_pki


def test_backoff_is_capped_jittered_and_resets() -> None:
    b = Backoff(initial=1.0, cap=8.0, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(10)]
    steps = [1, 2, 4, 8, 8, 8, 8, 8, 8, 8]
    assert all(s / 2 <= d <= s for d, s in zip(delays, steps, strict=True))
    assert len({round(d, 6) for d in delays[3:]}) > 1  # capped, but not in lock-step
    b.reset()
    assert b.next_delay() <= 1.0
    others = [Backoff(rng=random.Random(seed)).next_delay() for seed in range(20)]
    assert len({round(d, 6) for d in others}) == 20  # a fleet does not reconnect in step


def readings_of(gateway_id: str) -> Encoder:
    """An encoder of one-reading messages from ``gateway_id``."""

    def build(boot: str, seq: int) -> bytes:
        rs = [ReadingIn(dev="pir-1", m="motion", val=1, t=T0)]
        return encode(ReadingsMessage(gw=gateway_id, boot=boot, seq=seq, sent_at=T0, readings=rs))

    return build


@pytest.mark.mosquitto
async def test_a_live_event_overtakes_a_backlog_whose_window_is_full(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str, tmp_path: Path
) -> None:
    ingest = await fake_ingest(gateway_id)
    ingest.ack = False  # the readings window fills and stays full
    box = Outbox(tmp_path / "gw" / f"{gateway_id}.outbox.db")
    for _ in range(50):
        box.put(Channel.READINGS, readings_of(gateway_id), T0)
    box.close()
    adapter = ScriptedAdapter()
    start_gateway(adapter, window=4, ack_timeout_s=60)
    await ingest.wait_for(lambda s: len(ingest.of(ReadingsMessage)) >= 4)
    adapter.push(DeviceData(presses=(ButtonPress("wear-1", T0),)))
    event: EventMessage = await ingest.wait_for(lambda s: next(iter(ingest.of(EventMessage)), None))
    assert event.kind is EventKind.CALL_BUTTON
    assert len(ingest.of(ReadingsMessage)) == 4  # the window is still full, yet the event went


@pytest.mark.mosquitto
async def test_heartbeat_carries_depth_uptime_and_the_clock_offset_from_acks(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str
) -> None:
    ingest = await fake_ingest(gateway_id)
    clock = ManualClock(datetime.now(UTC) + timedelta(seconds=120))  # the gateway runs 2 min fast
    adapter = ScriptedAdapter()
    start_gateway(adapter, clock=clock)
    await ingest.wait_for(lambda s: ingest.of(StatusMessage))
    clock.advance(30)
    adapter.push(DeviceData(presses=(ButtonPress("wear-1", clock.now()),)))

    def with_offset(seen: object) -> StatusMessage | None:
        found = [m for m in ingest.of(StatusMessage) if m.clock_offset_s is not None]
        return found[-1] if found else None

    status: StatusMessage = await ingest.wait_for(with_offset)
    assert status.clock_offset_s is not None
    assert 140 <= status.clock_offset_s <= 160  # 120 s fast plus the 30 s we moved it
    assert status.uptime_s == pytest.approx(30.0)
    assert status.outbox_depth == 0


@pytest.mark.mosquitto
# paho leaves the socket of a failed TLS handshake to the garbage collector
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_tls_with_server_verification(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    port = localservers.free_port()
    broker = localservers.mosquitto(
        tmp_path / "mq",
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"cafile {pki.ca}\ncertfile {pki.cert}\nkeyfile {pki.key}\n",
        port=port,
    )
    try:
        good = await _connects(BrokerAddress("127.0.0.1", port, ca_file=pki.ca), tmp_path / "a")
        assert good.connects == 1
        other = make_pki(tmp_path / "other", "Someone else's CA")
        bad = await _connects(
            BrokerAddress("127.0.0.1", port, ca_file=other.ca), tmp_path / "b", expect=False
        )
        assert bad.connects == 0  # a broker we cannot verify gets nothing
    finally:
        broker.close()


@pytest.mark.mosquitto
async def test_mqtt5_falls_back_to_311_on_a_broker_without_it(tmp_path: Path) -> None:
    async def anyone(username: str, password: str) -> Principal | None:
        return Principal.GATEWAY

    port = localservers.free_port()
    async with embedded_broker("127.0.0.1", port, anyone, []):
        stats = await _connects(
            BrokerAddress("127.0.0.1", port, "gw-old", "pw"), tmp_path / "c", gateway_id="gw-old"
        )
    assert stats.connects == 1
    assert stats.refused >= 1  # MQTT 5 was tried first and refused


async def _connects(
    broker: BrokerAddress, data: Path, expect: bool = True, gateway_id: str | None = None
) -> UplinkStats:
    gateway_id = gateway_id or f"gw-{uuid.uuid4().hex[:8]}"
    box = Outbox(data / "o.db", budget=Budget(10_000_000, 100_000))
    uplink = Uplink(
        gateway_id, broker, box, ManualClock(T0), backoff=Backoff(0.1, 0.5), connack_timeout_s=1.0
    )
    task = asyncio.create_task(uplink.run())
    try:
        if expect:
            async with asyncio.timeout(WAIT_S):
                await uplink.connected.wait()
        else:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(2.0):  # several attempts at 0.1-0.5 s
                    await uplink.connected.wait()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        box.close()
    return uplink.stats
