"""The cloud consumer: MQTT in, validate, quarantine, de-duplicate, batch, store, ack back.

Acknowledgement is two-level. The application ack (``anxin/v1/{gw}/ack``) tells the gateway it
may delete messages from its outbox; it is published only after the store write returned. The
MQTT PUBACK to the broker is sent (paho manual ack) only once a message has been fully handled,
so the broker's in-flight window is the backpressure on this consumer, and a message taken in
but not yet stored when ingest dies is redelivered by the broker from the persistent session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.clock import Clock
from devices.codec import encode
from devices.errors import DecodeError
from devices.payloads import AckMessage, EventMessage, ReadingsMessage, StatusMessage
from devices.topics import UPLINK, Channel, subscription, topic
from devices.values import Reading
from ingest.backoff import Backoff
from ingest.batcher import next_batch
from ingest.broker_problems import check_granted
from ingest.decoding import decode
from ingest.dedupe import MessageId, SeenMessages
from ingest.errors import StoreError
from ingest.line_protocol import reading_lines
from ingest.metrics import IngestMetrics
from ingest.quarantine import Quarantine, QuarantinedMessage, RejectReason, quarantined
from ingest.reconnect import raise_if_cancelling, stay_connected
from ingest.skew import SkewHook, SkewTracker, judge, refused_items, suspicious
from ingest.store import ReadingLineWriter, ReadingStore
from ingest.validation import split_readings, to_event
from ingest.wire_readings import WireReadings, decode_readings, encode_lines

log = logging.getLogger(__name__)

T = TypeVar("T")

QOS = 1
KEEPALIVE_S = 30  # the broker notices a dead ingest within 1.5 x this
STORE_RETRY_INITIAL_S = 0.1
STORE_RETRY_CAP_S = 10.0  # the gateway holds the data meanwhile; retry steadily, not wildly
SESSION_EXPIRY_S = 7 * 24 * 3600  # MQTT 5: the broker keeps our session through a week's outage


@dataclass(slots=True)
class IngestStats:
    """Counters for the live status line (messages, except ``written``, which counts points)."""

    received: int = 0  # uplink messages taken from the broker
    written: int = 0  # readings and events written to the store
    rejected: int = 0  # messages or single readings put in quarantine
    duplicates: int = 0  # messages recognised as already stored (re-acked, not re-written)
    acked: int = 0  # message sequence numbers acknowledged to gateways
    store_failures: int = 0  # store or quarantine writes that failed and were retried


@dataclass(frozen=True, slots=True)
class _Pending:
    """A readings message taken in and waiting for its batch to be written.

    A store that takes line protocol gets ``lines`` (the hot path), any other ``readings``.
    """

    key: MessageId
    mid: int
    qos: int
    readings: tuple[Reading, ...]
    lines: list[str]
    sent_at: datetime

    @property
    def count(self) -> int:
        """How many readings the message brings to the store."""
        return len(self.lines) + len(self.readings)


class Ingest:
    """Consumes gateways' uplink from the broker into a ReadingStore and acknowledges it."""

    def __init__(
        self,
        broker_host: str,
        broker_port: int,
        store: ReadingStore,
        quarantine: Quarantine,
        clock: Clock,
        is_known_gateway: Callable[[str], Awaitable[bool]],
        *,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        client_id: str = "anxin-ingest",
        batch_max_readings: int = 5_000,
        batch_max_age_s: float = 0.05,
        queue_max_messages: int = 1_000,
        dedupe_capacity: int = 100_000,
        protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V311,
        shared_group: str | None = None,
        receive_maximum: int = 200,
        metrics: IngestMetrics | None = None,
        on_clock_skew: SkewHook | None = None,
    ) -> None:
        """Set up; nothing connects before ``run``.

        ``shared_group`` (MQTT 5 only) subscribes as ``$share/<group>/…`` so that the processes
        of one group split the gateways' messages; ``receive_maximum`` (MQTT 5) bounds the
        unacknowledged messages the broker sends us. With ``tls_context``, MQTT runs over TLS
        (the context decides which CA is trusted and that the host name is checked).
        ``on_clock_skew(gateway, offset_s)`` is called when a gateway's clock is found more
        than 5 s off (``ingest.skew``).
        """
        if shared_group is not None and protocol != aiomqtt.ProtocolVersion.V5:
            raise ValueError("shared subscriptions need protocol=ProtocolVersion.V5")
        self._host = broker_host
        self._port = broker_port
        self._store = store
        # the hot path: decode with msgspec and write line protocol, no Reading per sample
        self._line_writer = store if isinstance(store, ReadingLineWriter) else None
        self._quarantine = quarantine
        self._clock = clock
        self._is_known_gateway = is_known_gateway
        self._username = username
        self._password = password
        self._tls_context = tls_context
        self._client_id = client_id
        self._batch_max_readings = batch_max_readings
        self._batch_max_age_s = batch_max_age_s
        self._queue_max_messages = queue_max_messages
        self._seen = SeenMessages(dedupe_capacity)
        self._protocol = protocol
        self._shared_group = shared_group
        self._receive_maximum = receive_maximum
        self.metrics = metrics if metrics is not None else IngestMetrics()
        self._stats = IngestStats()
        self._status: dict[str, StatusMessage] = {}
        self._skew = SkewTracker()
        self._on_clock_skew = on_clock_skew
        self.ready = asyncio.Event()

    @property
    def stats(self) -> IngestStats:
        """A snapshot of the counters."""
        return dataclasses.replace(self._stats)

    @property
    def gateway_status(self) -> dict[str, StatusMessage]:
        """The latest status message of each gateway seen (a copy)."""
        return dict(self._status)

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with capped, jittered backoff."""
        await stay_connected(
            "ingest", self._session, self.ready,
            broker=f"{self._host}:{self._port}", username=self._username,
        )  # fmt: skip

    def _client(self) -> aiomqtt.Client:
        # the broker keeps our subscription and queues while we are away
        session: dict[str, object]
        if self._protocol == aiomqtt.ProtocolVersion.V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
            properties.ReceiveMaximum = self._receive_maximum
            session = {"clean_start": False, "properties": properties}
        else:
            session = {"clean_session": False}
        client = aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            tls_context=self._tls_context,
            identifier=self._client_id,
            protocol=self._protocol,
            keepalive=KEEPALIVE_S,
            # Nagle's algorithm costs ~50 ms per QoS 1 round trip (DESIGN.md)
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            **session,  # type: ignore[arg-type]
        )
        # PUBACK only after handling: aiomqtt exposes no option, so reach paho's client
        client._client.manual_ack_set(True)
        return client

    async def _session(self, backoff: Backoff) -> None:
        async with self._client() as client:
            prefix = f"$share/{self._shared_group}/" if self._shared_group else ""
            filters = [prefix + subscription(channel) for channel in UPLINK]
            check_granted(await client.subscribe([(f, QOS) for f in filters]), filters)
            raise_if_cancelling()  # a stop during the set-up must not be lost (ingest.reconnect)
            backoff.reset()
            self.ready.set()
            log.info(
                "ingest_subscribed broker=%s:%d tls=%s username=%s client_id=%s",
                self._host,
                self._port,
                "on" if self._tls_context is not None else "off",
                self._username,
                self._client_id,
            )
            # per session: mids of a lost connection mean nothing on the next one, and what was
            # queued but not PUBACKed is redelivered by the broker
            queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=self._queue_max_messages)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._write_loop(client, queue), name="ingest-writer")
                async for message in client.messages:
                    await self._handle(client, message, queue)

    async def _handle(
        self, client: aiomqtt.Client, message: aiomqtt.Message, queue: asyncio.Queue[_Pending]
    ) -> None:
        self._stats.received += 1
        self.metrics.received.inc()
        now = self._clock.now()
        name = message.topic.value
        payload = message.payload if isinstance(message.payload, bytes) else b""
        fast = decode_readings(name, payload) if self._line_writer is not None else None
        decoded: WireReadings | ReadingsMessage | EventMessage | StatusMessage
        if fast is not None:
            gateway, decoded = fast.gw, fast
        else:
            try:
                gateway, decoded = decode(name, payload)
            except DecodeError as err:
                await self._reject([quarantined(err.reason, name, payload, now, err.detail)])
                _puback(client, message.mid, message.qos)
                return
        if isinstance(decoded, StatusMessage):
            self._status[gateway] = decoded
            log.debug("gateway_status gw=%s state=%s", gateway, decoded.state.value)
            if not message.retain:  # a retained status may be hours old: not a live clock
                self._observe_clock(gateway, decoded, now)
            _puback(client, message.mid, message.qos)
            return
        if not await self._is_known_gateway(gateway):
            # not acked: the gateway keeps its data until it is registered
            item = quarantined(RejectReason.UNKNOWN_GATEWAY, name, payload, now, f"gw={gateway}")
            await self._reject([item])
            _puback(client, message.mid, message.qos)
            return
        key: MessageId = (gateway, decoded.boot, decoded.seq)
        if self._seen.seen(key):
            self._stats.duplicates += 1
            self.metrics.duplicates.inc()
            await self._publish_acks(client, [key])  # the first ack may have been lost
            _puback(client, message.mid, message.qos)
            return
        if isinstance(decoded, EventMessage):
            await self._handle_event(client, decoded, key, now, message)
            return
        pending = await self._take_readings(name, payload, decoded, key, message, now)
        # backpressure: when the writer is behind, stop taking messages from the broker
        await queue.put(pending)
        self.metrics.queue_depth.set(queue.qsize())

    async def _take_readings(
        self,
        name: str,
        payload: bytes,
        decoded: WireReadings | ReadingsMessage,
        key: MessageId,
        message: aiomqtt.Message,
        now: datetime,
    ) -> _Pending:
        """The message's accepted readings ready to write; the others quarantined."""
        offset = self._skew.offset(key[0], key[1])
        times = [r.t for r in decoded.readings]
        clock_care = offset.skewed or suspicious(times, decoded.sent_at, now)
        if isinstance(decoded, WireReadings):
            lines = None if clock_care else encode_lines(decoded, now)
            if lines is not None:
                return _Pending(key, message.mid, message.qos, (), lines, decoded.sent_at)
            # a reading the catalog refuses: the codec's path names it, reading by reading
            _, slow = decode(name, payload)
            assert isinstance(slow, ReadingsMessage)
            decoded = slow
        good, bad = split_readings(name, decoded, now)
        if clock_care:
            judged = judge(good, offset, decoded.sent_at, now)
            good, bad = judged.keep, [*bad, *refused_items(name, judged, now)]
        if bad:
            await self._reject(bad)
        if self._line_writer is not None:
            return _Pending(key, message.mid, message.qos, (), reading_lines(good), decoded.sent_at)
        return _Pending(key, message.mid, message.qos, tuple(good), [], decoded.sent_at)

    def _observe_clock(self, gateway: str, status: StatusMessage, now: datetime) -> None:
        """Take a live heartbeat as a clock observation; raise the hook on a new skew."""
        offset = self._skew.observe(gateway, status.boot, status.t, now)
        if self._skew.to_flag(offset):
            log.warning(
                "clock_skew gw=%s boot=%s offset_s=%.1f", gateway, status.boot, offset.offset_s
            )
            if self._on_clock_skew is not None:
                self._on_clock_skew(gateway, offset.offset_s)

    async def _handle_event(
        self,
        client: aiomqtt.Client,
        decoded: EventMessage,
        key: MessageId,
        now: datetime,
        message: aiomqtt.Message,
    ) -> None:
        event = to_event(decoded, now)
        await self._retrying("events", self._store.write_events, [event])
        self._stats.written += 1
        self.metrics.written.inc()
        self._seen.add(key)
        log.info("event_stored gw=%s kind=%s id=%s", event.gateway, event.kind, event.event_id)
        await self._publish_acks(client, [key])
        _puback(client, message.mid, message.qos)

    async def _write_loop(self, client: aiomqtt.Client, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            batch = await next_batch(
                queue,
                lambda p: max(1, p.count),
                self._batch_max_readings,
                self._batch_max_age_s,
            )
            written = await self._write_batch(batch)
            self._stats.written += written
            self.metrics.written.inc(written)
            self.metrics.queue_depth.set(queue.qsize())
            self.metrics.lag.set((self._clock.now() - batch[-1].sent_at).total_seconds())
            for pending in batch:
                self._seen.add(pending.key)
            log.debug("batch_stored messages=%d readings=%d", len(batch), written)
            await self._publish_acks(client, [p.key for p in batch])
            for pending in batch:
                _puback(client, pending.mid, pending.qos)

    async def _write_batch(self, batch: Sequence[_Pending]) -> int:
        """Write the readings of a batch until the store has them; how many there were."""
        if self._line_writer is not None:
            lines = [line for pending in batch for line in pending.lines]
            if lines:
                await self._retrying("readings", self._line_writer.write_reading_lines, lines)
            return len(lines)
        readings = [r for pending in batch for r in pending.readings]
        if readings:
            await self._retrying("readings", self._store.write_readings, readings)
        return len(readings)

    async def _publish_acks(self, client: aiomqtt.Client, keys: Sequence[MessageId]) -> None:
        """One AckMessage per (gateway, boot), published concurrently at QoS 1."""
        seqs: dict[tuple[str, str], list[int]] = {}
        for gateway, boot, seq in keys:
            seqs.setdefault((gateway, boot), []).append(seq)
        now = self._clock.now()
        async with asyncio.TaskGroup() as tg:
            for (gateway, boot), numbers in seqs.items():
                ack = AckMessage(boot=boot, seqs=numbers, t=now)
                tg.create_task(client.publish(topic(gateway, Channel.ACK), encode(ack), qos=QOS))
        self._stats.acked += len(keys)
        self.metrics.acked.inc(len(keys))

    async def _reject(self, items: Sequence[QuarantinedMessage]) -> None:
        await self._retrying("quarantine", self._quarantine.put_many, items)
        self._stats.rejected += len(items)
        for item in items:
            self.metrics.rejected.labels(item.reason).inc()
            log.info(
                "quarantined reason=%s topic=%s detail=%s", item.reason, item.topic, item.detail
            )

    async def _retrying(
        self, what: str, write: Callable[[Sequence[T]], Awaitable[None]], items: Sequence[T]
    ) -> None:
        """Write until it succeeds; nothing is acked meanwhile, so the gateway keeps its data."""
        backoff = Backoff(STORE_RETRY_INITIAL_S, STORE_RETRY_CAP_S)
        while True:
            try:
                await write(items)
            except StoreError as err:
                self._stats.store_failures += 1
                self.metrics.retried.inc()
                delay = backoff.next_delay()
                log.warning(
                    "store_write_failed what=%s count=%d error=%r retry_in_s=%.2f",
                    what,
                    len(items),
                    err,
                    delay,
                )
                await asyncio.sleep(delay)
            else:
                return


def _puback(client: aiomqtt.Client, mid: int, qos: int) -> None:
    """Send the MQTT PUBACK of a handled message (no-op for QoS 0)."""
    client._client.ack(mid, qos)
