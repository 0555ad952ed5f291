"""Each gateway's latest status, from the retained ``anxin/v1/+/status`` messages on the broker.

The same view ingest keeps (``Ingest.gateway_status``), for a process that does not consume the
uplink: the dashboard of a split deployment shows installers whether a gateway is online. The
broker keeps each gateway's last status retained (its heartbeat, or its last will ``offline``),
so a fresh subscription starts from the present; no session is kept on the broker.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable

import aiomqtt

from devices.codec import decode_uplink
from devices.errors import DecodeError
from devices.payloads import StatusMessage
from devices.topics import Channel, parse_topic, subscription
from ingest.backoff import Backoff
from ingest.broker_problems import check_granted
from ingest.reconnect import raise_if_cancelling, stay_connected

log = logging.getLogger(__name__)

STATUS_QOS = 1


class GatewayStatusWatch:
    """Follows every gateway's retained status; ``statuses()`` is the latest of each."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        client_prefix: str = "anxin-status",
    ) -> None:
        self._host, self._port = host, port
        self._username, self._password = username, password
        self._tls_context = tls_context
        # one per process: several dashboard processes must not take over each other's session
        self._client_id = f"{client_prefix}-{uuid.uuid4().hex[:12]}"
        self._status: dict[str, StatusMessage] = {}
        self.ready = asyncio.Event()  # set while subscribed

    def statuses(self) -> dict[str, StatusMessage]:
        """The latest status message of each gateway seen (a copy)."""
        return dict(self._status)

    async def run(self) -> None:
        """Follow until cancelled, reconnecting with capped, jittered backoff."""
        await follow_statuses(
            "gateway_status", self._host, self._port, self._client_id, self._take, self.ready,
            username=self._username, password=self._password, tls_context=self._tls_context,
        )  # fmt: skip

    async def _take(self, topic_name: str, payload: object) -> None:
        if not isinstance(payload, bytes):
            return
        try:
            if not payload:  # the retained status was cleared: the gateway is not there any more
                self._status.pop(parse_topic(topic_name).gateway_id, None)
                return
            gateway, status = decode_uplink(topic_name, payload)
        except DecodeError as err:
            log.warning("gateway_status_bad_message topic=%s reason=%s", topic_name, err.reason)
            return
        if isinstance(status, StatusMessage):
            before = self._status.get(gateway)
            self._status[gateway] = status
            if before is None or before.state is not status.state:
                log.info("gateway_status_changed gw=%s state=%s", gateway, status.state.value)


async def follow_statuses(
    name: str,
    host: str,
    port: int,
    client_id: str,
    take: Callable[[str, object], Awaitable[None]],
    ready: asyncio.Event,
    *,
    username: str | None = None,
    password: str | None = None,
    tls_context: ssl.SSLContext | None = None,
) -> None:
    """Hand every message on ``anxin/v1/+/status`` to ``take(topic, payload)`` until cancelled.

    The retained statuses arrive on subscribe, so a follower starts from the present. ``ready``
    is set while subscribed. A broker that is away is a WARNING ``{name}_disconnected``; one that
    refuses us (login, TLS, a refused subscription: ``ingest.broker_problems``) an ERROR
    ``{name}_broker_refused`` at every retry. Reconnects with capped, jittered backoff.
    """
    statuses = subscription(Channel.STATUS)

    async def session(backoff: Backoff) -> None:
        async with aiomqtt.Client(
            host, port, identifier=client_id,
            username=username, password=password, tls_context=tls_context,
        ) as client:  # fmt: skip
            check_granted(await client.subscribe(statuses, qos=STATUS_QOS), [statuses])
            raise_if_cancelling()  # a stop during the set-up must not be lost (ingest.reconnect)
            backoff.reset()
            ready.set()
            log.info(
                "%s_subscribed broker=%s:%d tls=%s username=%s",
                name, host, port, "on" if tls_context is not None else "off", username,
            )  # fmt: skip
            async for message in client.messages:
                await take(str(message.topic), message.payload)

    await stay_connected(name, session, ready, broker=f"{host}:{port}", username=username)
