"""The gateway agent's composition root: adapter -> pipeline -> outbox -> uplink, until cancelled.

Many agents can run in one event loop (the demo runs one per simulated home): disk work runs in
threads, and each uplink's network loop is paho's own thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from devices.clock import Clock
from devices.codec import encode
from devices.payloads import CommandKind, EventKind, EventMessage, ReadingIn, ReadingsMessage
from devices.topics import Channel
from gateway.adapters.base import DeviceAdapter, DeviceData, PairingAdapter
from gateway.config import GatewayConfig
from gateway.fall_detection.model import FallModel, load_model
from gateway.health import HealthReporter
from gateway.outbox import Budget, Encoder, Gap, Outbox
from gateway.pipeline import EdgePipeline, NewEvent, Output, new_event_id
from gateway.uplink import BrokerAddress, Uplink

log = logging.getLogger(__name__)

MIN_WAIT_S = 0.02  # real seconds: a stopped (manual) clock must not make the agent spin


async def run_gateway(config: GatewayConfig, clock: Clock, adapter: DeviceAdapter) -> None:
    """Run one gateway until cancelled; on the way out say offline, disconnect, close the outbox."""
    budget = Budget(config.outbox_budget_bytes, config.urgent_reserve_bytes)
    outbox = await asyncio.to_thread(Outbox, config.outbox_path, None, budget)
    uplink = Uplink(
        config.gateway_id,
        BrokerAddress(
            config.broker_host,
            config.broker_port,
            config.login,
            config.password.get_secret_value() if config.password else None,
            ca_file=config.ca_file,
            cert_file=config.cert_file,
            key_file=config.key_file,
            protocol=config.protocol,
        ),
        outbox,
        clock,
        window=config.window,
        ack_timeout_s=config.ack_timeout_s,
        heartbeat_s=config.heartbeat_s,
    )
    model = await asyncio.to_thread(load_model, config.fall_model) if config.fall_model else None
    agent = Agent(config, clock, adapter, outbox, uplink, model)
    log.info("gateway.start gw=%s boot=%s outbox=%s", config.gateway_id, outbox.boot, outbox.path)
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(uplink.run(), name=f"uplink-{config.gateway_id}")
            tg.create_task(agent.pump(), name=f"pump-{config.gateway_id}")
            tg.create_task(agent.obey(), name=f"commands-{config.gateway_id}")
            if config.health_file is not None:
                health = HealthReporter(config.health_file, config.gateway_id, outbox, uplink)
                tg.create_task(health.run(), name=f"health-{config.gateway_id}")
    finally:
        await asyncio.to_thread(outbox.close)
        log.info("gateway.stop gw=%s", config.gateway_id)


class Agent:
    """Moves device data through the edge pipeline into the outbox, and answers commands."""

    def __init__(
        self,
        config: GatewayConfig,
        clock: Clock,
        adapter: DeviceAdapter,
        outbox: Outbox,
        uplink: Uplink,
        model: FallModel | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.adapter = adapter
        self.outbox = outbox
        self.uplink = uplink
        self.pipeline = EdgePipeline(
            config.batch_max, config.batch_age_s, config.cancel_window_s, model
        )
        self._dropped_seen = -1  # outbox drops already looked at for gap records (-1: check once)

    async def pump(self) -> None:
        """Read the adapter; queue batches and events; wake up for batch ages and fall deadlines."""
        try:
            while True:
                deadline = self.pipeline.next_deadline()
                timeout = None
                if deadline is not None:
                    left = (deadline - self.clock.now()).total_seconds()
                    timeout = max(self.clock.to_real_seconds(left), MIN_WAIT_S)
                try:
                    async with asyncio.timeout(timeout):
                        data = await self.adapter.read()
                except TimeoutError:
                    data = DeviceData()
                now = self.clock.now()
                await self.store(self.pipeline.take(data, now), now)
        finally:
            rest = self.pipeline.drain()
            if rest:
                await self.store(Output((rest,), ()), self.clock.now())

    async def obey(self) -> None:
        """Carry out commands from the platform."""
        while True:
            command = await self.uplink.commands.get()
            log.info(
                "gateway.command gw=%s id=%s kind=%s",
                self.config.gateway_id,
                command.id,
                command.kind,
            )
            if command.kind is CommandKind.TEST_ALARM:
                now = self.clock.now()
                event = NewEvent(
                    new_event_id(),
                    EventKind.TEST_ALARM,
                    self.config.gateway_id,
                    now,
                    {"command": command.id},
                )
                await self.store(Output((), (event,)), now)
            elif command.kind is CommandKind.PAIR_DEVICE and isinstance(
                self.adapter, PairingAdapter
            ):
                try:
                    await self.adapter.pair(dict(command.args))
                except (ValueError, RuntimeError) as err:  # a bad command or no bus: say so
                    log.warning(
                        "gateway.pair_failed gw=%s id=%s error=%s",
                        self.config.gateway_id,
                        command.id,
                        err,
                    )
            else:
                log.warning(
                    "gateway.command_unsupported gw=%s id=%s kind=%s",
                    self.config.gateway_id,
                    command.id,
                    command.kind,
                )

    async def store(self, output: Output, now: datetime) -> None:
        """Put ``output`` into the outbox (events first) and wake the uplink."""
        messages: list[tuple[Channel, Encoder]] = [
            (Channel.EVENTS, self._event_encoder(e, now)) for e in output.events
        ]
        messages += [(Channel.READINGS, self._readings_encoder(b, now)) for b in output.batches]
        if not messages:
            return
        for event in output.events:
            log.info(
                "gateway.event gw=%s id=%s kind=%s dev=%s t=%s",
                self.config.gateway_id,
                event.event_id,
                event.kind,
                event.device,
                event.time.isoformat(),
            )
        await asyncio.to_thread(self.outbox.put_many, messages, now)
        await self.report_gaps(now)
        self.uplink.notify()

    async def report_gaps(self, now: datetime) -> None:
        """Put a ``data_gap`` event in the outbox for each new gap record (same transaction)."""
        dropped = self.outbox.usage().dropped
        if dropped == self._dropped_seen:
            return
        self._dropped_seen = dropped
        gaps = await asyncio.to_thread(self.outbox.unreported_gaps)
        if not gaps:
            return
        events = [(Channel.EVENTS, self._event_encoder(self._gap_event(g), now)) for g in gaps]
        await asyncio.to_thread(self.outbox.put_many, events, now, [g.id for g in gaps])
        for gap in gaps:
            log.warning(
                "gateway.data_gap gw=%s readings=%d messages=%d first_t=%s last_t=%s",
                self.config.gateway_id,
                gap.readings,
                gap.messages,
                gap.first_t.isoformat() if gap.first_t else None,
                gap.last_t.isoformat() if gap.last_t else None,
            )

    def _gap_event(self, gap: Gap) -> NewEvent:
        """The technical event telling the platform which readings were dropped for want of room."""
        first = gap.first_t or gap.opened_at
        return NewEvent(
            # stable across a crash between the drop and the report: the gap row's id and its time
            f"gap-{gap.id}-{int(gap.opened_at.timestamp())}",
            EventKind.DATA_GAP,
            self.config.gateway_id,
            first,
            {
                "from": first.isoformat(),
                "to": (gap.last_t or first).isoformat(),
                "readings": gap.readings,
                "messages": gap.messages,
                "reason": "outbox_budget",
            },
        )

    def _event_encoder(self, event: NewEvent, now: datetime) -> Encoder:
        gw = self.config.gateway_id

        def build(boot: str, seq: int) -> bytes:
            return encode(
                EventMessage(
                    gw=gw,
                    boot=boot,
                    seq=seq,
                    sent_at=now,
                    id=event.event_id,
                    kind=event.kind,
                    dev=event.device,
                    t=event.time,
                    data=event.data,
                )
            )

        return build

    def _readings_encoder(self, batch: Sequence[ReadingIn], now: datetime) -> Encoder:
        gw = self.config.gateway_id

        def build(boot: str, seq: int) -> bytes:
            return encode(
                ReadingsMessage(gw=gw, boot=boot, seq=seq, sent_at=now, readings=list(batch))
            )

        return build
