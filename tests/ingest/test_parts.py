"""The consumer's pure parts: batching, de-duplication memory, backoff, catalog validation."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from devices.payloads import ReadingIn, ReadingsMessage
from ingest.backoff import Backoff
from ingest.batcher import next_batch
from ingest.dedupe import SeenMessages
from ingest.validation import split_readings

T0 = datetime(2024, 5, 1, tzinfo=UTC)


async def test_batch_closes_by_size_without_waiting_for_age() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in (2, 2, 2, 2):
        queue.put_nowait(n)
    async with asyncio.timeout(5):
        batch = await next_batch(queue, lambda n: n, max_size=5, max_age_s=3600)
    assert batch == [2, 2, 2]
    assert queue.qsize() == 1


async def test_batch_closes_by_age_with_what_it_has() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    queue.put_nowait(1)
    batch = await next_batch(queue, lambda n: n, max_size=100, max_age_s=0.0)
    assert batch == [1]


async def test_batch_waits_for_first_item() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    task = asyncio.create_task(next_batch(queue, lambda n: n, max_size=1, max_age_s=0.0))
    await asyncio.sleep(0)  # let it block on the empty queue
    assert not task.done()
    queue.put_nowait(7)
    async with asyncio.timeout(5):
        assert await task == [7]


def test_seen_messages_forgets_least_recently_used() -> None:
    seen = SeenMessages(capacity=2)
    seen.add(("gw", "b", 1))
    seen.add(("gw", "b", 2))
    assert seen.seen(("gw", "b", 1))  # now 2 is the least recently used
    seen.add(("gw", "b", 3))
    assert len(seen) == 2
    assert seen.seen(("gw", "b", 1))
    assert not seen.seen(("gw", "b", 2))
    assert seen.seen(("gw", "b", 3))


def test_backoff_is_capped_jittered_and_resets() -> None:
    backoff = Backoff(initial_s=0.5, cap_s=4.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(50)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 40  # jittered, not a fixed ladder
    assert max(delays[10:]) > 2.0  # grew to near the cap
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_split_readings_keeps_good_and_names_each_bad_one() -> None:
    message = ReadingsMessage(
        gw="gw-a",
        boot="b1",
        seq=4,
        sent_at=T0,
        readings=[
            ReadingIn(dev="band", m="heart_rate", val=60, t=T0),
            ReadingIn(dev="band", m="heart_rate", val=400, t=T0),
            ReadingIn(dev="band", m="mood", val=1, t=T0),
        ],
    )
    good, bad = split_readings("anxin/v1/gw-a/readings", message, T0)
    assert [(r.measurement, r.value, r.received_at) for r in good] == [("heart_rate", 60.0, T0)]
    assert [b.reason for b in bad] == ["range", "unknown_measurement"]
    assert "seq=4" in bad[0].detail
