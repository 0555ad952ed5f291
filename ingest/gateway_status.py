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

import aiomqtt

from devices.codec import decode_uplink
from devices.errors import DecodeError
from devices.payloads import StatusMessage
from devices.topics import Channel, parse_topic, subscription
from ingest.backoff import Backoff
from ingest.broker_problems import broker_problem, check_granted

log = logging.getLogger(__name__)

STATUS_QOS = 1
RECONNECT_INITIAL_S = 0.2
RECONNECT_CAP_S = 30.0


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
        backoff = Backoff(RECONNECT_INITIAL_S, RECONNECT_CAP_S)
        statuses = subscription(Channel.STATUS)
        while True:
            problem: str | None = None
            try:
                async with aiomqtt.Client(
                    self._host,
                    self._port,
                    identifier=self._client_id,
                    username=self._username,
                    password=self._password,
                    tls_context=self._tls_context,
                ) as client:
                    # the retained statuses arrive on subscribe: the map starts from the present
                    check_granted(await client.subscribe(statuses, qos=STATUS_QOS), [statuses])
                    backoff.reset()
                    self.ready.set()
                    log.info(
                        "gateway_status_subscribed broker=%s:%d tls=%s username=%s",
                        self._host,
                        self._port,
                        "on" if self._tls_context is not None else "off",
                        self._username,
                    )
                    async for message in client.messages:
                        self._take(str(message.topic), message.payload)
            except aiomqtt.MqttError as err:
                problem = broker_problem(err, established=self.ready.is_set())
                if problem is None:
                    log.warning("gateway_status_disconnected error=%r", err)
            finally:
                self.ready.clear()
            delay = backoff.next_delay()
            if problem is not None:
                log.error(
                    "gateway_status_broker_refused broker=%s:%d username=%s problem=%s "
                    "retry_in_s=%.2f",
                    self._host,
                    self._port,
                    self._username,
                    problem,
                    delay,
                )
            await asyncio.sleep(delay)

    def _take(self, topic_name: str, payload: object) -> None:
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
