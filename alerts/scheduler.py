"""The escalation scheduler: takes due escalation steps and writes their deliveries to the outbox.

The due time of each alert's next step is persisted (``alerts.next_escalation_at``), so a
restarted scheduler resumes on schedule. A step is taken once: its row in ``escalation_steps`` is
unique per (alert, tier, attempt) and is written in the same transaction as its deliveries, whose
keys are unique too. The steps and deliveries are their own record (shown on the alert); they
stay out of the audit chain, whose single head would serialise the scheduler against people's
actions (measured: p50 5 s instead of ms on the benchmark). Between steps the scheduler sleeps until the earliest due time, or until an
alert change (raise, acknowledge) or a moved manual clock wakes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.contacts import MUTED, hold_until, load_policy, recipients
from alerts.escalation import due_steps, next_due
from alerts.feed import AlertFeed
from alerts.lifecycle import AlertState, Priority
from alerts.messages import MessageFacts, render
from alerts.models import Alert, Delivery, EscalationStep
from alerts.outbox import DeliveryStatus
from alerts.timers import wait_until
from devices.clock import Clock
from registry.models import Home, Resident, Station

log = logging.getLogger(__name__)

BATCH = 100  # alerts looked at per round; the rest in the next round, immediately
STORE_RETRY_S = 1.0


class EscalationScheduler:
    """Runs each open alert's escalation policy; ``on_enqueued`` wakes the delivery sender."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: AlertFeed,
        clock: Clock,
        on_enqueued: Callable[[], None],
        link_base: str = "http://127.0.0.1:8000",
    ) -> None:
        self._sessions = sessions
        self._feed = feed
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._link_base = link_base.rstrip("/")
        self._wake = asyncio.Event()
        self.steps_taken = 0

    def wake(self) -> None:
        """Look at due alerts now (called on alert changes and by whoever moves a manual clock)."""
        self._wake.set()

    async def run(self) -> None:
        """Escalate until cancelled; wakes on every alert change published on the feed."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._listen())
            while True:
                try:
                    due = await self.tick()
                except SQLAlchemyError as err:
                    log.warning("escalation_store_unavailable error=%r", err)
                    await asyncio.sleep(STORE_RETRY_S)
                    continue
                await wait_until(self._clock, due, self._wake)

    async def _listen(self) -> None:
        while True:
            async with self._feed.subscribe() as changes:
                async for _change in changes:
                    self._wake.set()
            log.warning("escalation_feed_dropped")  # fell behind: resubscribe, the DB is the truth
            self._wake.set()

    async def tick(self) -> datetime | None:
        """Take every due step now; returns when the next one is due (None: nothing pending)."""
        while True:
            now = self._clock.now()
            async with self._sessions() as session:
                due_ids = (
                    await session.scalars(
                        select(Alert.id)
                        .where(Alert.next_escalation_at <= now)
                        .order_by(Alert.next_escalation_at)
                        .limit(BATCH)
                    )
                ).all()
            enqueued = 0
            for alert_id in due_ids:
                enqueued += await self._escalate(alert_id, now)
            if enqueued:
                self._on_enqueued()
            if len(due_ids) < BATCH:
                break
        async with self._sessions() as session:
            return await session.scalar(select(func.min(Alert.next_escalation_at)))

    async def _escalate(self, alert_id: int, now: datetime) -> int:
        try:
            async with self._sessions() as session, session.begin():
                return await self._escalate_in(session, alert_id, now)
        except IntegrityError:
            # another scheduler took this step first; its deliveries stand, ours were rolled back
            log.info("escalation_step_race alert_id=%d", alert_id)
            return 0

    async def _escalate_in(self, session: AsyncSession, alert_id: int, now: datetime) -> int:
        row = (
            await session.execute(
                select(Alert, Resident.name, Home.label, Station.timezone)
                .outerjoin(Resident, Alert.resident_id == Resident.id)
                .outerjoin(Home, Alert.home_id == Home.id)
                .outerjoin(Station, Alert.station_id == Station.id)
                .where(Alert.id == alert_id)
                .with_for_update(of=Alert)
            )
        ).first()
        if row is None:
            return 0
        alert, resident_name, home_label, timezone = row
        if alert.state != AlertState.OPEN.value or alert.next_escalation_at is None:
            alert.next_escalation_at = None  # acknowledged or resolved meanwhile: chain stops
            return 0
        policy = await load_policy(session, alert.station_id)
        priority = Priority(alert.priority)
        taken = {
            (t, a)
            for t, a in (
                await session.execute(
                    select(EscalationStep.tier, EscalationStep.attempt).where(
                        EscalationStep.alert_id == alert.id
                    )
                )
            ).all()
        }
        enqueued = 0
        for step in due_steps(policy, priority, alert.raised_at, now, taken):
            session.add(
                EscalationStep(
                    alert_id=alert.id,
                    tier=step.tier,
                    attempt=step.attempt,
                    due_at=step.due_at,
                    taken_at=now,
                )
            )
            taken.add((step.tier, step.attempt))
            key = f"{alert.id}:{step.tier}:{step.attempt}"
            facts = MessageFacts(
                alert_id=alert.id,
                kind=alert.kind,
                priority=alert.priority,
                resident_name=resident_name or "",
                home_label=home_label or alert.gateway_id,
                raised_at=alert.raised_at,
                evidence_count=alert.evidence_count,
                summary=alert.summary,
                station_timezone=timezone or "Asia/Shanghai",
                link=f"{self._link_base}/alerts/{alert.id}",
                key=key,
            )
            people = await recipients(session, alert.station_id, alert.resident_id, step.audiences)
            for contact in people:
                title, body = render(contact.locale, facts, step.attempt)
                held = hold_until(
                    priority=alert.priority,
                    kind=alert.kind,
                    quiet_start=contact.quiet_start,
                    quiet_end=contact.quiet_end,
                    muted_kinds=contact.muted_kinds,
                    now=now,
                    timezone=timezone or "Asia/Shanghai",
                )
                status = DeliveryStatus.MUTED if held == MUTED else DeliveryStatus.PENDING
                session.add(
                    Delivery(
                        key=f"{key}:{contact.id}",
                        alert_id=alert.id,
                        contact_id=contact.id,
                        tier=step.tier,
                        attempt=step.attempt,
                        channel=0,
                        title=title[:400],
                        body=body,
                        status=status.value,
                        tries=0,
                        next_try_at=held if isinstance(held, datetime) else now,
                        created_at=now,
                        last_error="",
                    )
                )
                enqueued += 1
            self.steps_taken += 1
            log.info(
                "escalation_step alert_id=%d tier=%d attempt=%d recipients=%d",
                alert.id,
                step.tier,
                step.attempt,
                len(people),
            )
        alert.next_escalation_at = next_due(policy, priority, alert.raised_at, taken)
        return enqueued
