"""``cancel_until_done``: a task that missed the stop is asked again, and the log says so."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from anxin.stopping import cancel_until_done


async def _deaf() -> None:
    """What a loop does after ``wait_for`` (or a failing TaskGroup) swallowed its cancellation."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()
    await asyncio.Event().wait()


async def _polite() -> None:
    await asyncio.Event().wait()


async def test_a_task_that_missed_the_stop_is_cancelled_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = [asyncio.create_task(_deaf(), name="deaf"), asyncio.create_task(_polite(), name="ok")]
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="anxin.stopping"):
        async with asyncio.timeout(2):  # not wait_for: that would run it in a task of its own
            await cancel_until_done(tasks, grace_s=0.1)
    assert all(task.cancelled() for task in tasks)
    again = [r.getMessage() for r in caplog.records if "tasks_cancelled_again" in r.getMessage()]
    assert again == ["tasks_cancelled_again late=deaf after_s=0.1"]


async def test_a_deaf_task_inside_a_task_group_is_reached() -> None:
    # a TaskGroup that is already stopping does not pass a second cancellation to its children
    async def detectors() -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(_deaf(), name="link-health")
            tg.create_task(_polite(), name="vitals")

    task = asyncio.create_task(detectors(), name="detectors")
    await asyncio.sleep(0)
    async with asyncio.timeout(2):
        await cancel_until_done([task], grace_s=0.1)
    assert task.cancelled()


async def test_tasks_that_stop_are_cancelled_once() -> None:
    cancels = 0

    async def counted() -> None:
        nonlocal cancels
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancels += 1
            raise

    tasks = [asyncio.create_task(counted()) for _ in range(3)]
    await asyncio.sleep(0)
    await cancel_until_done(tasks, grace_s=0.05)
    assert cancels == 3
