"""Alert changes committed by any process, followed in commit order through the audit log.

``AlertService`` publishes each change on its process's ``AlertFeed`` after the commit; a
dashboard in another process (``anxin dashboard`` beside ``anxin alerts run``) never sees those.
Every alert change is also an audit entry written in the same transaction, and the audit log's
``seq`` is gap-free and commit-ordered: an append reads the newest committed entry and inserts
``seq + 1`` under the primary key, so ``n + 1`` can only be inserted once ``n`` is committed and
visible (a concurrent append of the same ``seq`` fails on the key and retries; a rolled-back one
leaves its number to the next). Polling ``seq > last`` in order therefore misses nothing and
repeats nothing, on SQLite and PostgreSQL alike, and costs one indexed query per interval for the
whole process, however many consoles are connected; the in-process feed fans the changes out.

A hole in ``seq`` cannot arise from the append above; should one appear anyway (an entry written
some other way), the follower waits ``gap_grace_s`` for it to fill before going past it, and says
so at ERROR — the chain check (``anxin audit verify``) will report it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.feed import AlertFeed
from alerts.models import AuditRow
from alerts.records import load_view
from alerts.views import AlertChange, AlertView
from ingest.backoff import Backoff

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0  # the latency of a change made in another process (goal: under 2 s)
BATCH = 500  # entries per query; a longer backlog is read in several queries, back to back
GAP_GRACE_S = 10.0  # longer than any transaction holds a seq it has not committed yet
RETRY_INITIAL_S = 0.5  # the database unreachable: retry with jittered backoff up to
RETRY_CAP_S = 10.0  # this, keeping the position (nothing is skipped while it is away)
SUBJECT_PREFIX = "alert:"
# audit action of an alert change -> the action the feed publishes (AlertService's names)
ACTIONS: dict[str, str] = {
    "raised": "raised",
    "evidence": "evidence",
    "acknowledged": "acknowledged",
    "resolved": "resolved",
    "cancelled": "resolved",  # the resident's cancel resolves a lower-priority alert
    "note": "note",
}


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int
    action: str
    subject: str

    @property
    def alert_id(self) -> int | None:
        """The alert this entry is a change of, if it is one."""
        if self.action not in ACTIONS or not self.subject.startswith(SUBJECT_PREFIX):
            return None
        try:
            return int(self.subject.removeprefix(SUBJECT_PREFIX))
        except ValueError:
            return None


class AlertFollower:
    """Publishes on ``feed`` every alert change committed after it started, once, in order.

    ``wake_on``: a feed this process's own ``AlertService`` publishes to; each change on it makes
    the follower look at once (a change made here reaches this process's consoles without waiting
    for the interval). That feed must not be ``feed``: the follower is the one publisher of
    ``feed``, or a local change would be shown twice.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: AlertFeed,
        *,
        wake_on: AlertFeed | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        batch: int = BATCH,
        gap_grace_s: float = GAP_GRACE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if wake_on is feed:
            raise ValueError("wake_on must not be the feed the follower publishes to")
        self._sessions = sessions
        self._feed = feed
        self._wake_on = wake_on
        self._poll_interval_s = poll_interval_s
        self._batch = batch
        self._gap_grace_s = gap_grace_s
        self._monotonic = monotonic
        self._wake = asyncio.Event()
        self._gap_since: float | None = None
        self.position: int | None = None  # the last seq handled; None until started
        self.published = 0
        self.ready = asyncio.Event()  # set once the position is the present
        self.failing_since: float | None = None  # monotonic time of the first failed poll

    def wake(self) -> None:
        """Look for changes now instead of at the end of the interval."""
        self._wake.set()

    async def start(self) -> int:
        """Take the newest committed entry as the position: changes from now on are published.

        A console loads the alerts as they are when it connects, so what happened before this
        process started is already on its page.
        """
        async with self._sessions() as session:
            head = await session.scalar(select(func.max(AuditRow.seq)))
        self.position = int(head or 0)
        self.ready.set()
        log.info("alert_follower_started position=%d", self.position)
        return self.position

    async def poll(self) -> bool:
        """Publish the changes committed since the position; True if more may be waiting."""
        if self.position is None:
            await self.start()
        assert self.position is not None
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(AuditRow.seq, AuditRow.action, AuditRow.subject)
                    .where(AuditRow.seq > self.position)
                    .order_by(AuditRow.seq)
                    .limit(self._batch)
                )
            ).all()
            entries = self._contiguous(
                [_Entry(seq, action, subject) for seq, action, subject in rows]
            )
            # every view is read before anything is published: a failure here publishes nothing
            # and leaves the position, so the next poll does the whole batch again
            views: dict[int, AlertView | None] = {}
            for entry in entries:
                alert_id = entry.alert_id
                if alert_id is not None and alert_id not in views:
                    views[alert_id] = await load_view(session, alert_id)
        for entry in entries:
            alert_id = entry.alert_id
            view = None if alert_id is None else views.get(alert_id)
            if alert_id is not None and view is None:
                log.warning("alert_follower_missing_alert seq=%d alert_id=%d", entry.seq, alert_id)
            if view is not None:
                self._feed.publish(AlertChange(ACTIONS[entry.action], view))
                self.published += 1
            self.position = entry.seq
        return len(rows) == self._batch and len(entries) == len(rows)

    def _contiguous(self, entries: list[_Entry]) -> list[_Entry]:
        """The entries up to the first hole in seq, unless that hole has lasted its grace."""
        assert self.position is not None
        expected = self.position + 1
        for index, entry in enumerate(entries):
            if entry.seq == expected:
                expected += 1
                continue
            now = self._monotonic()
            if self._gap_since is None:
                self._gap_since = now
            if now - self._gap_since < self._gap_grace_s:
                return entries[:index]
            log.error(
                "alert_follower_gap_skipped missing_from=%d missing_to=%d waited_s=%.1f",
                expected,
                entry.seq - 1,
                now - self._gap_since,
            )
            self._gap_since = None
            expected = entry.seq + 1
        self._gap_since = None
        return entries

    async def run(self) -> None:
        """Follow until cancelled; a database that is away is retried with backoff."""
        async with asyncio.TaskGroup() as tg:
            if self._wake_on is not None:
                tg.create_task(self._listen(self._wake_on), name="alert-follower-wake")
            await self._follow()

    async def _follow(self) -> None:
        backoff = Backoff(RETRY_INITIAL_S, RETRY_CAP_S)
        while True:
            try:
                more = await self.poll()
            except SQLAlchemyError as err:
                now = self._monotonic()
                if self.failing_since is None:
                    self.failing_since = now
                delay = backoff.next_delay()
                log.warning(
                    "alert_follower_store_unavailable position=%s failing_s=%.1f retry_in_s=%.2f "
                    "error=%s",
                    self.position,
                    now - self.failing_since,
                    delay,
                    type(err).__name__,
                )
                await asyncio.sleep(delay)
                continue
            if self.failing_since is not None:
                log.info("alert_follower_store_back position=%s", self.position)
                self.failing_since = None
            backoff.reset()
            if not more:
                await self._wait()

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll_interval_s):
                await self._wake.wait()
        self._wake.clear()

    async def _listen(self, local: AlertFeed) -> None:
        while True:
            async with local.subscribe() as changes:
                async for _change in changes:
                    self._wake.set()
            self._wake.set()  # dropped (fell behind): the database is the truth, look now
