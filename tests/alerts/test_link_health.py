"""Gateway link health: offline within a minute, flapping grouped into one alarm."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from alerts.link_health import GATEWAY_OFFLINE, LINK_UNSTABLE, LinkMonitor, LinkWatch
from anxin.localservers import Server
from devices.clock import SystemClock
from devices.codec import encode
from devices.payloads import GatewayState, StatusMessage
from devices.topics import Channel, topic
from tests.alerts.conftest import Home

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_last_will_is_one_offline_finding_and_online_clears_it() -> None:
    watch = LinkWatch()
    assert watch.observe("gw", True, at(0)) == []
    (found,) = watch.observe("gw", False, at(10))
    assert (found.kind, found.gateway_id, found.since) == (GATEWAY_OFFLINE, "gw", at(10))
    assert watch.observe("gw", False, at(11)) == []  # a repeated will: still one episode
    assert watch.check(at(300)) == []
    assert watch.observe("gw", True, at(400)) == []


def test_a_missing_heartbeat_is_found_within_a_minute() -> None:
    watch = LinkWatch()
    watch.observe("gw", True, at(0))
    watch.observe("gw", True, at(30))
    assert watch.check(at(60)) == []
    (found,) = watch.check(at(86))  # 56 s after the last beat
    assert found.kind == GATEWAY_OFFLINE
    assert found.since == at(30)
    assert watch.check(at(200)) == []


def test_a_flapping_link_raises_one_unstable_alarm_not_one_per_drop() -> None:
    watch = LinkWatch()
    findings = []
    for minute in range(6):
        findings += watch.observe("gw", True, at(minute * 60))
        findings += watch.observe("gw", False, at(minute * 60 + 20))
    kinds = [f.kind for f in findings]
    assert kinds == [GATEWAY_OFFLINE, GATEWAY_OFFLINE, LINK_UNSTABLE]


def test_gateways_are_independent() -> None:
    watch = LinkWatch()
    watch.observe("a", True, at(0))
    watch.observe("b", True, at(0))
    watch.observe("b", True, at(50))
    (found,) = watch.check(at(70))
    assert found.gateway_id == "a"


async def test_a_gateways_last_will_becomes_one_technical_alarm(
    home: Home, mosquitto_server: Server
) -> None:
    """Real broker: a gateway whose connection dies is announced by its will -> one alarm."""
    monitor = LinkMonitor(
        home.service, "127.0.0.1", mosquitto_server.port, SystemClock(),
        client_id=f"link-{uuid.uuid4().hex[:8]}", check_every_s=0.1,
    )  # fmt: skip
    offline = StatusMessage(gw="gw-1", boot="b1", state=GatewayState.OFFLINE, t=datetime.now(UTC))
    online = StatusMessage(gw="gw-1", boot="b1", state=GatewayState.ONLINE, t=datetime.now(UTC))
    async with home.feed.subscribe() as feed, asyncio.TaskGroup() as tg:
        changes = aiter(feed)
        task = tg.create_task(monitor.run())
        await asyncio.wait_for(monitor.ready.wait(), 10)
        gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-1")
        gateway.will_set(topic("gw-1", Channel.STATUS), encode(offline), qos=1, retain=True)
        gateway.connect("127.0.0.1", mosquitto_server.port, keepalive=5)
        gateway.loop_start()
        sent = gateway.publish(topic("gw-1", Channel.STATUS), encode(online), qos=1, retain=True)
        await asyncio.to_thread(sent.wait_for_publish, 10)
        sock = gateway.socket()
        assert sock is not None
        sock.close()  # the link dies without a DISCONNECT: the broker sends the will
        raised = await asyncio.wait_for(anext(changes), 30)
        gateway.loop_stop()
        assert (raised.alert.kind, raised.alert.priority) == (GATEWAY_OFFLINE, "technical")
        assert raised.alert.gateway_id == "gw-1"
        assert raised.alert.station_id is not None
        task.cancel()
