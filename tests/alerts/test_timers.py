"""``wait_until``: a stop that lands as the wait is woken still stops the waiting loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alerts.timers import wait_until
from devices.clock import SystemClock
from tests.races import stopped_as


async def test_a_stop_that_lands_with_a_wake_is_not_lost() -> None:
    clock = SystemClock()
    wake = asyncio.Event()
    rounds = 0

    async def loop() -> None:  # as the escalation scheduler waits for its next due time
        nonlocal rounds
        while True:
            rounds += 1
            await wait_until(clock, clock.now() + timedelta(hours=1), wake)

    task = asyncio.create_task(loop())
    assert await stopped_as(task, wake.set), f"the loop went on after the stop ({rounds} rounds)"


async def test_it_returns_at_the_due_time_or_when_woken() -> None:
    clock = SystemClock()
    wake = asyncio.Event()
    await asyncio.wait_for(wait_until(clock, clock.now() + timedelta(seconds=0.01), wake), 2)
    waiting = asyncio.create_task(wait_until(clock, datetime.now(UTC) + timedelta(hours=1), wake))
    await asyncio.sleep(0)
    wake.set()
    await asyncio.wait_for(waiting, 2)
    assert not wake.is_set()  # cleared for the next wait
