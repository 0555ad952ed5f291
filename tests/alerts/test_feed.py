"""The in-process feed: fan-out, bounded queues, slow subscribers dropped."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from alerts.feed import AlertFeed
from alerts.views import AlertChange, AlertView

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def change(alert_id: int, action: str = "raised") -> AlertChange:
    view = AlertView(
        id=alert_id,
        kind="fall",
        priority="high",
        state="open",
        resident_id=1,
        resident_name="王秀英",
        home_id=1,
        station_id=1,
        gateway_id="gw-1",
        raised_at=T0,
        acked_at=None,
        acked_by=None,
        resolved_at=None,
        outcome=None,
        note="",
        evidence_count=1,
        summary="",
    )
    return AlertChange(action, view)


async def test_every_subscriber_gets_every_change_in_order() -> None:
    feed = AlertFeed()
    async with feed.subscribe() as first, feed.subscribe() as second:
        assert feed.subscriber_count == 2
        for i in range(3):
            feed.publish(change(i))
        got_first = [(await anext(aiter(first))).alert.id for _ in range(3)]
        got_second = [(await anext(aiter(second))).alert.id for _ in range(3)]
    assert got_first == got_second == [0, 1, 2]
    assert feed.subscriber_count == 0


async def test_publish_without_subscribers_is_a_no_op() -> None:
    AlertFeed().publish(change(1))


async def test_a_full_subscriber_is_dropped_and_others_keep_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = AlertFeed(queue_size=2)
    caplog.set_level(logging.WARNING, "alerts.feed")
    async with feed.subscribe() as slow, feed.subscribe() as fast:
        fast_it = aiter(fast)
        feed.publish(change(1))
        feed.publish(change(2))
        assert (await anext(fast_it)).alert.id == 1
        assert (await anext(fast_it)).alert.id == 2
        feed.publish(change(3))  # slow's queue holds 1, 2: full -> dropped
        assert feed.subscriber_count == 1
        received = [c.alert.id async for c in slow]
        assert received == []  # ends at once: the page reloads rather than showing a gap
        assert (await asyncio.wait_for(anext(fast_it), 1)).alert.id == 3
    assert "alert_feed_subscriber_dropped" in caplog.text
