"""The alert service: raise alerts from events and rule findings, acknowledge and resolve them.

Every change is committed first and then published on the feed. Races between concurrent
creators are settled by the database (partial unique index on the open fingerprint, unique event
id of the evidence): the loser's transaction fails and is retried, and then finds the winner's row.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.audit import actor_of, append_entry
from alerts.errors import AlertError, AlertNotFoundError, AlertStoreError
from alerts.feed import AlertFeed
from alerts.lifecycle import Action, AlertState, Priority, next_state
from alerts.models import Alert, AlertEvidence, Delivery
from alerts.outbox import DeliveryStatus
from alerts.records import count_unresolved, list_views, load_view
from alerts.views import AlertChange, AlertView
from devices.clock import Clock
from devices.payloads import EventKind
from devices.values import Event
from registry.models import Station
from registry.repository import gateway_context

log = logging.getLogger(__name__)

T = TypeVar("T")

# A lost race (two creators of one episode, one event attached twice, two appends to the audit
# chain on SQLite; on PostgreSQL appenders queue on a lock, alerts.audit) rolls back and runs
# again after a random moment that grows with the attempt, so a crowd thins out instead of
# colliding again at once. More rounds than this means something else is wrong.
MAX_ATTEMPTS = 12
RACE_BACKOFF_S = 0.02  # the first retry waits up to this long, the n-th up to n times it
EVENT_PRIORITY: dict[str, Priority] = {
    EventKind.FALL.value: Priority.HIGH,
    EventKind.CALL_BUTTON.value: Priority.HIGH,
    EventKind.PRE_ALERT.value: Priority.MEDIUM,
    EventKind.TEST_ALARM.value: Priority.LOW,  # recorded born resolved (outcome test)
    # the gateway's outbox overflowed and readings were dropped: a technical alarm
    EventKind.DATA_GAP.value: Priority.TECHNICAL,
}
CANCELLABLE = (EventKind.FALL.value, EventKind.CALL_BUTTON.value, EventKind.PRE_ALERT.value)
CANCEL_NOTE = "cancelled by the resident"
# findings that silence alone produces: while the gateway is offline the silence is the link's,
# not the person's, so they wait (the link's technical alarm stands); a night exit needs a door
SILENCE_KINDS = frozenset({"inactivity", "not_up", "bathroom_stay", "missed_meal"})
TEST_NOTE = "test alarm answered by the gateway"


class Outcome(StrEnum):
    """How an alert ended."""

    HANDLED_AT_HOME = "handled_at_home"
    VISITED = "visited"
    HOSPITAL = "hospital"
    FALSE_ALARM = "false_alarm"
    TEST = "test"


Change = tuple[str | None, AlertView | None]  # (action to publish or None, resulting view)


class _Retry(Exception):
    """The row changed under us; run the transaction again."""


class AlertService:
    """Alerts in the relational database, with changes fanned out on an AlertFeed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: AlertFeed,
        clock: Clock,
        *,
        gateway_offline: Callable[[str], bool] | None = None,
    ) -> None:
        self._sessions = sessions
        self._feed = feed
        self._clock = clock
        self._gateway_offline = gateway_offline

    async def list(
        self,
        *,
        station_ids: Collection[int] | None = None,
        resident_ids: Collection[int] | None = None,
        states: Collection[str] | None = None,
        limit: int = 200,
    ) -> list[AlertView]:
        """Alerts of these stations or these residents; unresolved high priority first, then newest."""

        async def read(session: AsyncSession) -> list[AlertView]:
            return await list_views(
                session,
                station_ids=station_ids,
                resident_ids=resident_ids,
                states=states,
                limit=limit,
            )

        return await self._read(read)

    async def get(self, alert_id: int) -> AlertView:
        """One alert; AlertNotFoundError if there is none with this id."""
        view = await self._read(lambda session: load_view(session, alert_id))
        if view is None:
            raise AlertNotFoundError(f"no alert {alert_id}")
        return view

    async def count_open(self) -> int:
        """How many alerts are not resolved yet."""
        return await self._read(count_unresolved)

    async def acknowledge(self, alert_id: int, user_id: int) -> AlertView:
        """Acknowledge an alert; idempotent when acknowledged, AlertStateError when resolved."""

        async def change(session: AsyncSession) -> Change:
            alert = await self._alert(session, alert_id)
            state = AlertState(alert.state)
            next_state(state, Priority(alert.priority), Action.ACKNOWLEDGE)
            if state is AlertState.ACKNOWLEDGED:
                return None, await load_view(session, alert_id)
            now = self._clock.now()
            await self._move(
                session,
                alert,
                state,
                state=AlertState.ACKNOWLEDGED.value,
                acked_at=now,
                acked_by=user_id,
                updated_at=now,
                next_escalation_at=None,
            )
            await self._stop_chain(session, alert_id)
            await self._audit(session, user_id, "acknowledged", alert_id)
            return "acknowledged", await load_view(session, alert_id)

        view = await self._write(change)
        assert view is not None
        return view

    async def resolve(
        self, alert_id: int, user_id: int, outcome: Outcome, note: str = ""
    ) -> AlertView:
        """Resolve an alert with an outcome; AlertStateError if resolved or latched (high, open)."""

        async def change(session: AsyncSession) -> Change:
            alert = await self._alert(session, alert_id)
            state = AlertState(alert.state)
            next_state(state, Priority(alert.priority), Action.RESOLVE)
            now = self._clock.now()
            await self._move(
                session,
                alert,
                state,
                state=AlertState.RESOLVED.value,
                resolved_at=now,
                resolved_by=user_id,
                outcome=Outcome(outcome).value,
                note=note,
                updated_at=now,
                next_escalation_at=None,
            )
            await self._stop_chain(session, alert_id)
            await self._audit(
                session, user_id, "resolved", alert_id, outcome=Outcome(outcome).value, note=note
            )
            return "resolved", await load_view(session, alert_id)

        view = await self._write(change)
        assert view is not None
        return view

    async def add_note(self, alert_id: int, user_id: int, note: str) -> AlertView:
        """Append a note to an alert (any state); the audit log keeps who wrote what."""

        async def change(session: AsyncSession) -> Change:
            alert = await self._alert(session, alert_id)
            now = self._clock.now()
            stamped = f"[{now:%Y-%m-%d %H:%M}Z user:{user_id}] {note}"
            alert.note = f"{alert.note}\n{stamped}" if alert.note else stamped
            alert.updated_at = now
            await session.flush()
            await self._audit(session, user_id, "note", alert_id, note=note)
            return "note", await load_view(session, alert_id)

        view = await self._write(change)
        assert view is not None
        return view

    async def raise_from_event(self, event: Event) -> AlertView | None:
        """Raise or extend the alert of an urgent event; None for kinds that raise nothing.

        A redelivered event (same ``event_id``) changes nothing and returns its alert. A cancel
        attaches to the newest unresolved fall, call or pre-alert of the gateway and resolves it
        only if it is not high priority: a high-priority alert waits for a person.
        """
        if event.kind == EventKind.CANCEL.value:
            return await self._write(lambda session: self._cancel(session, event))
        priority = EVENT_PRIORITY.get(event.kind)
        if priority is None:
            log.info("alert_event_ignored kind=%s event_id=%s", event.kind, event.event_id)
            return None
        return await self._write(lambda session: self._from_event(session, event, priority))

    async def raise_condition(
        self,
        *,
        kind: str,
        gateway_id: str,
        resident_id: int | None,
        fingerprint: str,
        summary: str,
        priority: str,
    ) -> AlertView | None:
        """Raise the alert of a rule finding once per episode; None if the episode has one already.

        The fingerprint names the episode: while any alert with it exists (even resolved), the
        same finding raises nothing again. A silence finding (``SILENCE_KINDS``) of a gateway that
        is offline raises nothing either: a dead link is a technical alarm, never "inactive".
        """
        level = Priority(priority)
        if kind in SILENCE_KINDS and self._gateway_offline and self._gateway_offline(gateway_id):
            log.info(
                "alert_condition_held kind=%s gateway=%s reason=gateway_offline", kind, gateway_id
            )
            return None

        async def build(session: AsyncSession) -> Alert | None:
            context = await gateway_context(session, gateway_id)
            if context is None:
                log.warning("alert_condition_unknown_gateway gateway=%s kind=%s", gateway_id, kind)
                return None
            return Alert(
                fingerprint=fingerprint,
                kind=kind,
                priority=level.value,
                resident_id=resident_id,
                home_id=context.home_id,
                station_id=context.station_id,
                gateway_id=gateway_id,
                summary=summary,
            )

        return await self._raise_once(fingerprint, build)

    async def raise_station_condition(
        self, *, kind: str, station_id: int, fingerprint: str, summary: str, priority: str
    ) -> AlertView | None:
        """Raise a finding about the platform itself for one station: no home, no gateway.

        Used when the station's residents are not (all) being watched — a detector that does
        not run. Once per episode like ``raise_condition``; None if the station does not exist.
        """
        level = Priority(priority)

        async def build(session: AsyncSession) -> Alert | None:
            if await session.get(Station, station_id) is None:
                log.warning("alert_condition_unknown_station station=%s kind=%s", station_id, kind)
                return None
            return Alert(
                fingerprint=fingerprint,
                kind=kind,
                priority=level.value,
                station_id=station_id,
                gateway_id="",
                summary=summary,
            )

        return await self._raise_once(fingerprint, build)

    async def _raise_once(
        self, fingerprint: str, build: Callable[[AsyncSession], Awaitable[Alert | None]]
    ) -> AlertView | None:
        """Open the alert ``build`` makes unless an alert with ``fingerprint`` exists (any state)."""

        async def change(session: AsyncSession) -> Change:
            seen = await session.scalar(
                select(Alert.id).where(Alert.fingerprint == fingerprint).limit(1)
            )
            alert = None if seen is not None else await build(session)
            if alert is None:
                return None, None
            return await self._open(session, alert)

        return await self._write(change)

    async def _open(self, session: AsyncSession, alert: Alert) -> Change:
        now = self._clock.now()
        alert.state = AlertState.OPEN.value
        alert.raised_at = alert.updated_at = alert.next_escalation_at = now
        session.add(alert)
        await session.flush()
        await self._audit(
            session, None, "raised", alert.id, kind=alert.kind, fingerprint=alert.fingerprint
        )
        return "raised", await load_view(session, alert.id)

    async def _from_event(self, session: AsyncSession, event: Event, priority: Priority) -> Change:
        known = await self._evidence_alert(session, event.event_id)
        if known is not None:
            return None, await load_view(session, known)
        context = await gateway_context(session, event.gateway)
        if context is None:
            log.warning(
                "alert_event_unknown_gateway gateway=%s event_id=%s", event.gateway, event.event_id
            )
            return None, None
        fingerprint = f"{event.kind}:{event.gateway}"
        alert = await session.scalar(
            select(Alert).where(
                Alert.fingerprint == fingerprint, Alert.state != AlertState.RESOLVED.value
            )
        )
        action = "evidence"
        if alert is None:
            now = self._clock.now()
            resident = context.resident_for(event.device)
            # a test alarm is recorded, not raised: born resolved (outcome test), nobody is told
            test = event.kind == EventKind.TEST_ALARM.value
            alert = Alert(
                fingerprint=fingerprint,
                kind=event.kind,
                priority=priority.value,
                state=(AlertState.RESOLVED if test else AlertState.OPEN).value,
                resident_id=resident.id if resident else None,
                home_id=context.home_id,
                station_id=context.station_id,
                gateway_id=event.gateway,
                raised_at=now,
                updated_at=now,
                summary=f"{event.device} {event.time:%Y-%m-%dT%H:%M:%SZ}",
                next_escalation_at=None if test else now,
                resolved_at=now if test else None,
                outcome=Outcome.TEST.value if test else None,
                note=TEST_NOTE if test else "",
            )
            session.add(alert)
            await session.flush()  # IntegrityError when a concurrent creator won: retried
            action = "raised"
        await self._attach(session, alert.id, event)
        await self._audit(session, None, action, alert.id, event_id=event.event_id, kind=event.kind)
        return action, await load_view(session, alert.id)

    async def _cancel(self, session: AsyncSession, event: Event) -> Change:
        known = await self._evidence_alert(session, event.event_id)
        if known is not None:
            return None, await load_view(session, known)
        alert = await session.scalar(
            select(Alert)
            .where(
                Alert.gateway_id == event.gateway,
                Alert.kind.in_(CANCELLABLE),
                Alert.state != AlertState.RESOLVED.value,
            )
            .order_by(Alert.raised_at.desc(), Alert.id.desc())
            .limit(1)
        )
        if alert is None:
            log.info("alert_cancel_unmatched gateway=%s event_id=%s", event.gateway, event.event_id)
            return None, None
        await self._attach(session, alert.id, event)
        state = AlertState(alert.state)
        if state is AlertState.OPEN and alert.priority != Priority.HIGH.value:
            now = self._clock.now()
            await self._move(
                session,
                alert,
                state,
                state=AlertState.RESOLVED.value,
                resolved_at=now,
                outcome=Outcome.FALSE_ALARM.value,
                note=CANCEL_NOTE,
                updated_at=now,
                next_escalation_at=None,
            )
            await self._stop_chain(session, alert.id)
            await self._audit(session, None, "cancelled", alert.id, event_id=event.event_id)
            return "resolved", await load_view(session, alert.id)
        await self._audit(session, None, "evidence", alert.id, event_id=event.event_id)
        return "evidence", await load_view(session, alert.id)

    async def _attach(self, session: AsyncSession, alert_id: int, event: Event) -> None:
        session.add(
            AlertEvidence(
                alert_id=alert_id, event_id=event.event_id, kind=event.kind, time=event.time
            )
        )
        await session.flush()  # IntegrityError when the same event is being attached concurrently
        await session.execute(
            update(Alert)
            .where(Alert.id == alert_id)
            .values(evidence_count=Alert.evidence_count + 1, updated_at=self._clock.now())
        )

    async def _audit(
        self,
        session: AsyncSession,
        user_id: int | None,
        action: str,
        alert_id: int,
        **data: str | int | None,
    ) -> None:
        """Chain an audit entry into this transaction (a lost race on its seq is retried)."""
        await append_entry(
            session,
            at=self._clock.now(),
            actor=actor_of(user_id),
            action=action,
            subject=f"alert:{alert_id}",
            data=dict(data),
        )

    @staticmethod
    async def _stop_chain(session: AsyncSession, alert_id: int) -> None:
        """Someone acted: notifications not sent yet are not needed any more."""
        await session.execute(
            update(Delivery)
            .where(Delivery.alert_id == alert_id, Delivery.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.CANCELLED.value)
        )

    @staticmethod
    async def _evidence_alert(session: AsyncSession, event_id: str) -> int | None:
        return await session.scalar(
            select(AlertEvidence.alert_id).where(AlertEvidence.event_id == event_id)
        )

    @staticmethod
    async def _alert(session: AsyncSession, alert_id: int) -> Alert:
        alert = await session.get(Alert, alert_id, populate_existing=True)
        if alert is None:
            raise AlertNotFoundError(f"no alert {alert_id}")
        return alert

    @staticmethod
    async def _move(
        session: AsyncSession, alert: Alert, seen: AlertState, **values: object
    ) -> None:
        """Update the alert only if it is still in the state we saw (optimistic concurrency)."""
        result = await session.execute(
            update(Alert)
            .where(Alert.id == alert.id, Alert.state == seen.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 1) != 1:
            raise _Retry

    async def _read(self, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
        try:
            async with self._sessions() as session:
                return await query(session)
        except SQLAlchemyError as err:
            raise AlertStoreError(f"alert database: {err}") from err

    async def _write(self, change: Callable[[AsyncSession], Awaitable[Change]]) -> AlertView | None:
        """Run ``change`` in a transaction (again if it lost a race); publish after the commit."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self._sessions() as session, session.begin():
                    action, view = await change(session)
            except (IntegrityError, _Retry) as err:
                log.info("alert_write_race attempt=%d error=%s", attempt, type(err).__name__)
                await asyncio.sleep(random.uniform(0, RACE_BACKOFF_S * attempt))
                continue
            except SQLAlchemyError as err:
                raise AlertStoreError(f"alert database: {err}") from err
            if action is not None and view is not None:
                self._feed.publish(AlertChange(action, view))
                log.info(
                    "alert_changed action=%s alert_id=%d kind=%s state=%s evidence=%d",
                    action,
                    view.id,
                    view.kind,
                    view.state,
                    view.evidence_count,
                )
            return view
        raise AlertError(f"alert change lost {MAX_ATTEMPTS} races in a row")
