"""The reconnect loop ends on a stop, also one that Python 3.11's ``wait_for`` swallowed.

The race is made here exactly as it happens in aiomqtt: a task waits on the CONNACK future with
``asyncio.wait_for`` and, in one turn of the event loop, the CONNACK arrives and the service
is told to stop. A real broker hits that turn about once in thirty stops (CI did).
"""

from __future__ import annotations

import asyncio
import logging

import aiomqtt
import pytest
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from ingest.backoff import Backoff
from ingest.reconnect import raise_if_cancelling, stay_connected
from tests.races import stopped_as

NOT_AUTHORIZED = ReasonCode(PacketTypes.CONNACK, identifier=135)


def _fast() -> Backoff:
    return Backoff(0.001, 0.002)


async def test_a_stop_that_lands_with_a_refused_login_ends_the_loop() -> None:
    connack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    attempts = 0

    async def session(backoff: Backoff) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await asyncio.wait_for(connack, 10)  # as aiomqtt awaits the CONNACK
        raise MqttConnectError(NOT_AUTHORIZED)

    task = asyncio.create_task(
        stay_connected("t", session, asyncio.Event(), broker="b:1", username="u", backoff=_fast())
    )
    refused = MqttConnectError(NOT_AUTHORIZED)
    assert await stopped_as(task, lambda: connack.set_exception(refused)), attempts
    assert attempts == 1


async def test_a_stop_that_lands_with_the_suback_is_not_lost() -> None:
    suback: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    consumed = False

    async def session() -> None:
        nonlocal consumed
        await asyncio.wait_for(suback, 10)  # as aiomqtt awaits the SUBACK
        raise_if_cancelling()
        consumed = True  # a session would now consume until the next (never sent) stop
        await asyncio.Event().wait()

    task = asyncio.create_task(session())
    assert await stopped_as(task, lambda: suback.set_result(None))
    assert not consumed


async def test_a_broker_that_refuses_is_retried_at_error(caplog: pytest.LogCaptureFixture) -> None:
    attempts = 0
    enough = asyncio.Event()

    async def session(backoff: Backoff) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 3:
            enough.set()
        raise MqttConnectError(NOT_AUTHORIZED)

    with caplog.at_level(logging.INFO, logger="ingest.reconnect"):
        task = asyncio.create_task(
            stay_connected(
                "t", session, asyncio.Event(), broker="b:1", username="u", backoff=_fast()
            )
        )
        await asyncio.wait_for(enough.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    refused = [r for r in caplog.records if r.getMessage().startswith("t_broker_refused")]
    assert len(refused) >= 2
    assert all(r.levelno == logging.ERROR and "username=u" in r.getMessage() for r in refused)


async def test_a_lost_connection_is_a_warning_and_clears_ready(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ready = asyncio.Event()
    attempts = 0
    seen_ready_after_loss: list[bool] = []
    again = asyncio.Event()

    async def session(backoff: Backoff) -> None:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            seen_ready_after_loss.append(ready.is_set())
            again.set()
            await asyncio.Event().wait()
        ready.set()
        backoff.reset()
        raise aiomqtt.MqttError("connection lost")

    with caplog.at_level(logging.INFO, logger="ingest.reconnect"):
        task = asyncio.create_task(
            stay_connected("t", session, ready, broker="b:1", username="u", backoff=_fast())
        )
        await asyncio.wait_for(again.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert seen_ready_after_loss == [False]
    lost = [r for r in caplog.records if r.getMessage().startswith("t_disconnected")]
    assert [r.levelno for r in lost] == [logging.WARNING]
    assert "broker=b:1" in lost[0].getMessage()
