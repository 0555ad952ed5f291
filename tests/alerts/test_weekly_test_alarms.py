"""The weekly test alarm: sent once a week per gateway with a wearable, passed or failed."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from alerts.models import TestAlarmRow
from alerts.test_alarms import FAILED_KIND, WeeklyTestAlarms
from devices.payloads import CommandKind, CommandMessage
from tests.alerts.conftest import Home


async def test_due_tests_are_sent_weekly_answers_pass_and_silence_fails(home: Home) -> None:
    sent: list[tuple[str, CommandMessage]] = []

    async def send(gateway_id: str, command: CommandMessage) -> None:
        sent.append((gateway_id, command))

    weekly = WeeklyTestAlarms(home.service, home.sessions, home.feed, home.clock, send)
    assert await weekly.tick() == ([], [])  # just installed: the installer tested it
    home.clock.advance(7 * 24 * 3600)
    # the schedule lives in the database: a restarted service finds the same test due
    weekly = WeeklyTestAlarms(home.service, home.sessions, home.feed, home.clock, send)
    assert await weekly.tick() == (["gw-1"], [])
    assert [(gw, c.kind) for gw, c in sent] == [("gw-1", CommandKind.TEST_ALARM)]
    home.clock.advance(60)
    assert await weekly.answered("gw-1", home.clock.now())  # the gateway's test_alarm event
    home.clock.advance(3600)
    assert await weekly.tick() == ([], [])  # passed, and not due again within the week
    home.clock.advance(7 * 24 * 3600)
    assert await weekly.tick() == (["gw-1"], [])  # a week later: the next test
    home.clock.advance(600)  # ... and no answer within 5 minutes
    assert await weekly.tick() == ([], ["gw-1"])
    async with home.sessions() as session:
        results = [
            r.result for r in await session.scalars(select(TestAlarmRow).order_by(TestAlarmRow.id))
        ]
    assert results == ["passed", "failed"]
    (alarm,) = [a for a in await home.service.list() if a.kind == FAILED_KIND]
    assert alarm.priority == "technical"
    assert alarm.raised_at == home.clock.now()  # raised at the check that found it overdue


async def test_an_answer_without_a_pending_test_changes_nothing(home: Home) -> None:
    async def send(gateway_id: str, command: CommandMessage) -> None:
        raise AssertionError("nothing is due")

    weekly = WeeklyTestAlarms(home.service, home.sessions, home.feed, home.clock, send)
    assert not await weekly.answered("gw-1", home.clock.now())


async def test_running_the_gateways_answer_through_the_alert_feed_passes_the_test(
    home: Home,
) -> None:
    sent = asyncio.Event()

    async def send(gateway_id: str, command: CommandMessage) -> None:
        sent.set()

    home.clock.advance(7 * 24 * 3600)
    weekly = WeeklyTestAlarms(home.service, home.sessions, home.feed, home.clock, send)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(weekly.run())
        await asyncio.wait_for(weekly.ready.wait(), 10)
        await asyncio.wait_for(sent.wait(), 10)
        home.clock.advance(30)
        await home.service.raise_from_event(home.event("test_alarm"))  # what the engine does
        await asyncio.wait_for(weekly.a_test_passed.wait(), 10)
        task.cancel()
    async with home.sessions() as session:
        (row,) = (await session.scalars(select(TestAlarmRow))).all()
    assert (row.result, row.answered_at) == ("passed", home.clock.now())
