"""The embedded amqtt broker: logins, per-gateway topics, queued QoS 1 messages for services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from anxin.broker import Principal, embedded_broker
from anxin.localservers import free_port

SERVICE = ("anxin-ingest", "service-secret")


async def verify(username: str, password: str) -> Principal | None:
    if (username, password) == SERVICE:
        return Principal.SERVICE
    if username in ("gw-a", "gw-b") and password == f"{username}-secret":
        return Principal.GATEWAY
    return None


@pytest.fixture
async def broker_port() -> AsyncIterator[int]:
    port = free_port()
    async with embedded_broker("127.0.0.1", port, verify, [SERVICE[0]]):
        yield port


def client(
    port: int, user: str, password: str, client_id: str | None = None, **kw: object
) -> aiomqtt.Client:
    return aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=client_id or user,
        username=user,
        password=password,
        **kw,  # type: ignore[arg-type]
    )


async def test_anonymous_and_wrong_password_are_refused(broker_port: int) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker_port):
            pass
    with pytest.raises(aiomqtt.MqttError):
        async with client(broker_port, "gw-a", "wrong"):
            pass


async def test_gateway_cannot_take_over_another_client_id(broker_port: int) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with client(broker_port, "gw-a", "gw-a-secret", client_id="gw-b"):
            pass


async def test_gateway_publishes_only_into_its_own_subtree(broker_port: int) -> None:
    async with client(broker_port, *SERVICE, client_id="svc") as svc:
        await svc.subscribe("anxin/v1/+/events", qos=1)
        async with client(broker_port, "gw-a", "gw-a-secret") as gw:
            await gw.publish("anxin/v1/gw-b/events", b"forged", qos=1)
            await gw.publish("anxin/v1/gw-a/events", b"genuine", qos=1)
        message = await asyncio.wait_for(anext(aiter(svc.messages)), 10)
        assert message.payload == b"genuine"
        assert str(message.topic) == "anxin/v1/gw-a/events"


async def test_gateway_cannot_subscribe_to_another_gateways_acks(broker_port: int) -> None:
    async with client(broker_port, "gw-a", "gw-a-secret") as spy:
        await spy.subscribe("anxin/v1/gw-b/ack", qos=1)
        await spy.subscribe("anxin/v1/gw-a/ack", qos=1)
        async with client(broker_port, *SERVICE, client_id="svc") as svc:
            await svc.publish("anxin/v1/gw-b/ack", b"for b", qos=1)
            await svc.publish("anxin/v1/gw-a/ack", b"for a", qos=1)
        message = await asyncio.wait_for(anext(aiter(spy.messages)), 10)
        assert message.payload == b"for a"


async def test_service_session_keeps_queued_messages_across_reconnect(broker_port: int) -> None:
    async with client(broker_port, *SERVICE, client_id="svc", clean_session=False) as svc:
        await svc.subscribe("anxin/v1/+/events", qos=1)
    async with client(broker_port, "gw-a", "gw-a-secret") as gw:
        await gw.publish("anxin/v1/gw-a/events", b"while you were away", qos=1)
    async with client(broker_port, *SERVICE, client_id="svc", clean_session=False) as svc:
        message = await asyncio.wait_for(anext(aiter(svc.messages)), 10)
        assert message.payload == b"while you were away"


async def test_retained_status_reaches_subscribers_but_never_other_gateways(
    broker_port: int,
) -> None:
    async with client(broker_port, *SERVICE, client_id="svc") as svc:
        await svc.subscribe("anxin/v1/+/status", qos=1)  # a filter that matches gw-a's status
        async with client(broker_port, "gw-a", "gw-a-secret") as gw_a:
            await gw_a.publish("anxin/v1/gw-a/status", b"online", qos=1, retain=True)
        await asyncio.wait_for(anext(aiter(svc.messages)), 10)
        # amqtt 0.12 replayed retained messages of *every* client's filters to a connecting one
        async with client(broker_port, "gw-b", "gw-b-secret") as gw_b:
            await gw_b.subscribe([("anxin/v1/gw-b/ack", 1), ("anxin/v1/gw-b/cmd", 1)])
            async with client(broker_port, *SERVICE, client_id="svc2") as svc2:
                await svc2.publish("anxin/v1/gw-b/cmd", b"marker", qos=1)
            first = await asyncio.wait_for(anext(aiter(gw_b.messages)), 10)
            assert first.payload == b"marker"
    async with client(broker_port, *SERVICE, client_id="svc3") as late:
        await late.subscribe("anxin/v1/+/status", qos=1)
        retained = await asyncio.wait_for(anext(aiter(late.messages)), 10)
        assert retained.payload == b"online"
