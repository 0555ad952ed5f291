"""Staying connected to the broker: the one reconnect loop of every platform MQTT client.

Ingest, the alert engine and the link-health follower each run a *session* (connect, subscribe,
consume) and, when it ends with an MQTT error, wait a capped, jittered backoff and start another.
A broker that is away is a WARNING ``{name}_disconnected``; one that will not have us (login,
TLS, a refused subscription: ``ingest.broker_problems``) an ERROR ``{name}_broker_refused`` at
every retry, since it will not cure itself — and is retried all the same (it may be fixed while
the service runs).

A stop must also end the loop when it lands mid-connect. On Python 3.11 ``asyncio.wait_for``,
which aiomqtt uses for CONNACK and SUBACK, swallows a cancellation that arrives in the same turn
of the event loop as the future it waits for (CPython gh-86296, fixed in 3.12): the caller sees
the CONNACK's result (a refused login raises ``MqttError``) instead of ``CancelledError``, and a
retry loop would go round for ever with the stop lost — a service that ignores SIGTERM until
it is killed. The cancellation is still *requested* on the task (``Task.cancelling()``), so
:func:`raise_if_cancelling` turns it back into ``CancelledError``; the loop asks after every
attempt, and each session asks once it is set up, before it starts consuming.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiomqtt

from ingest.backoff import Backoff
from ingest.broker_problems import broker_problem

log = logging.getLogger(__name__)

RECONNECT_INITIAL_S = 0.2
RECONNECT_CAP_S = 30.0  # a restarting broker is back in seconds; don't hammer one that is not


def raise_if_cancelling() -> None:
    """Raise ``CancelledError`` if this task was asked to stop and the request was swallowed."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stay_connected(
    name: str,
    session: Callable[[Backoff], Awaitable[None]],
    ready: asyncio.Event,
    *,
    broker: str,
    username: str | None,
    backoff: Backoff | None = None,
) -> None:
    """Run ``session(backoff)`` again after each MQTT error until cancelled.

    ``session`` connects, sets ``ready`` once subscribed (and resets ``backoff``), and consumes;
    ``ready`` is cleared whenever it ends. ``broker`` is ``host:port`` for the log lines.
    """
    backoff = backoff or Backoff(RECONNECT_INITIAL_S, RECONNECT_CAP_S)
    while True:
        problem: str | None = None
        try:
            await session(backoff)
        except* aiomqtt.MqttError as group:  # the session may consume in a TaskGroup
            err = group.exceptions[0]
            problem = broker_problem(err, established=ready.is_set())
            if problem is None:
                log.warning("%s_disconnected broker=%s error=%r", name, broker, err)
        finally:
            ready.clear()
        raise_if_cancelling()
        delay = backoff.next_delay()
        if problem is not None:
            log.error(
                "%s_broker_refused broker=%s username=%s problem=%s retry_in_s=%.2f",
                name, broker, username, problem, delay,
            )  # fmt: skip
        log.info("%s_reconnect_wait delay_s=%.2f", name, delay)
        await asyncio.sleep(delay)
