"""Making the lost-cancellation race on purpose (docs/architecture.md, "A stop is never lost").

The stop and whatever the task is waiting for land in one callback, so in one turn of the event
loop: exactly the moment at which Python 3.11's ``asyncio.wait_for`` (and a failing TaskGroup)
swallow the cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

ENDS_WITHIN_S = 2.0


async def stopped_as(task: asyncio.Task[None], settle: Callable[[], None]) -> bool:
    """``settle()`` and cancel ``task`` in one callback; whether it then ends, cancelled."""

    def both() -> None:
        settle()
        task.cancel()

    await asyncio.sleep(0)  # the task is waiting now
    asyncio.get_running_loop().call_soon(both)
    done, _ = await asyncio.wait({task}, timeout=ENDS_WITHIN_S)
    return bool(done) and task.cancelled()
