"""Security of gateway logins on a real Mosquitto with dynamic security (accounts made by us)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt
import pytest

from anxin.localservers import Server
from devices.topics import Channel, subscription, topic
from registry.broker_accounts import MosquittoDynsecAccounts
from tests.provisioning.conftest import SERVICE, SERVICE_PASSWORD

pytestmark = pytest.mark.mosquitto

WAIT_S = 10.0


@asynccontextmanager
async def login(
    server: Server, username: str | None, password: str | None, client_id: str | None = None
) -> AsyncIterator[aiomqtt.Client]:
    """An MQTT session as ``username`` (client id: the username unless told)."""
    async with aiomqtt.Client(
        "127.0.0.1",
        server.port,
        username=username,
        password=password,
        identifier=client_id or username or f"anon-{uuid.uuid4().hex[:6]}",
    ) as client:
        yield client


async def refused(
    server: Server, username: str | None, password: str | None, cid: str | None = None
) -> bool:
    """True when the broker refuses this login."""
    try:
        async with login(server, username, password, cid):
            return False
    except aiomqtt.MqttError:
        return True


@pytest.fixture
async def two_gateways(accounts: MosquittoDynsecAccounts) -> tuple[str, str]:
    """Gateways A and B with accounts (password: 'pw-' + id)."""
    a, b = f"gw-a-{uuid.uuid4().hex[:6]}", f"gw-b-{uuid.uuid4().hex[:6]}"
    for gw in (a, b):
        await accounts.create_gateway(gw, f"pw-{gw}")
    return a, b


async def test_a_cannot_publish_into_b_topics(
    dynsec_server: Server, two_gateways: tuple[str, str]
) -> None:
    a, b = two_gateways
    async with login(
        dynsec_server, SERVICE, SERVICE_PASSWORD, f"ingest-{uuid.uuid4().hex[:6]}"
    ) as ingest:
        await ingest.subscribe(subscription(Channel.READINGS), qos=1)
        async with login(dynsec_server, a, f"pw-{a}") as gw_a:
            await gw_a.publish(topic(b, Channel.READINGS), b"forged", qos=1)
            await gw_a.publish(topic(a, Channel.READINGS), b"mine", qos=1)
        got: list[tuple[str, bytes]] = []
        async with asyncio.timeout(WAIT_S):
            async for message in ingest.messages:
                assert isinstance(message.payload, bytes)
                got.append((message.topic.value, message.payload))
                if message.payload == b"mine":
                    break
    # the same connection sent the forged one first: had it passed, it would have arrived first
    assert got == [(topic(a, Channel.READINGS), b"mine")]


async def test_a_cannot_subscribe_to_b_topics(
    dynsec_server: Server, two_gateways: tuple[str, str]
) -> None:
    a, b = two_gateways
    async with login(dynsec_server, a, f"pw-{a}") as gw_a:
        own = await gw_a.subscribe(topic(a, Channel.ACK), qos=1)
        other = await gw_a.subscribe(topic(b, Channel.ACK), qos=1)
        wildcard = await gw_a.subscribe("anxin/v1/#", qos=1)
    assert _granted(own)
    assert not _granted(other)
    assert not _granted(wildcard)


def _granted(result: object) -> bool:
    codes = list(result) if isinstance(result, tuple | list) else [result]
    return all(getattr(c, "value", c) in (0, 1, 2) for c in codes)


async def test_a_cannot_take_over_b_client_id(
    dynsec_server: Server, two_gateways: tuple[str, str]
) -> None:
    a, b = two_gateways
    async with login(dynsec_server, b, f"pw-{b}"):
        assert await refused(dynsec_server, a, f"pw-{a}", cid=b)
    assert not await refused(dynsec_server, a, f"pw-{a}")


async def test_anonymous_and_wrong_passwords_are_refused(
    dynsec_server: Server, two_gateways: tuple[str, str]
) -> None:
    a, _ = two_gateways
    assert await refused(dynsec_server, None, None)
    assert await refused(dynsec_server, a, "wrong")
    assert await refused(dynsec_server, "gw-nobody", "pw-gw-nobody")
    assert not await refused(dynsec_server, a, f"pw-{a}")


async def test_a_revoked_gateway_is_refused_and_cut_off(
    dynsec_server: Server, accounts: MosquittoDynsecAccounts, two_gateways: tuple[str, str]
) -> None:
    a, _ = two_gateways
    async with login(dynsec_server, a, f"pw-{a}") as gw_a:
        await accounts.remove_gateway(a)
        with pytest.raises(aiomqtt.MqttError):  # the broker disconnects the live session
            await asyncio.wait_for(_drain(gw_a), WAIT_S)
    assert await refused(dynsec_server, a, f"pw-{a}")


async def _drain(client: aiomqtt.Client) -> None:
    """Read messages until the connection ends (aiomqtt raises MqttError then)."""
    async for _ in client.messages:
        pass
