"""The alert engine on a real Mosquitto: an event published by a gateway becomes an alert."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import aiomqtt
import pytest

from alerts.engine import AlertEngine
from anxin.localservers import Server
from devices.codec import encode
from devices.payloads import EventKind, EventMessage
from devices.topics import Channel, topic
from tests.alerts.conftest import Home

pytestmark = pytest.mark.mosquitto


def _event(gateway: str, seq: int, kind: EventKind, event_id: str) -> bytes:
    now = datetime.now(UTC)
    return encode(
        EventMessage(
            gw=gateway,
            boot="boot1",
            seq=seq,
            sent_at=now,
            id=event_id,
            kind=kind,
            dev="wear-1",
            t=now,
        )
    )


async def test_published_events_become_alerts(home: Home, mosquitto_server: Server) -> None:
    engine = AlertEngine(
        home.service,
        home.sessions,
        "127.0.0.1",
        mosquitto_server.port,
        home.clock,
        client_id=f"anxin-alerts-{uuid.uuid4().hex[:8]}",
    )
    async with home.feed.subscribe() as feed, asyncio.TaskGroup() as tg:
        changes = aiter(feed)
        task = tg.create_task(engine.run())
        await asyncio.wait_for(engine.ready.wait(), 10)
        async with aiomqtt.Client("127.0.0.1", mosquitto_server.port) as gateway:
            fall_id = uuid.uuid4().hex
            await gateway.publish(topic("gw-1", Channel.EVENTS), b"{not json", qos=1)
            await gateway.publish(
                topic("gw-1", Channel.EVENTS), _event("gw-2", 1, EventKind.FALL, fall_id), qos=1
            )  # payload of another gateway: refused
            await gateway.publish(
                topic("gw-1", Channel.EVENTS), _event("gw-1", 2, EventKind.FALL, fall_id), qos=1
            )
            raised = await asyncio.wait_for(anext(changes), 10)
            assert raised.action == "raised"
            assert (raised.alert.kind, raised.alert.priority) == ("fall", "high")
            assert (raised.alert.gateway_id, raised.alert.resident_id) == ("gw-1", home.wearer_id)
            # a redelivery of the same event, then a cancel: only the cancel changes the alert
            await gateway.publish(
                topic("gw-1", Channel.EVENTS), _event("gw-1", 2, EventKind.FALL, fall_id), qos=1
            )
            await gateway.publish(
                topic("gw-1", Channel.EVENTS),
                _event("gw-1", 3, EventKind.CANCEL, uuid.uuid4().hex),
                qos=1,
            )
            cancel = await asyncio.wait_for(anext(changes), 10)
        assert cancel.action == "evidence"
        assert (cancel.alert.id, cancel.alert.evidence_count) == (raised.alert.id, 2)
        assert cancel.alert.state == "open"  # a high-priority alert waits for a person
        assert engine.handled == 5
        task.cancel()
    assert await home.service.count_open() == 1
