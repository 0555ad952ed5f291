"""The alert engine: urgent events straight from MQTT to alerts, never via the time-series store."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from datetime import UTC

import aiomqtt
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlertError
from alerts.service import AlertService
from devices.clock import Clock
from devices.codec import decode_uplink
from devices.errors import DecodeError
from devices.payloads import EventMessage
from devices.topics import Channel, subscription
from devices.values import Event
from ingest.backoff import Backoff
from ingest.broker_problems import check_granted
from ingest.reconnect import raise_if_cancelling, stay_connected

log = logging.getLogger(__name__)

CLIENT_ID = "anxin-alerts"
QOS = 1
KEEPALIVE_S = 30  # the broker notices a dead engine within 1.5 keepalives
RETRY_INITIAL_S = 0.2  # alert database unavailable: the event stays un-PUBACKed meanwhile
RETRY_CAP_S = 10.0


class AlertEngine:
    """Subscribes to every gateway's events (QoS 1, persistent session) and raises alerts.

    An event is PUBACKed only after its alert is committed, so a crash or a database outage
    leaves it queued at the broker and it is redelivered (and deduplicated by its event id).
    """

    def __init__(
        self,
        service: AlertService,
        sessions: async_sessionmaker[AsyncSession],
        broker_host: str,
        broker_port: int,
        clock: Clock,
        username: str | None = None,
        password: str | None = None,
        client_id: str = CLIENT_ID,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._host = broker_host
        self._port = broker_port
        self._clock = clock
        self._username = username
        self._password = password
        self._tls_context = tls_context
        self._client_id = client_id
        self.ready = asyncio.Event()
        self.handled = 0  # events turned into (or attached to) an alert or knowingly ignored

    async def run(self) -> None:
        """Consume events until cancelled, reconnecting with capped, jittered backoff.

        A broker that refuses this login means no fall is alerted until someone fixes it: every
        attempt says why, at ERROR (``alerts_broker_refused``, ``ingest.reconnect``).
        """
        await stay_connected(
            "alerts", self._session, self.ready,
            broker=f"{self._host}:{self._port}", username=self._username,
        )  # fmt: skip

    def _client(self) -> aiomqtt.Client:
        client = aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            tls_context=self._tls_context,
            identifier=self._client_id,
            clean_session=False,  # events published while we are away wait for us at the broker
            keepalive=KEEPALIVE_S,
            # Nagle's algorithm costs ~50 ms per QoS 1 round trip (DESIGN.md)
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        # PUBACK only once the alert is committed: aiomqtt has no option, so reach paho's client
        client._client.manual_ack_set(True)
        return client

    async def _session(self, backoff: Backoff) -> None:
        async with self._client() as client:
            events = subscription(Channel.EVENTS)
            check_granted(await client.subscribe(events, qos=QOS), [events])
            await self._check_database()
            raise_if_cancelling()  # a stop during the set-up must not be lost (ingest.reconnect)
            backoff.reset()
            self.ready.set()
            log.info(
                "alerts_subscribed broker=%s:%d client_id=%s",
                self._host,
                self._port,
                self._client_id,
            )
            async for message in client.messages:
                await self._handle(message)
                client._client.ack(message.mid, message.qos)
                self.handled += 1

    async def _check_database(self) -> None:
        """Wait until the alert database answers; ready means both broker and database work."""
        retry = Backoff(RETRY_INITIAL_S, RETRY_CAP_S)
        while True:
            try:
                async with self._sessions() as session:
                    await session.execute(text("SELECT 1"))
                return
            except SQLAlchemyError as err:
                delay = retry.next_delay()
                log.warning("alerts_database_unavailable error=%r retry_s=%.2f", err, delay)
                await asyncio.sleep(delay)

    async def _handle(self, message: aiomqtt.Message) -> None:
        payload = message.payload
        if not isinstance(payload, bytes | bytearray):
            log.warning("alerts_event_rejected topic=%s reason=payload_type", message.topic)
            return
        try:
            gateway_id, decoded = decode_uplink(str(message.topic), bytes(payload))
        except DecodeError as err:
            # ingest quarantines the same message with its reason; here we only skip it
            log.warning(
                "alerts_event_rejected topic=%s reason=%s detail=%s",
                message.topic,
                err.reason,
                err.detail,
            )
            return
        if not isinstance(decoded, EventMessage):
            return
        event = Event(
            event_id=decoded.id,
            gateway=gateway_id,
            device=decoded.dev,
            kind=decoded.kind.value,
            time=decoded.t.astimezone(UTC),
            received_at=self._clock.now(),
            data=dict(decoded.data),
        )
        await self._raise(event)

    async def _raise(self, event: Event) -> None:
        retry = Backoff(RETRY_INITIAL_S, RETRY_CAP_S)
        while True:
            try:
                view = await self._service.raise_from_event(event)
            except AlertError as err:  # store outage or lost races: the event waits unacked
                delay = retry.next_delay()
                log.warning(
                    "alerts_raise_retry event_id=%s error=%r retry_s=%.2f",
                    event.event_id,
                    err,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            log.info(
                "alerts_event_handled event_id=%s gateway=%s kind=%s alert_id=%s",
                event.event_id,
                event.gateway,
                event.kind,
                view.id if view else None,
            )
            return
