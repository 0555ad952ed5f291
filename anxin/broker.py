"""The embedded MQTT broker (amqtt) that lets ``anxin up`` run with nothing else installed.

Production uses Mosquitto (or EMQX at scale); the same clients talk to all of them. Clients must
log in: amqtt keeps no queued messages for anonymous sessions, and a gateway must be pinned to its
own topic subtree. Credentials are checked by an injected ``verify`` callable (the composition
root backs it with the registry and the platform's own service secret).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from devices.topics import ROOT

log = logging.getLogger(__name__)

# Keep an unacknowledged QoS 1 session for a day: a consumer restart must not lose queued messages.
SESSION_EXPIRY_S = 24 * 3600


class Principal(StrEnum):
    """Who a broker login belongs to."""

    SERVICE = "service"  # ingest, alerts: may read every gateway's subtree and write acks/commands
    GATEWAY = "gateway"  # may touch only anxin/v1/<its own id>/…


Verify = Callable[[str, str], Awaitable[Principal | None]]


class RegistryAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Authenticates every client through the injected ``verify``; refuses anonymous clients."""

    @dataclass
    class Config:
        """``verify(username, password)`` returns the principal kind, or None to refuse."""

        verify: Any = None

    async def authenticate(self, *, session: Session) -> bool | None:
        """True for a known principal; False otherwise (anonymous included)."""
        verify: Verify | None = self.config.verify
        if verify is None or not session.username or session.password is None:
            return False
        password = session.password
        if isinstance(password, bytes):
            password = password.decode(errors="replace")
        principal = await verify(session.username, password)
        if principal is None:
            log.warning("broker_login_refused username=%s", session.username)
            return False
        if principal is Principal.GATEWAY and session.client_id != session.username:
            log.warning(
                "broker_client_id_mismatch username=%s client_id=%s",
                session.username,
                session.client_id,
            )
            return False
        return True


class GatewayTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """A gateway login may publish and subscribe only within ``anxin/v1/<its id>/``."""

    @dataclass
    class Config:
        """Usernames of the platform's own services, which see every subtree."""

        service_users: list[str] | None = None

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        """Allow services everything, gateways their own subtree only."""
        if session is None or topic is None:
            return False
        if session.username in (self.config.service_users or []):
            return True
        own = f"{ROOT}/{session.username}/"
        allowed = topic.startswith(own) and "#" not in topic[len(own) - 1 :] and "+" not in topic
        if not allowed:
            log.warning(
                "broker_topic_refused username=%s topic=%s action=%s",
                session.username,
                topic,
                action,
            )
        return allowed


def broker_config(host: str, port: int, verify: Verify, service_users: list[str]) -> dict[str, Any]:
    """amqtt configuration: one TCP listener, registry-checked logins, per-gateway topics."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 0}},
        "session_expiry_interval": SESSION_EXPIRY_S,
        "plugins": {
            f"{__name__}.RegistryAuthPlugin": {"verify": verify},
            f"{__name__}.GatewayTopicPlugin": {"service_users": service_users},
        },
    }


class _Broker(Broker):  # type: ignore[misc]
    """amqtt's broker with two defects fixed (amqtt 0.12.x; see docs/architecture.md).

    1. amqtt iterates its live subscription dict while awaiting topic-filter plugins; a client
       that subscribes meanwhile makes the iteration raise and that one message is silently not
       delivered. Iterating over a snapshot keeps every delivery; the loop body is amqtt's own.
    2. On every connect amqtt replays retained messages matching *every client's* subscriptions
       to the connecting client (a gateway would see the others' status), awaiting inside a loop
       over the live dict. Retained messages now go only to the session that owns the filter,
       and are scheduled without suspending that loop.
    """

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Any
    ) -> None:
        topic_filter, qos = subscription
        owners = self._subscriptions.get(topic_filter, ())
        if not any(s.client_id == session.client_id for s, _ in owners):
            return
        handler = self._get_handler(session)
        if handler is None:
            return
        for retained_topic, retained in list(self._retained_messages.items()):
            if self._matches(retained_topic, topic_filter):
                self._tasks_queue.append(
                    asyncio.ensure_future(
                        handler.mqtt_publish(
                            retained.topic,
                            retained.data,
                            min(qos, retained.qos or qos),
                            retain=True,
                        )
                    )
                )

    async def _run_broadcast(self, running_tasks: deque[asyncio.Task[Any]]) -> None:
        broadcast = await self._broadcast_queue.get()
        for k_filter, subscriptions in list(self._subscriptions.items()):
            if not self._matches(broadcast["topic"], k_filter):
                continue
            for target_session, sub_qos in list(subscriptions):
                qos = broadcast.get("qos", sub_qos)
                sendable = await self._topic_filtering(
                    target_session, topic=broadcast["topic"], action=Action.RECEIVE
                )
                if not sendable:
                    continue
                connected = target_session.transitions.state == "connected"
                if (
                    not connected
                    and not target_session.clean_session
                    and qos in (QOS_1, QOS_2)
                    and not target_session.is_anonymous
                ):
                    await self._retain_broadcast_message(broadcast, qos, target_session)
                    continue
                if not connected:
                    continue
                handler = self._get_handler(target_session)
                if handler:
                    task = asyncio.ensure_future(
                        handler.mqtt_publish(
                            broadcast["topic"], broadcast["data"], qos, retain=False
                        )
                    )
                    running_tasks.append(task)


@asynccontextmanager
async def embedded_broker(
    host: str, port: int, verify: Verify, service_users: list[str]
) -> AsyncIterator[Broker]:
    """Run an amqtt broker for the lifetime of the context."""
    broker = _Broker(broker_config(host, port, verify, service_users))
    await broker.start()
    log.info("broker_started host=%s port=%d", host, port)
    try:
        yield broker
    finally:
        await broker.shutdown()
        log.info("broker_stopped")
