"""The durable notification outbox and its sender: retries, per-channel fallback, receipts.

A delivery row is written in the same transaction as the escalation step that needs it. The
sender claims due rows (``sending``), hands each to its channel through apprise (blocking, so in
a thread) and records the outcome: ``sent``, or another try later with capped, jittered backoff;
after ``TRIES_PER_CHANNEL`` failures it falls back to the contact's next URL, and after the last
one the delivery is ``failed``. Rows found ``sending`` at start were in flight when the process
died: the channel may or may not have them. They become ``unknown`` and are not sent again (no
message twice); a loss is covered by the escalation itself, whose reminders and next tiers keep
coming until someone acknowledges. Each body carries its idempotency key (alert:tier:attempt).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

import apprise
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlertError
from alerts.models import Contact, Delivery
from alerts.timers import wait_until
from devices.clock import Clock
from ingest.backoff import Backoff

log = logging.getLogger(__name__)

TRIES_PER_CHANNEL = 3  # then the next URL of the contact (e.g. e-mail after a failing webhook)
RETRY_INITIAL_S = 2.0
RETRY_CAP_S = 60.0  # a channel that is down for minutes must not hold the alarm back longer
CLAIM_BATCH = 50  # sends in flight at once; more waits for the next round
STORE_RETRY_S = 1.0


class DeliveryStatus(StrEnum):
    """Where a notification is."""

    PENDING = "pending"  # waiting for next_try_at (first try, retry, or quiet hours)
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # every channel of the contact failed
    CANCELLED = "cancelled"  # the alert was acknowledged before it went out
    MUTED = "muted"  # the person does not want this kind (never for high priority)
    UNKNOWN = "unknown"  # in flight when the sender died; not sent again


class NotifyError(AlertError):
    """A channel refused or could not take a notification."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Notifier(Protocol):
    """Hands one message to one channel (an apprise URL); NotifyError when it did not."""

    async def send(self, url: str, title: str, body: str) -> None:
        """Deliver or raise NotifyError."""
        ...


class AppriseNotifier:
    """The real notifier: apprise, in a worker thread (its calls block)."""

    def __init__(self) -> None:
        # apprise's e-mail plugin imports imghdr, deprecated since 3.11: load it once, quietly,
        # so the warning does not fire inside a send (pytest makes warnings errors)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
            importlib.import_module("imghdr")

    async def send(self, url: str, title: str, body: str) -> None:
        """Deliver through apprise or raise NotifyError."""
        await asyncio.to_thread(self._send, url, title, body)

    @staticmethod
    def _send(url: str, title: str, body: str) -> None:
        client = apprise.Apprise()
        if not client.add(url):
            raise NotifyError("apprise does not understand this URL", permanent=True)
        if not client.notify(body=body, title=title):
            raise NotifyError("the channel did not accept the notification")


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    key: str
    url: str
    title: str
    body: str


class DeliverySender:
    """Sends due deliveries until cancelled; sleeps until the next one is due or it is woken."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        clock: Clock,
        backoff: Backoff | None = None,
    ) -> None:
        self._sessions = sessions
        self._notifier = notifier
        self._clock = clock
        self._backoff = backoff or Backoff(RETRY_INITIAL_S, RETRY_CAP_S)
        self._wake = asyncio.Event()
        self.sent = 0
        self.failed_tries = 0

    def wake(self) -> None:
        """Look for due deliveries now (new rows were committed, or a manual clock moved)."""
        self._wake.set()

    async def run(self) -> None:
        """Send until cancelled."""
        await self._recover()
        while True:
            try:
                due = await self.send_due()
            except SQLAlchemyError as err:
                log.warning("outbox_store_unavailable error=%r retry_s=%.1f", err, STORE_RETRY_S)
                await asyncio.sleep(STORE_RETRY_S)
                continue
            await wait_until(self._clock, due, self._wake)

    async def _recover(self) -> None:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Delivery)
                .where(Delivery.status == DeliveryStatus.SENDING.value)
                .values(status=DeliveryStatus.UNKNOWN.value, last_error="in flight at a crash")
            )
        count = getattr(result, "rowcount", 0)
        if count:
            log.warning("outbox_in_flight_at_crash count=%d status=unknown", count)

    async def send_due(self) -> datetime | None:
        """Send every due delivery once; returns when the next pending one is due."""
        while True:
            claimed = await self._claim()
            if not claimed:
                break
            async with asyncio.TaskGroup() as tg:
                for item in claimed:
                    tg.create_task(self._deliver(item))
        async with self._sessions() as session:
            return await session.scalar(
                select(func.min(Delivery.next_try_at)).where(
                    Delivery.status == DeliveryStatus.PENDING.value
                )
            )

    async def _claim(self) -> list[_Claimed]:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(Delivery, Contact.urls)
                    .join(Contact, Delivery.contact_id == Contact.id)
                    .where(
                        Delivery.status == DeliveryStatus.PENDING.value,
                        Delivery.next_try_at <= now,
                    )
                    .order_by(Delivery.next_try_at, Delivery.id)
                    .limit(CLAIM_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            claimed = []
            for delivery, urls in rows:
                channels = [u for u in urls.splitlines() if u.strip()]
                if delivery.channel >= len(channels):
                    delivery.status = DeliveryStatus.FAILED.value
                    delivery.last_error = "no channel left"
                    continue
                delivery.status = DeliveryStatus.SENDING.value
                delivery.tries += 1
                claimed.append(
                    _Claimed(
                        delivery.id,
                        delivery.key,
                        channels[delivery.channel],
                        delivery.title,
                        delivery.body,
                    )
                )
        return claimed

    async def _deliver(self, item: _Claimed) -> None:
        try:
            await self._notifier.send(item.url, item.title, item.body)
        except NotifyError as err:
            self.failed_tries += 1
            await self._failed(item, err)
            return
        self.sent += 1
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.id == item.id)
                .values(status=DeliveryStatus.SENT.value, sent_at=now, last_error="")
            )
        log.info("outbox_sent key=%s scheme=%s", item.key, item.url.split(":", 1)[0])

    async def _failed(self, item: _Claimed, err: NotifyError) -> None:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            delivery = await session.get(Delivery, item.id)
            if delivery is None:
                return
            delivery.last_error = str(err)[:400]
            if err.permanent or delivery.tries >= TRIES_PER_CHANNEL:
                delivery.channel += 1  # fall back to the next URL; _claim fails it if none
                delivery.tries = 0
                delay = 0.0
            else:
                delay = self._backoff.next_delay()
            delivery.status = DeliveryStatus.PENDING.value
            delivery.next_try_at = now + timedelta(seconds=delay)
        log.warning(
            "outbox_send_failed key=%s scheme=%s error=%s retry_in_s=%.1f",
            item.key,
            item.url.split(":", 1)[0],
            err,
            delay,
        )
