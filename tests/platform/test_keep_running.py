"""A periodic detector that fails is started again; it never takes the process down."""

from __future__ import annotations

import asyncio

import pytest

from alerts.detector_health import DetectorHealth
from anxin.monitors import keep_running
from tests.races import stopped_as


async def test_a_failing_detector_is_restarted_and_the_others_keep_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    starts: list[int] = []
    beats: list[int] = []

    async def flaky() -> None:
        starts.append(1)
        if len(starts) < 3:
            raise OSError("store unreachable")
        await asyncio.Event().wait()  # then it runs for good

    async def steady() -> None:
        while True:
            beats.append(1)
            await asyncio.sleep(0.01)

    health = DetectorHealth(healthy_after_s=3600)
    async with asyncio.TaskGroup() as tg:  # as anxin up and anxin alerts run hold them
        tasks = [
            tg.create_task(
                keep_running(
                    "flaky", flaky, first_backoff_s=0.01, max_backoff_s=0.05, health=health
                )
            ),
            tg.create_task(keep_running("steady", steady)),
        ]
        for _ in range(200):
            if len(starts) == 3:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert len(starts) == 3
        assert all(not t.done() for t in tasks)
        before = len(beats)
        await asyncio.sleep(0.05)
        assert len(beats) > before  # the other detector never stopped
        (problem,) = health.problems()  # the console's banner names it
        assert (problem.name, problem.error) == ("flaky", "OSError: store unreachable")
        for task in tasks:
            task.cancel()
    assert all(t.cancelled() for t in tasks)  # cancellation is not swallowed
    assert caplog.text.count("detector_failed name=flaky") == 2
    assert "OSError: store unreachable" in caplog.text


async def test_a_stop_that_lands_with_a_failure_stops_the_detector() -> None:
    # a TaskGroup that is cancelled as a child fails raises the failure, not the cancellation:
    # the detector must then stop, not be restarted (the service would never exit)
    go = asyncio.Event()
    starts = 0

    async def fails_in_a_group() -> None:
        nonlocal starts
        starts += 1

        async def child() -> None:
            await go.wait()
            raise OSError("broker refused")

        async with asyncio.TaskGroup() as tg:
            tg.create_task(child())

    task = asyncio.create_task(keep_running("tests", fails_in_a_group, first_backoff_s=0.01))
    assert await stopped_as(task, go.set), f"restarted after the stop ({starts} starts)"
    assert starts == 1


async def test_a_detector_whose_task_group_fails_is_still_restarted() -> None:
    # the TaskGroup cancels its parent (this detector) to stop its other children, and takes
    # that request back as it raises: not a stop, so the detector is started again
    starts = 0

    async def fails_in_a_group() -> None:
        nonlocal starts
        starts += 1

        async def child() -> None:
            raise OSError("broker refused")

        async with asyncio.TaskGroup() as tg:
            tg.create_task(child())
            await asyncio.Event().wait()

    task = asyncio.create_task(
        keep_running("tests", fails_in_a_group, first_backoff_s=0.01, max_backoff_s=0.02)
    )
    for _ in range(200):
        if starts >= 3:
            break
        await asyncio.sleep(0.01)
    assert starts >= 3
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
