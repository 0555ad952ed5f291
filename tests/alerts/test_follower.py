"""The follower: alert changes committed by other processes, on this process's feed, exactly once.

Writers here are ``AlertService`` objects on engines of their own (separate connection pools, as
separate processes would have); the follower reads the same database through another engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.audit import GENESIS
from alerts.feed import AlertFeed
from alerts.follower import ACTIONS, AlertFollower
from alerts.models import AuditRow
from alerts.service import Outcome
from alerts.views import AlertChange
from registry.db import make_async_engine, make_sessionmaker
from tests.alerts.conftest import START, Home
from tests.alerts.writers import engine_sessions, own_services, raise_ack_resolve
from tests.tcpcut import CuttableLink

WAIT_S = 10.0


@contextlib.asynccontextmanager
async def subscribed(feed: AlertFeed, size: int = 10_000) -> AsyncIterator[Any]:
    """A subscription to ``feed`` with room for ``size`` changes."""
    feed._queue_size = size
    async with feed.subscribe() as sub:
        yield sub


def drain(sub: Any) -> list[tuple[str, int]]:
    """(action, alert id) of every change queued on the subscription now."""
    out: list[tuple[str, int]] = []
    while not sub.queue.empty():
        change: AlertChange | None = sub.queue.get_nowait()
        assert change is not None, "the subscription was dropped"
        out.append((change.action, change.alert.id))
    return out


async def alert_entries(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int]]:
    """Every alert change in the audit log, in seq order, as the follower names them."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(AuditRow.action, AuditRow.subject)
                .where(AuditRow.subject.like("alert:%"))
                .order_by(AuditRow.seq)
            )
        ).all()
    return [(ACTIONS[a], int(s.removeprefix("alert:"))) for a, s in rows if a in ACTIONS]


async def test_changes_of_another_writer_arrive_once_in_order(
    home: Home, database_url: str
) -> None:
    async with engine_sessions(database_url) as reader:
        feed = AlertFeed()
        follower = AlertFollower(reader, feed)
        async with subscribed(feed) as sub, subscribed(home.feed) as written:
            await follower.start()
            fall = await home.service.raise_from_event(home.event("fall"))
            assert fall is not None
            await home.service.raise_from_event(home.event("fall"))  # evidence
            await home.service.acknowledge(fall.id, home.staff_id)
            await home.service.add_note(fall.id, home.staff_id, "on the way")
            await home.service.resolve(fall.id, home.staff_id, Outcome.VISITED)
            assert await follower.poll() is False
            expected = drain(written)  # what the writer published in its own process
            assert expected == [
                ("raised", fall.id),
                ("evidence", fall.id),
                ("acknowledged", fall.id),
                ("note", fall.id),
                ("resolved", fall.id),
            ]
            assert drain(sub) == expected
            await follower.poll()
            assert drain(sub) == [], "nothing is published twice"
            assert follower.published == len(expected)


async def test_a_cancel_is_published_as_resolved(home: Home, database_url: str) -> None:
    async with engine_sessions(database_url) as reader:
        feed = AlertFeed()
        follower = AlertFollower(reader, feed)
        async with subscribed(feed) as sub:
            await follower.start()
            pre = await home.service.raise_from_event(home.event("pre_alert"))
            assert pre is not None
            await home.service.raise_from_event(home.event("cancel"))
            await follower.poll()
            changes = list(_changes(sub))
            assert [(c.action, c.alert.id) for c in changes] == [
                ("raised", pre.id),
                ("resolved", pre.id),
            ]
            assert changes[-1].alert.state == "resolved"


def _changes(sub: Any) -> Iterator[AlertChange]:
    while not sub.queue.empty():
        change = sub.queue.get_nowait()
        assert change is not None
        yield change


async def test_concurrent_writers_nothing_missed_nothing_repeated(
    home: Home, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Four writers raise, acknowledge and resolve at once while the follower polls without
    pause; with no grace for holes, a change that became visible after a later one would be
    skipped — so this checks the ordering claim itself, not only the follower."""
    caplog.set_level(logging.INFO, "alerts.follower")
    writers, per_writer = 4, 6
    async with contextlib.AsyncExitStack() as stack:
        reader = await stack.enter_async_context(engine_sessions(database_url))
        services = await own_services(stack, database_url, writers)
        feed = AlertFeed()
        follower = AlertFollower(reader, feed, gap_grace_s=0.0)
        sub = await stack.enter_async_context(subscribed(feed))
        await follower.start()
        done = asyncio.Event()

        async def follow() -> int:
            polls = 0
            while not done.is_set():
                await follower.poll()
                polls += 1
                await asyncio.sleep(0)  # let the writers run between polls
            return polls

        polling = asyncio.create_task(follow())
        try:
            made = await asyncio.gather(
                *(raise_ack_resolve(s, home, i, per_writer) for i, s in enumerate(services))
            )
        finally:
            done.set()
            polls = await polling
        await follower.poll()
        seen = drain(sub)
        expected = set().union(*made)
        assert len(expected) == writers * per_writer * 3
        assert len(seen) == len(set(seen)), "a change was published twice"
        assert set(seen) == expected, "a change was missed"
        assert seen == await alert_entries(reader), "not in commit (seq) order"
        assert polls > 1
        assert "alert_follower_gap_skipped" not in caplog.text


async def test_a_restarted_follower_starts_at_the_present(home: Home, database_url: str) -> None:
    async with engine_sessions(database_url) as reader:
        first_feed, second_feed = AlertFeed(), AlertFeed()
        before = AlertFollower(reader, first_feed)
        async with subscribed(first_feed) as first:
            await before.start()
            one = await home.service.raise_from_event(home.event("fall"))
            assert one is not None
            await before.poll()
            assert drain(first) == [("raised", one.id)]
        # the process is gone; meanwhile someone acknowledges; then it starts again
        await home.service.acknowledge(one.id, home.staff_id)
        after = AlertFollower(reader, second_feed)
        async with subscribed(second_feed) as second:
            position = await after.start()
            assert position > (before.position or 0)
            await after.poll()
            assert drain(second) == [], "a console loads the present at connect, not the past"
            await home.service.resolve(one.id, home.staff_id, Outcome.VISITED)
            await after.poll()
            assert drain(second) == [("resolved", one.id)]


async def test_one_query_per_poll_whatever_the_number_of_consoles(
    home: Home, database_url: str
) -> None:
    engine = make_async_engine(database_url)
    statements: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_rest: statements.append(sql),
    )
    try:
        feed = AlertFeed()
        follower = AlertFollower(make_sessionmaker(engine), feed)
        await follower.start()
        async with contextlib.AsyncExitStack() as stack:
            consoles = [await stack.enter_async_context(subscribed(feed)) for _ in range(50)]
            statements.clear()
            for _ in range(3):
                await follower.poll()
            assert len(statements) == 3, statements
            fall = await home.service.raise_from_event(home.event("fall"))
            assert fall is not None
            statements.clear()
            await follower.poll()
            # the entries, then the one changed alert's view (its row, its notifications)
            assert len(statements) == 3, statements
            assert all(drain(c) == [("raised", fall.id)] for c in consoles)
    finally:
        await engine.dispose()


async def test_a_hole_in_seq_is_waited_for_then_skipped(
    home: Home, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    async with engine_sessions(database_url) as reader:
        feed = AlertFeed()
        follower = AlertFollower(reader, feed, gap_grace_s=10.0, monotonic=lambda: now[0])
        async with subscribed(feed) as sub:
            fall = await home.service.raise_from_event(home.event("fall"))
            assert fall is not None
            head = await follower.start()
            # entries written out of the append's order: head+2 is visible, head+1 not yet
            await _audit_row(home.sessions, head + 2, f"alert:{fall.id}", "note")
            await follower.poll()
            assert drain(sub) == []
            assert follower.position == head
            await _audit_row(home.sessions, head + 1, f"alert:{fall.id}", "acknowledged")
            await follower.poll()
            assert drain(sub) == [("acknowledged", fall.id), ("note", fall.id)]
            # a hole that stays: held for the grace, then passed with an error
            await _audit_row(home.sessions, head + 4, f"alert:{fall.id}", "note")
            await follower.poll()
            assert drain(sub) == []
            now[0] = 9.0
            await follower.poll()
            assert drain(sub) == []
            now[0] = 10.5
            with caplog.at_level(logging.ERROR, "alerts.follower"):
                await follower.poll()
            assert drain(sub) == [("note", fall.id)]
            assert f"alert_follower_gap_skipped missing_from={head + 3}" in caplog.text


async def _audit_row(
    sessions: async_sessionmaker[AsyncSession], seq: int, subject: str, action: str
) -> None:
    async with sessions() as session, session.begin():
        session.add(
            AuditRow(
                seq=seq,
                at=START,
                actor="system",
                action=action,
                subject=subject,
                data="{}",
                prev_hash=GENESIS,
                hash=GENESIS,
            )
        )


async def test_reads_and_admin_entries_are_passed_over(home: Home, database_url: str) -> None:
    async with engine_sessions(database_url) as reader:
        feed = AlertFeed()
        follower = AlertFollower(reader, feed)
        async with subscribed(feed) as sub:
            head = await follower.start()
            await _audit_row(home.sessions, head + 1, "resident:1", "read")
            await _audit_row(home.sessions, head + 2, "user:1", "user_added")
            await follower.poll()
            assert drain(sub) == []
            assert follower.position == head + 2


def test_the_follower_may_not_wake_on_its_own_feed() -> None:
    feed = AlertFeed()
    with pytest.raises(ValueError, match="wake_on"):
        AlertFollower(None, feed, wake_on=feed)  # type: ignore[arg-type]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_survives_the_database_being_unreachable(
    home: Home, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The follower's connections are cut (the writers' are not) while alerts change; once the
    link is back, every change of the outage arrives, in order, once."""
    host_port = database_url.split("@", 1)[1].split("/", 1)[0]
    link = CuttableLink(int(host_port.rsplit(":", 1)[1]))
    await link.start()
    failed = asyncio.Event()

    class Failed(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("alert_follower_store_unavailable"):
                failed.set()

    handler = Failed(logging.WARNING)
    logging.getLogger("alerts.follower").addHandler(handler)
    via_link = database_url.replace(host_port, f"127.0.0.1:{link.port}")
    local = AlertFeed()
    try:
        async with engine_sessions(via_link) as reader:
            feed = AlertFeed()
            follower = AlertFollower(reader, feed, wake_on=local, poll_interval_s=0.05)
            async with subscribed(feed) as sub, asyncio.TaskGroup() as tg:
                task = tg.create_task(follower.run())
                await asyncio.wait_for(follower.ready.wait(), WAIT_S)
                first = await home.service.raise_from_event(home.event("fall"))
                assert first is not None
                change = await asyncio.wait_for(anext(sub), WAIT_S)
                assert (change.action, change.alert.id) == ("raised", first.id)

                await link.cut()
                await asyncio.wait_for(failed.wait(), WAIT_S)
                await home.service.acknowledge(first.id, home.staff_id)
                second = await home.service.raise_from_event(home.event("call_button"))
                assert second is not None
                await link.restore()
                got = [await asyncio.wait_for(anext(sub), WAIT_S) for _ in range(2)]
                assert [(c.action, c.alert.id) for c in got] == [
                    ("acknowledged", first.id),
                    ("raised", second.id),
                ]
                await follower.poll()
                assert drain(sub) == []
                task.cancel()
    finally:
        logging.getLogger("alerts.follower").removeHandler(handler)
        await link.close()
