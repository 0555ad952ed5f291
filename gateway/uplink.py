"""The gateway's MQTT link (paho-mqtt 2.x): status and last will, sending the outbox, taking acks.

paho runs its network loop in its own thread (``loop_start``); its callbacks hand what they get to
the asyncio loop with ``call_soon_threadsafe``, so many gateways can share one event loop.

Delivery: outbox items go out at QoS 1 (events on ``events``, readings on ``readings``). Two
lanes: pending events are sent first and never wait for a window slot (up to ``URGENT_WINDOW``
in flight of their own), readings at most ``window`` unacknowledged at a time — so a live fall
overtakes a backlog that is draining at full speed. An item leaves the outbox only when an ``AckMessage`` names
its (boot, seq) — a broker PUBACK only means the broker has it. Items not acked within
``ack_timeout_s`` (real seconds: a network matter) are sent again, and after every reconnect
everything still in the outbox is sent again; ingest recognises the duplicates. Payloads are
stored encoded, so ``sent_at`` is the time the item was put in the outbox, not of the (re)send;
an event's ``t`` is when it happened, so ingest reads its delay as receive time minus ``t``.

Link: TLS with server verification when a CA is given (client certificate optional); MQTT 5
with a session expiry (the broker keeps acks and commands for us through an outage), falling
back to 3.1.1 for good when a broker answers "unsupported protocol version"; reconnects with
capped, jittered backoff (``gateway.backoff``) instead of paho's lock-step doubling. The
heartbeat carries outbox depth, uptime and the clock offset measured from ingest's acks.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.clock import Clock
from devices.codec import decode_as, encode
from devices.errors import DecodeError
from devices.payloads import AckMessage, CommandMessage, GatewayState, StatusMessage
from devices.topics import Channel, topic
from gateway.backoff import Backoff
from gateway.outbox import Lane, Outbox, OutboxItem

log = logging.getLogger(__name__)

WINDOW = 64  # unacked readings messages in flight; ingest acks in batches: keeps the pipe full
URGENT_WINDOW = 256  # unacked events in flight, on top of the readings window
SESSION_EXPIRY_S = 7 * 24 * 3600  # MQTT 5: the broker keeps our acks/commands through a week
CONNACK_TIMEOUT_S = 10.0  # a broker silent this long after our CONNECT does not speak it
OFFSET_SAMPLES = 16  # acks whose clock offsets are kept; the heartbeat reports their median
ACK_TIMEOUT_S = 15.0  # resend an item not acked in this long (ingest batches for ~1 s at most)
HEARTBEAT_S = 30.0  # status heartbeat; the platform calls a gateway offline after 2 missed
KEEPALIVE_S = 30  # MQTT keepalive: the broker fires the last will within 1.5x this of a dead link
SHUTDOWN_PUBLISH_S = 2.0  # how long a clean stop waits for the broker to take the offline status
INBOX_MAX = 10_000  # acks waiting to be applied; beyond this they are dropped (counted, logged)
COMMANDS_MAX = 100  # commands waiting for the agent


@dataclass
class UplinkStats:
    """Counters of one uplink."""

    connects: int = 0
    sent: int = 0
    resent: int = 0
    acked: int = 0
    bad_downlink: int = 0
    refused: int = 0
    dropped_acks: int = 0
    dropped_commands: int = 0


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where and as whom to connect."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None  # TLS with server verification against this CA when set
    cert_file: Path | None = None  # optional client certificate (and its key)
    key_file: Path | None = None
    protocol: Literal["auto", "5", "3.1.1"] = "auto"  # auto: MQTT 5, else 3.1.1 for good

    def tls_context(self) -> ssl.SSLContext | None:
        """A client TLS context that verifies the broker's certificate and host name, or None."""
        if self.ca_file is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file is not None:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        return ctx


class Uplink:
    """One gateway's MQTT connection, run as an asyncio task until cancelled."""

    def __init__(
        self,
        gateway_id: str,
        broker: BrokerAddress,
        outbox: Outbox,
        clock: Clock,
        *,
        window: int = WINDOW,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        heartbeat_s: float = HEARTBEAT_S,
        keepalive_s: int = KEEPALIVE_S,
        backoff: Backoff | None = None,
        connack_timeout_s: float = CONNACK_TIMEOUT_S,
    ) -> None:
        self.gateway_id = gateway_id
        self.broker = broker
        self.outbox = outbox
        self.clock = clock
        self.window = window
        self.ack_timeout_s = ack_timeout_s
        self.heartbeat_s = heartbeat_s
        self.keepalive_s = keepalive_s
        self.backoff = backoff or Backoff()
        self.connack_timeout_s = connack_timeout_s
        self.stats = UplinkStats()
        self.connected = asyncio.Event()
        self.commands: asyncio.Queue[CommandMessage] = asyncio.Queue(COMMANDS_MAX)
        self._acks: asyncio.Queue[AckMessage] = asyncio.Queue(INBOX_MAX)
        self._wake = asyncio.Event()
        self._inflight: dict[tuple[str, int], tuple[OutboxItem, float]] = {}
        self._started = clock.now()
        self._offsets: deque[float] = deque(maxlen=OFFSET_SAMPLES)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.protocol: Literal["5", "3.1.1"] = "3.1.1" if broker.protocol == "3.1.1" else "5"
        self._fallback = asyncio.Event()
        self.next_delay_s = 0.0
        self._acked_once = False  # a CONNACK (even a refusal) came back on this client
        self._attempt = 0  # TCP connections opened by the current client
        self._unanswered: set[int] = set()  # of those, the ones that never saw a CONNACK
        self._client = self._new_client()

    def _new_client(self) -> mqtt.Client:
        v5 = self.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.gateway_id,
            clean_session=None if v5 else True,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        tls = self.broker.tls_context()
        if tls is not None:
            client.tls_set_context(tls)
        client.will_set(
            self.status_topic, self._status(GatewayState.OFFLINE, 0), qos=1, retain=True
        )
        client.max_inflight_messages_set(self.window + URGENT_WINDOW + 2)  # + status messages
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_socket_open = self._on_socket_open
        client.on_message = self._on_message
        self._set_delay(client)
        return client

    def _connect(self, client: mqtt.Client) -> None:
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            client.connect_async(
                self.broker.host,
                self.broker.port,
                self.keepalive_s,
                clean_start=False,
                properties=props,
            )
        else:
            client.connect_async(self.broker.host, self.broker.port, self.keepalive_s)
        client.loop_start()

    def _set_delay(self, client: mqtt.Client) -> None:
        """Make paho's next reconnect wait our jittered delay (it waits min_delay first)."""
        delay = self.next_delay_s = self.backoff.next_delay()
        client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]

    @property
    def clock_offset_s(self) -> float | None:
        """Our clock minus ingest's, the median over recent acks (None before the first ack)."""
        return statistics.median(self._offsets) if self._offsets else None

    @property
    def status_topic(self) -> str:
        """Where this gateway's retained status lives."""
        return topic(self.gateway_id, Channel.STATUS)

    def notify(self) -> None:
        """New items are in the outbox: send them."""
        self._wake.set()

    def inflight(self) -> int:
        """How many items have been sent and wait for an ack."""
        return len(self._inflight)

    def drop_connection(self) -> None:
        """Cut the TCP connection without an MQTT DISCONNECT, as a network fault would (tests, drills)."""
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)

    async def run(self) -> None:
        """Connect (and reconnect) and move the outbox to the broker until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._connect(self._client)
        log.info(
            "uplink.start gw=%s boot=%s broker=%s:%d tls=%s protocol=%s",
            self.gateway_id,
            self.outbox.boot,
            self.broker.host,
            self.broker.port,
            self.broker.ca_file is not None,
            self.protocol,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._send_loop(), name=f"uplink-send-{self.gateway_id}")
                tg.create_task(self._ack_loop(), name=f"uplink-acks-{self.gateway_id}")
                tg.create_task(self._heartbeat_loop(), name=f"uplink-heartbeat-{self.gateway_id}")
                tg.create_task(self._fallback_loop(), name=f"uplink-fallback-{self.gateway_id}")
        finally:
            await asyncio.to_thread(self._stop)

    def _status(self, state: GatewayState, depth: int) -> bytes:
        now = self.clock.now()
        return encode(
            StatusMessage(
                gw=self.gateway_id,
                boot=self.outbox.boot,
                state=state,
                t=now,
                outbox_depth=depth,
                uptime_s=max((now - self._started).total_seconds(), 0.0),
                clock_offset_s=self.clock_offset_s,
            )
        )

    def _stop(self) -> None:
        """Say offline (a clean disconnect does not fire the will), disconnect, stop paho."""
        client = self._client
        if client.is_connected():
            info = client.publish(
                self.status_topic,
                self._status(GatewayState.OFFLINE, self.outbox.depth()),
                qos=1,
                retain=True,
            )
            try:
                info.wait_for_publish(SHUTDOWN_PUBLISH_S)
            except (RuntimeError, ValueError) as err:
                log.warning("uplink.offline_not_sent gw=%s error=%s", self.gateway_id, err)
        _halt(client)
        log.info("uplink.stop gw=%s stats=%s", self.gateway_id, self.stats)

    # -- paho thread -------------------------------------------------------------------------

    def _post(self, callback: Any, *args: Any) -> None:
        """Run ``callback(*args)`` on the asyncio loop."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop has closed: we are shutting down
            log.debug("uplink.loop_closed gw=%s", self.gateway_id)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            self.stats.refused += 1
            self._acked_once = True
            log.warning("uplink.refused gw=%s reason=%s", self.gateway_id, reason_code)
            if self.protocol == "5" and self.broker.protocol == "auto" and _old_broker(reason_code):
                self._post(self._fallback.set)
            return
        self.backoff.reset()
        self._acked_once = True
        sock = client.socket()
        if isinstance(sock, socket.socket):
            # Nagle holds small QoS 1 packets back ~40 ms waiting for the peer's delayed ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.subscribe(
            [
                (topic(self.gateway_id, Channel.ACK), 1),
                (topic(self.gateway_id, Channel.COMMANDS), 1),
            ]
        )
        client.publish(
            self.status_topic,
            self._status(GatewayState.ONLINE, self.outbox.depth()),
            qos=1,
            retain=True,
        )
        self._post(self._connected_in_loop)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        self._set_delay(client)
        self._post(self._unanswered_in_loop, self._attempt)
        self._post(self._disconnected_in_loop, str(reason_code))

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._post(self._socket_opened_in_loop)

    def _socket_opened_in_loop(self) -> None:
        self._attempt += 1
        assert self._loop is not None
        self._loop.call_later(self.connack_timeout_s, self._unanswered_in_loop, self._attempt)

    def _unanswered_in_loop(self, attempt: int) -> None:
        """No CONNACK on this link: old brokers (amqtt) ignore or drop an MQTT 5 CONNECT."""
        if self._acked_once or attempt in self._unanswered or attempt != self._attempt:
            return
        self._unanswered.add(attempt)
        self.drop_connection()
        if (
            self.protocol == "5"
            and self.broker.protocol == "auto"
            and len(self._unanswered) >= UNANSWERED_BEFORE_FALLBACK
        ):
            self._fallback.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._set_delay(client)
        log.info(
            "uplink.connect_failed gw=%s next_delay_s=%.2f", self.gateway_id, self.next_delay_s
        )

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        try:
            if message.topic.endswith("/" + Channel.ACK.value):
                self._post(self._ack_in_loop, decode_as(AckMessage, payload))
            else:
                self._post(self._command_in_loop, decode_as(CommandMessage, payload))
        except DecodeError as err:
            self.stats.bad_downlink += 1
            log.warning(
                "uplink.bad_downlink gw=%s topic=%s reason=%s detail=%s",
                self.gateway_id,
                message.topic,
                err.reason,
                err.detail,
            )

    # -- asyncio loop --------------------------------------------------------------------------

    def _connected_in_loop(self) -> None:
        self.stats.connects += 1
        self._inflight.clear()  # whatever was in flight may be lost: send it all again
        self.connected.set()
        self._wake.set()
        log.info("uplink.connected gw=%s boot=%s", self.gateway_id, self.outbox.boot)

    def _disconnected_in_loop(self, reason: str) -> None:
        self.connected.clear()
        log.warning("uplink.disconnected gw=%s reason=%s", self.gateway_id, reason)

    def _ack_in_loop(self, ack: AckMessage) -> None:
        self._offsets.append((self.clock.now() - ack.t).total_seconds())
        try:
            self._acks.put_nowait(ack)
        except asyncio.QueueFull:
            self.stats.dropped_acks += 1  # the items stay in the outbox and are sent again
            log.warning(
                "uplink.ack_dropped gw=%s boot=%s n=%d", self.gateway_id, ack.boot, len(ack.seqs)
            )

    def _command_in_loop(self, command: CommandMessage) -> None:
        try:
            self.commands.put_nowait(command)
        except asyncio.QueueFull:
            self.stats.dropped_commands += 1
            log.warning(
                "uplink.command_dropped gw=%s id=%s kind=%s",
                self.gateway_id,
                command.id,
                command.kind,
            )

    async def _ack_loop(self) -> None:
        while True:
            acks = [await self._acks.get()]
            while not self._acks.empty():
                acks.append(self._acks.get_nowait())
            by_boot: dict[str, set[int]] = {}
            for ack in acks:
                by_boot.setdefault(ack.boot, set()).update(ack.seqs)
            for boot, seqs in by_boot.items():
                removed = await asyncio.to_thread(self.outbox.remove, boot, sorted(seqs))
                self.stats.acked += removed
                for seq in seqs:
                    self._inflight.pop((boot, seq), None)
            self._wake.set()

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.connected.wait()
            self._wake.clear()
            now = loop.time()
            for key, (item, sent_at) in list(self._inflight.items()):
                if now - sent_at >= self.ack_timeout_s:
                    self._publish(item)
                    self._inflight[key] = (item, now)
                    self.stats.resent += 1
            for lane, window in ((Lane.URGENT, URGENT_WINDOW), (Lane.BULK, self.window)):
                busy = sum(1 for item, _ in self._inflight.values() if item.lane is lane)
                if window - busy <= 0:
                    continue
                exclude = {k for k, (item, _) in self._inflight.items() if item.lane is lane}
                items = await asyncio.to_thread(
                    self.outbox.next_batch, window - busy, exclude, lane
                )
                for item in items:
                    if item.key in self._inflight:
                        continue  # sent while we were reading the outbox
                    self._publish(item)
                    self._inflight[item.key] = (item, loop.time())
                    self.stats.sent += 1
            timeout = None
            if self._inflight:
                oldest = min(sent for _, sent in self._inflight.values())
                timeout = max(oldest + self.ack_timeout_s - loop.time(), 0.0)
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _publish(self, item: OutboxItem) -> None:
        self._client.publish(topic(self.gateway_id, item.channel), item.payload, qos=1)

    async def _fallback_loop(self) -> None:
        """The broker speaks no MQTT 5: rebuild the client as 3.1.1, once, for good."""
        await self._fallback.wait()
        old = self._client
        await asyncio.to_thread(_halt, old)
        self.protocol = "3.1.1"
        self.stats.refused += len(self._unanswered)
        self._client = self._new_client()
        log.warning("uplink.protocol_fallback gw=%s protocol=3.1.1", self.gateway_id)
        self._connect(self._client)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            if self.connected.is_set():
                depth = await asyncio.to_thread(self.outbox.depth)
                self._client.publish(
                    self.status_topic, self._status(GatewayState.ONLINE, depth), qos=1, retain=True
                )

    @property
    def started_at(self) -> datetime:
        """The clock's time when this uplink was made."""
        return self._started


def _halt(client: mqtt.Client) -> None:
    """Disconnect and stop paho's network thread (blocking)."""
    client.disconnect()
    client.loop_stop()


UNANSWERED_BEFORE_FALLBACK = 2  # links closed before any CONNACK, then we try MQTT 3.1.1
UNSUPPORTED_PROTOCOL_V5 = 0x84  # CONNACK reason "Unsupported Protocol Version"
UNSUPPORTED_PROTOCOL_V3 = 1  # 3.1.1 CONNACK return code "unacceptable protocol version"


def _old_broker(reason: ReasonCode) -> bool:
    """True when a CONNACK says the broker does not speak MQTT 5."""
    return reason.value in (UNSUPPORTED_PROTOCOL_V5, UNSUPPORTED_PROTOCOL_V3)
