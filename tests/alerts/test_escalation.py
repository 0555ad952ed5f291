"""Escalation end to end on a real SMTP server and a real webhook receiver (time injected)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from alerts.contacts import ContactSpec, add_contact
from alerts.models import Delivery
from alerts.outbox import AppriseNotifier, DeliverySender
from alerts.scheduler import EscalationScheduler
from alerts.service import Outcome
from ingest.backoff import Backoff
from tests.alerts.conftest import Home
from tests.alerts.receivers import Inbox, inbox

__all__ = ["inbox"]


@dataclass
class Chain:
    """A running scheduler and sender over the seeded home, with its contacts."""

    home: Home
    scheduler: EscalationScheduler
    sender: DeliverySender

    async def advance(self, seconds: float) -> None:
        """Move the manual clock and let the scheduler and sender see it."""
        self.home.clock.advance(seconds)
        self.scheduler.wake()
        self.sender.wake()

    async def settle(self) -> int:
        """Run one scheduler round and one sender round in this task; how many deliveries exist."""
        await self.scheduler.tick()
        await self.sender.send_due()
        async with self.home.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Delivery)) or 0)


async def _contacts(home: Home, box: Inbox) -> None:
    async with home.sessions() as session, session.begin():
        specs = [
            ContactSpec(
                "staff", (box.mailto("duty@example.org"),), name="值班员", user_id=home.staff_id
            ),
            ContactSpec("manager", (box.webhook("manager"),), name="站长"),
            ContactSpec(
                "family",
                (box.mailto("son@example.org"),),
                name="Son",
                locale="en",
                resident_id=home.wearer_id,
                quiet_start="00:00",
                quiet_end="23:59",  # always quiet: only high priority gets through
            ),
            ContactSpec(
                "family", (box.mailto("other@example.org"),), resident_id=home.resident_id
            ),  # another resident's family: never told about the wearer
            ContactSpec("hotline", (box.webhook("hotline"),), name="96156"),
            ContactSpec("installer", (box.webhook("installer"),), name="安装"),
        ]
        for spec in specs:
            await add_contact(session, home.station_id, spec)


@pytest.fixture
async def chain(home: Home, inbox: Inbox) -> AsyncIterator[Chain]:
    """Scheduler and sender running in a task group for the test's duration."""
    await _contacts(home, inbox)
    sender = DeliverySender(home.sessions, AppriseNotifier(), home.clock, Backoff(0.0, 0.0))
    scheduler = EscalationScheduler(home.sessions, home.feed, home.clock, sender.wake)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(scheduler.run()), tg.create_task(sender.run())]
        yield Chain(home, scheduler, sender)
        for task in tasks:
            task.cancel()


async def test_fall_reaches_duty_then_manager_then_family_until_acknowledged(
    chain: Chain, inbox: Inbox
) -> None:
    home = chain.home
    alert = await home.service.raise_from_event(home.event("fall"))
    assert alert is not None
    first = await inbox.next(wait_s=1.0)  # on-duty staff within 1 s
    assert (first.channel, first.to) == ("smtp", "duty@example.org")
    assert "李德明" in first.title
    assert "疑似跌倒" in first.title
    assert f"/alerts/{alert.id}" in first.body
    assert f"{alert.id}:1:0" in first.body

    await chain.advance(59)
    assert await chain.settle() == 1  # nothing more before 60 s
    await chain.advance(1)
    second = await inbox.next()
    assert (second.channel, second.to) == ("webhook", "manager")

    await chain.advance(119)
    assert await chain.settle() == 2
    await chain.advance(1)  # 180 s: family, in English, despite quiet hours (high priority)
    third = await inbox.next()
    assert (third.channel, third.to) == ("smtp", "son@example.org")
    assert "may have fallen" in third.title
    assert "李德明" in third.title

    view = await home.service.acknowledge(alert.id, home.staff_id)
    assert view.next_escalation_at is None
    await chain.advance(3600)
    assert await chain.settle() == 3  # the ack stopped the chain: no reminder, no hotline
    assert [r.to for r in inbox.all] == ["duty@example.org", "manager", "son@example.org"]
    view = await home.service.get(alert.id)
    assert [(d.audience, d.status) for d in view.deliveries] == [
        ("staff", "sent"),
        ("manager", "sent"),
        ("family", "sent"),
    ]


async def test_reminders_repeat_until_acknowledged(chain: Chain, inbox: Inbox) -> None:
    home = chain.home
    alert = await home.service.raise_from_event(home.event("call_button"))
    assert alert is not None
    assert (await inbox.next()).to == "duty@example.org"
    await chain.advance(60)
    await inbox.next()  # manager
    await chain.advance(120)  # 180: family's turn (the son of the wearer only)
    await inbox.next()
    await chain.advance(120)  # 300: first reminder of tier 3 goes to everyone told so far
    reminders = {(await inbox.next()).to for _ in range(3)}
    assert reminders == {"duty@example.org", "manager", "son@example.org"}
    assert all("提醒" in r.title or "reminder" in r.title for r in inbox.all[-3:])
    await home.service.resolve(
        (await home.service.acknowledge(alert.id, home.staff_id)).id,
        home.staff_id,
        Outcome.VISITED,
        "neighbour opened the door",
    )
    await chain.advance(10_000)
    assert await chain.settle() == 6
    assert "other@example.org" not in {r.to for r in inbox.all}


async def test_medium_priority_waits_for_the_end_of_family_quiet_hours(
    chain: Chain, inbox: Inbox
) -> None:
    home = chain.home
    alert = await home.service.raise_from_event(home.event("pre_alert"))
    assert alert is not None
    assert (await inbox.next()).to == "duty@example.org"
    await chain.advance(180)
    assert (await inbox.next()).to == "manager"
    await chain.advance(420)  # 600: family's turn, but quiet hours hold a medium alert back
    await chain.settle()
    view = await home.service.get(alert.id)
    family = [d for d in view.deliveries if d.audience == "family"]
    assert [d.status for d in family] == ["pending"]
    assert family[0].next_try_at > home.clock.now() + timedelta(hours=1)


async def test_a_failing_channel_falls_back_to_the_next_url(home: Home, inbox: Inbox) -> None:
    async with home.sessions() as session, session.begin():
        await add_contact(
            session,
            home.station_id,
            ContactSpec("staff", (inbox.dead_webhook(), inbox.mailto("duty@example.org"))),
        )
    sender = DeliverySender(home.sessions, AppriseNotifier(), home.clock, Backoff(0.0, 0.0))
    scheduler = EscalationScheduler(home.sessions, home.feed, home.clock, sender.wake)
    alert = await home.service.raise_from_event(home.event("fall"))
    assert alert is not None
    await scheduler.tick()
    await sender.send_due()
    got = await inbox.next()
    assert got.to == "duty@example.org"
    (delivery,) = (await home.service.get(alert.id)).deliveries
    assert (delivery.status, delivery.channel) == ("sent", 1)
    assert delivery.last_error == ""
    assert sender.failed_tries == 3


async def test_technical_alarms_reach_installer_and_staff_never_family(
    chain: Chain, inbox: Inbox
) -> None:
    home = chain.home
    test = await home.service.raise_from_event(home.event("test_alarm"))  # recorded, told nobody
    assert test is not None
    alarm = await home.service.raise_condition(
        kind="gateway_offline", gateway_id="gw-1", resident_id=None,
        fingerprint="gateway_offline:gw-1:1", summary="last will", priority="technical",
    )  # fmt: skip
    assert alarm is not None
    told = {(await inbox.next()).to for _ in range(2)}
    assert told == {"duty@example.org", "installer"}
    await chain.advance(3600)
    assert await chain.settle() == 2  # no tiers, no family, no hotline; the test told nobody
    view = await home.service.get(alarm.id)
    assert sorted(d.audience for d in view.deliveries) == ["installer", "staff"]
    assert (await home.service.get(test.id)).deliveries == ()
