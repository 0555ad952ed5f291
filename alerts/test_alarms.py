"""The weekly end-to-end test alarm of every call button and wearable, recorded and reported.

Each gateway with a wearable gets a ``test_alarm`` command once a week (the schedule is the
``test_alarms`` table itself: the next test is due a week after the last one sent, so it survives
restarts; a gateway never tested is first tested a week after it was registered). The gateway
answers with a ``test_alarm`` event, which the alert service records as a resolved test alert
(nobody is notified); that answer marks the test passed. No answer by the deadline marks it
failed and raises a technical alarm.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.feed import AlertFeed
from alerts.lifecycle import Priority
from alerts.models import TestAlarmRow
from alerts.service import AlertService
from devices.clock import Clock
from devices.payloads import CommandKind, CommandMessage
from registry.models import Device, Gateway
from registry.repository import gateway_contexts

log = logging.getLogger(__name__)

TEST_KIND = "test_alarm"
FAILED_KIND = "test_alarm_failed"
# the Chinese standard for smart elderly-care systems asks for weekly alarm-button tests
EVERY = timedelta(days=7)
ANSWER_WITHIN = timedelta(minutes=5)
MIN_REAL_INTERVAL_S = 1.0

SendCommand = Callable[[str, CommandMessage], Awaitable[None]]


class WeeklyTestAlarms:
    """Sends due tests, records answers from the alert feed, fails the overdue ones."""

    def __init__(
        self,
        service: AlertService,
        sessions: async_sessionmaker[AsyncSession],
        feed: AlertFeed,
        clock: Clock,
        send: SendCommand,
        interval_s: float = 300.0,
    ) -> None:
        self._service, self._sessions, self._feed = service, sessions, feed
        self._clock, self._send, self._interval_s = clock, send, interval_s
        self.ready = asyncio.Event()  # set once listening to the alert feed for answers
        self.a_test_passed = asyncio.Event()  # set whenever a pending test passes

    async def run(self) -> None:
        """Schedule and listen until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._listen(), name="test-alarm-answers")
            tg.create_task(self._schedule(), name="test-alarm-schedule")

    async def _schedule(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(
                max(self._clock.to_real_seconds(self._interval_s), MIN_REAL_INTERVAL_S)
            )

    async def _listen(self) -> None:
        while True:  # a subscriber the feed dropped (queue full) subscribes again
            async with self._feed.subscribe() as changes:
                self.ready.set()
                async for change in changes:
                    if change.alert.kind == TEST_KIND and change.action in ("raised", "evidence"):
                        await self.answered(change.alert.gateway_id, self._clock.now())
            log.warning("test_alarm_feed_resubscribe reason=dropped")

    async def tick(self) -> tuple[list[str], list[str]]:
        """Send the tests that are due, fail the overdue ones; returns (sent to, failed at)."""
        now = self._clock.now()
        async with self._sessions() as session:
            in_service = {c.gateway_id for c in await gateway_contexts(session)}
            registered: dict[str, datetime] = {
                gw: at
                for gw, at in await session.execute(
                    select(Gateway.id, Gateway.created_at).where(Gateway.id.in_(in_service))
                )
            }
            with_wearable = set(
                await session.scalars(select(Device.gateway_id).where(Device.kind == "wearable"))
            )
            rows = await session.execute(
                select(TestAlarmRow.gateway_id, func.max(TestAlarmRow.sent_at)).group_by(
                    TestAlarmRow.gateway_id
                )
            )
            last: dict[str, datetime] = {gw: at for gw, at in rows}
            overdue = (
                await session.scalars(
                    select(TestAlarmRow).where(
                        TestAlarmRow.result == "pending", TestAlarmRow.deadline < now
                    )
                )
            ).all()
            failed = []
            for row in overdue:
                row.result = "failed"
                failed.append(row)
            # a gateway never tested is first tested a week after it was registered: at
            # installation the installer runs a test alarm from the installer app anyway
            due = sorted(
                gw
                for gw in in_service & with_wearable
                if now - last.get(gw, registered.get(gw, now)) >= EVERY
            )
            commands = []
            for gw in due:
                command = CommandMessage(
                    id=uuid.uuid4().hex, kind=CommandKind.TEST_ALARM, args={"weekly": True}, t=now
                )
                session.add(
                    TestAlarmRow(
                        command_id=command.id, gateway_id=gw, device_key="", sent_at=now,
                        deadline=now + ANSWER_WITHIN, result="pending",
                    )
                )  # fmt: skip
                commands.append((gw, command))
            await session.commit()
        for row in failed:
            await self._service.raise_condition(
                kind=FAILED_KIND, gateway_id=row.gateway_id, resident_id=None,
                fingerprint=f"{FAILED_KIND}:{row.gateway_id}:{row.command_id}",
                summary=f"weekly test alarm not answered by {row.deadline:%Y-%m-%d %H:%M} UTC",
                priority=Priority.TECHNICAL.value,
            )  # fmt: skip
        for gw, command in commands:
            await self._send(gw, command)
            log.info("test_alarm_sent gw=%s id=%s", gw, command.id)
        return [gw for gw, _ in commands], [row.gateway_id for row in failed]

    async def answered(self, gateway_id: str, at: datetime) -> bool:
        """A gateway answered: its pending test passes. False when none was pending."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(TestAlarmRow)
                .where(TestAlarmRow.gateway_id == gateway_id, TestAlarmRow.result == "pending")
                .order_by(TestAlarmRow.sent_at.desc())
            )
            if row is None:
                return False
            row.result, row.answered_at = "passed", at
            await session.commit()
        self.a_test_passed.set()
        log.info("test_alarm_passed gw=%s id=%s", gateway_id, row.command_id)
        return True
