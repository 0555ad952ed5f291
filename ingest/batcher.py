"""Take items off a bounded queue in batches closed by size or by age."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def next_batch(
    queue: asyncio.Queue[T], size_of: Callable[[T], int], max_size: int, max_age_s: float
) -> list[T]:
    """Wait for one item, then add more until ``max_size`` is reached or ``max_age_s`` has passed.

    The age runs from the first item, so a lone item waits at most ``max_age_s``; a batch may
    exceed ``max_size`` by its last item, which is never split.
    """
    first = await queue.get()
    batch = [first]
    size = size_of(first)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_age_s
    while size < max_size:
        try:
            item = queue.get_nowait()
        except asyncio.QueueEmpty:
            try:
                async with asyncio.timeout_at(deadline):
                    item = await queue.get()
            except TimeoutError:
                break
        batch.append(item)
        size += size_of(item)
    return batch
