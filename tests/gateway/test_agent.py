"""The gateway agent against a real Mosquitto, with a fake ingest that acks (or does not)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from anxin.localservers import Server
from devices.clock import ManualClock, ScaledClock
from devices.codec import encode
from devices.payloads import (
    EventKind,
    EventMessage,
    GatewayState,
    ReadingIn,
    ReadingsMessage,
    StatusMessage,
)
from devices.simulator.home import SimulatedHome
from devices.simulator.routine import NO_INCIDENTS
from devices.topics import Channel
from gateway.adapters.base import AccelBlock, ButtonPress, DeviceData, DeviceReading
from gateway.adapters.simulator import SimulatorAdapter
from gateway.outbox import Outbox
from gateway.uplink import BrokerAddress, Uplink
from tests.gateway.conftest import T0, GatewayFactory, IngestFactory, ScriptedAdapter

pytestmark = pytest.mark.mosquitto


def reading(device: str, value: float, seconds: float = 0.0) -> DeviceReading:
    """A PIR reading at T0 + seconds."""
    return DeviceReading(device, "motion", value, T0 + timedelta(seconds=seconds))


def depth_zero_after(seen: Sequence[tuple[str, object]], n: int) -> bool:
    """A status heartbeat with an empty outbox came after the n-th message."""
    return any(isinstance(m, StatusMessage) and m.outbox_depth == 0 for _, m in seen[n:])


async def test_readings_arrive_and_acks_empty_the_outbox(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str
) -> None:
    ingest = await fake_ingest(gateway_id)
    adapter = ScriptedAdapter()
    gw = start_gateway(adapter, batch_max=2)
    adapter.push(DeviceData(readings=(reading("pir-kitchen", 1), reading("pir-kitchen", 0, 90))))
    msg: ReadingsMessage = await ingest.wait_for(
        lambda s: next(iter(ingest.of(ReadingsMessage)), None)
    )
    assert msg.gw == gateway_id
    assert msg.seq == 0
    assert [(r.dev, r.val) for r in msg.readings] == [("pir-kitchen", 1.0), ("pir-kitchen", 0.0)]
    n = len(ingest.seen)
    await ingest.wait_for(lambda s: depth_zero_after(s, n))
    online = ingest.of(StatusMessage)[0]
    assert (online.state, online.boot) == (GatewayState.ONLINE, msg.boot)
    await gw.stop()
    box = Outbox(gw.config.outbox_path)
    assert box.depth() == 0
    box.close()


async def test_unacked_items_stay_and_are_resent_after_a_restart_with_their_identity(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str
) -> None:
    ingest = await fake_ingest(gateway_id)
    ingest.ack = False
    adapter = ScriptedAdapter()
    first = start_gateway(adapter)
    adapter.push(DeviceData(readings=(reading("pir-hallway", 1),)))
    old: ReadingsMessage = await ingest.wait_for(
        lambda s: next(iter(ingest.of(ReadingsMessage)), None)
    )
    await first.stop()
    offline = await ingest.wait_for(
        lambda s: [m for m in ingest.of(StatusMessage) if m.state is GatewayState.OFFLINE]
    )
    assert offline[-1].outbox_depth == 1
    box = Outbox(first.config.outbox_path)
    assert [(i.boot, i.seq) for i in box.next_batch(10)] == [(old.boot, old.seq)]
    box.close()

    ingest.ack = True
    second = start_gateway(ScriptedAdapter())
    statuses = await ingest.wait_for(
        lambda s: [m for m in ingest.of(StatusMessage) if m.boot != old.boot]
    )
    assert statuses[0].state is GatewayState.ONLINE
    again = await ingest.wait_for(
        lambda s: [
            m for m in ingest.of(ReadingsMessage) if m.boot == old.boot and m.seq == old.seq
        ][1:]
    )
    assert encode(again[0]) == encode(old)  # the very same bytes: sent_at is of the enqueue
    n = len(ingest.seen)
    await ingest.wait_for(lambda s: depth_zero_after(s, n))
    await second.stop()


async def test_items_not_acked_in_time_are_sent_again(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str
) -> None:
    ingest = await fake_ingest(gateway_id)
    ingest.ack = False
    adapter = ScriptedAdapter()
    start_gateway(adapter, ack_timeout_s=0.3)
    adapter.push(DeviceData(readings=(reading("pir-hallway", 1),)))
    copies = await ingest.wait_for(
        lambda s: ingest.of(ReadingsMessage)[2:] and ingest.of(ReadingsMessage)
    )
    assert len({(m.boot, m.seq) for m in copies}) == 1


async def test_events_overtake_a_readings_backlog(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str, tmp_path: Path
) -> None:
    ingest = await fake_ingest(gateway_id)
    box = Outbox(tmp_path / "gw" / f"{gateway_id}.outbox.db")
    for _ in range(200):
        box.put(
            Channel.READINGS,
            lambda b, s: encode(
                ReadingsMessage(
                    gw=gateway_id,
                    boot=b,
                    seq=s,
                    sent_at=T0,
                    readings=[ReadingIn(dev="pir-kitchen", m="motion", val=1, t=T0)],
                )
            ),
            T0,
        )
    box.close()
    adapter = ScriptedAdapter()
    adapter.push(DeviceData(presses=(ButtonPress("wear-1", T0),)))
    start_gateway(adapter, window=4)
    await ingest.wait_for(lambda s: len(ingest.of(ReadingsMessage)) >= 200)
    uplink = [m for _, m in ingest.seen if isinstance(m, ReadingsMessage | EventMessage)]
    first_event = next(i for i, m in enumerate(uplink) if isinstance(m, EventMessage))
    assert first_event <= 4  # at most one window of readings went out before the event was queued
    event = uplink[first_event]
    assert isinstance(event, EventMessage)
    assert (event.kind, event.dev, event.t) == (EventKind.CALL_BUTTON, "wear-1", T0)


def fall_signal(seconds_still: float) -> tuple[tuple[float, float, float], ...]:
    """Walking, a hard impact, then lying still, at 50 Hz."""
    walk = [(0.0, 0.0, 1.0 + 0.3 * math.sin(i / 5)) for i in range(100)]
    hit = [(0.1, 0.1, 0.3)] * 20 + [(2.1, 1.0, 2.6)] * 5
    lying = [(1.0, 0.0, 0.0)] * int(50 * seconds_still)
    return tuple(walk + hit + lying)


async def test_a_fall_pre_alerts_and_is_confirmed_when_not_cancelled(
    start_gateway: GatewayFactory,
    fake_ingest: IngestFactory,
    gateway_id: str,
    manual_clock: ManualClock,
) -> None:
    ingest = await fake_ingest(gateway_id)
    adapter = ScriptedAdapter()
    start_gateway(adapter, cancel_window_s=30.0)
    adapter.push(DeviceData(accel=(AccelBlock("wear-1", T0, 50.0, fall_signal(8)),)))
    pre: list[EventMessage] = await ingest.wait_for(lambda s: ingest.of(EventMessage))
    assert [e.kind for e in pre] == [EventKind.PRE_ALERT]
    manual_clock.advance(40)  # the agent wakes up for the deadline by itself
    events: list[EventMessage] = await ingest.wait_for(
        lambda s: ingest.of(EventMessage)[1:] and ingest.of(EventMessage)
    )
    assert [e.kind for e in events] == [EventKind.PRE_ALERT, EventKind.FALL]
    assert events[1].data["episode"] == events[0].id
    assert events[0].dev == events[1].dev == "wear-1"
    assert events[1].data["peak_g"] > 3.0


async def test_a_press_during_the_pre_alert_cancels_it(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str
) -> None:
    ingest = await fake_ingest(gateway_id)
    adapter = ScriptedAdapter()
    start_gateway(adapter)
    press_at = T0 + timedelta(seconds=12)
    adapter.push(
        DeviceData(
            accel=(AccelBlock("wear-1", T0, 50.0, fall_signal(10)),),
            presses=(ButtonPress("wear-1", press_at),),
        )
    )
    events: list[EventMessage] = await ingest.wait_for(
        lambda s: ingest.of(EventMessage)[1:] and ingest.of(EventMessage)
    )
    assert [e.kind for e in events] == [EventKind.PRE_ALERT, EventKind.CANCEL]
    assert events[1].t == press_at
    assert events[1].data["episode"] == events[0].id


async def test_clean_stop_says_offline(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str
) -> None:
    ingest = await fake_ingest(gateway_id)
    gw = start_gateway(ScriptedAdapter())
    await ingest.wait_for(lambda s: ingest.of(StatusMessage))
    await gw.stop()
    states = await ingest.wait_for(
        lambda s: [m.state for m in ingest.of(StatusMessage) if m.state is GatewayState.OFFLINE]
    )
    assert states == [GatewayState.OFFLINE]


async def test_the_last_will_marks_a_lost_gateway_offline(
    mosquitto_server: Server, fake_ingest: IngestFactory, gateway_id: str, tmp_path: Path
) -> None:
    ingest = await fake_ingest(gateway_id)
    box = Outbox(tmp_path / "o.db")
    uplink = Uplink(
        gateway_id, BrokerAddress("127.0.0.1", mosquitto_server.port), box, ManualClock(T0)
    )
    task = asyncio.create_task(uplink.run())
    try:
        async with asyncio.timeout(10):
            await uplink.connected.wait()
        await ingest.wait_for(lambda s: ingest.of(StatusMessage))
        uplink.drop_connection()
        states = await ingest.wait_for(
            lambda s: (
                [m.state for m in ingest.of(StatusMessage)][2:]
                and [m.state for m in ingest.of(StatusMessage)]
            )
        )
        assert states[:3] == [GatewayState.ONLINE, GatewayState.OFFLINE, GatewayState.ONLINE]
        assert uplink.stats.connects == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        box.close()


async def test_a_simulated_home_streams_readings(
    start_gateway: GatewayFactory, fake_ingest: IngestFactory, gateway_id: str
) -> None:
    ingest = await fake_ingest(gateway_id)
    clock = ScaledClock(speed=600.0, start=T0)  # ten simulated minutes per real second
    home = SimulatedHome(4, clock.now(), NO_INCIDENTS, accel_hz=5.0)
    start_gateway(
        SimulatorAdapter(home, clock, step_s=10.0), clock=clock, batch_max=500, batch_age_s=60.0
    )
    msgs: list[ReadingsMessage] = await ingest.wait_for(
        lambda s: [
            m for m in ingest.of(ReadingsMessage) if any(r.m == "heart_rate" for r in m.readings)
        ]
    )
    devices = {r.dev for m in ingest.of(ReadingsMessage) for r in m.readings}
    assert "wear-1" in devices
    assert msgs[0].readings[0].t >= T0
