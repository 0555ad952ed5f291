"""In-process fan-out of alert changes to live pages; a subscriber that falls behind is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from alerts.views import AlertChange

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE_SIZE = 256  # a page this far behind reloads faster than it would catch up


class _Subscription:
    """One subscriber's bounded queue; ``None`` in it means "you were disconnected"."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[AlertChange | None] = asyncio.Queue(maxsize=size)
        self.dropped = False

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> AlertChange:
        change = await self.queue.get()
        if change is None:
            raise StopAsyncIteration
        return change

    def drop(self) -> None:
        """Throw away what is queued and end the iteration."""
        self.dropped = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class AlertFeed:
    """Publishes every committed alert change to every subscriber (one process)."""

    def __init__(self, queue_size: int = SUBSCRIBER_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[_Subscription] = set()

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are connected."""
        return len(self._subscribers)

    def publish(self, change: AlertChange) -> None:
        """Hand ``change`` to every subscriber without blocking; drop those whose queue is full."""
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(change)
            except asyncio.QueueFull:
                self._subscribers.discard(sub)
                sub.drop()
                log.warning(
                    "alert_feed_subscriber_dropped reason=queue_full size=%d alert_id=%d",
                    self._queue_size,
                    change.alert.id,
                )

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[AlertChange]]:
        """Changes published from now on, until the block exits or the subscriber is dropped."""
        sub = _Subscription(self._queue_size)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)
