"""The gateway's MQTT link (paho-mqtt 2.x): status and last will, sending the outbox, taking acks.

paho runs its network loop in its own thread (``loop_start``); its callbacks hand what they get to
the asyncio loop with ``call_soon_threadsafe``, so many gateways can share one event loop.

Delivery: outbox items go out at QoS 1 (events on ``events``, readings on ``readings``), at most
``window`` unacknowledged at a time. An item leaves the outbox only when an ``AckMessage`` names
its (boot, seq) — a broker PUBACK only means the broker has it. Items not acked within
``ack_timeout_s`` (real seconds: a network matter) are sent again, and after every reconnect
everything still in the outbox is sent again; ingest recognises the duplicates. Payloads are
stored encoded, so ``sent_at`` is the time the item was put in the outbox, not of the (re)send.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from devices.clock import Clock
from devices.codec import decode_as, encode
from devices.errors import DecodeError
from devices.payloads import AckMessage, CommandMessage, GatewayState, StatusMessage
from devices.topics import Channel, topic
from gateway.outbox import Outbox, OutboxItem

log = logging.getLogger(__name__)

WINDOW = 64  # unacked messages in flight; ingest acks in batches, so this keeps the pipe full
ACK_TIMEOUT_S = 15.0  # resend an item not acked in this long (ingest batches for ~1 s at most)
HEARTBEAT_S = 30.0  # status heartbeat; the platform calls a gateway offline after 2 missed
KEEPALIVE_S = 30  # MQTT keepalive: the broker fires the last will within 1.5x this of a dead link
RECONNECT_MIN_S = 1  # paho doubles the delay on each failed attempt, up to the cap
RECONNECT_MAX_S = 30
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
    dropped_acks: int = 0
    dropped_commands: int = 0


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where and as whom to connect."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None


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
    ) -> None:
        self.gateway_id = gateway_id
        self.broker = broker
        self.outbox = outbox
        self.clock = clock
        self.window = window
        self.ack_timeout_s = ack_timeout_s
        self.heartbeat_s = heartbeat_s
        self.keepalive_s = keepalive_s
        self.stats = UplinkStats()
        self.connected = asyncio.Event()
        self.commands: asyncio.Queue[CommandMessage] = asyncio.Queue(COMMANDS_MAX)
        self._acks: asyncio.Queue[AckMessage] = asyncio.Queue(INBOX_MAX)
        self._wake = asyncio.Event()
        self._inflight: dict[tuple[str, int], tuple[OutboxItem, float]] = {}
        self._started = clock.now()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=gateway_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )

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
        client = self._client
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        client.will_set(
            self.status_topic, self._status(GatewayState.OFFLINE, 0), qos=1, retain=True
        )
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.max_inflight_messages_set(self.window + 2)  # our window, plus status messages
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.connect_async(self.broker.host, self.broker.port, self.keepalive_s)
        client.loop_start()
        log.info(
            "uplink.start gw=%s boot=%s broker=%s:%d",
            self.gateway_id,
            self.outbox.boot,
            self.broker.host,
            self.broker.port,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._send_loop(), name=f"uplink-send-{self.gateway_id}")
                tg.create_task(self._ack_loop(), name=f"uplink-acks-{self.gateway_id}")
                tg.create_task(self._heartbeat_loop(), name=f"uplink-heartbeat-{self.gateway_id}")
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
        client.disconnect()
        client.loop_stop()
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
            log.warning("uplink.refused gw=%s reason=%s", self.gateway_id, reason_code)
            return
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
        self._post(self._disconnected_in_loop, str(reason_code))

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
            room = self.window - len(self._inflight)
            if room > 0:
                exclude = set(self._inflight)
                items = await asyncio.to_thread(self.outbox.next_batch, room, exclude)
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
