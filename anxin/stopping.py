"""Stopping a service's tasks, also when one of them misses the request.

Every long-running task of a service stops on cancellation. On Python 3.11 a cancellation can
be lost: ``asyncio.wait_for`` (aiomqtt's CONNACK and SUBACK waits, database drivers) returns the
awaited result instead of raising ``CancelledError`` when both land in the same turn of the
event loop (CPython gh-86296, fixed in 3.12), and a ``TaskGroup`` whose child fails as it is
cancelled raises the failure instead. Our loops check for that (``ingest.reconnect``,
``anxin.monitors.keep_running``); this is the backstop for the loops that do not: if the tasks
have not all ended ``grace_s`` after the stop, every other task still running in the process is
cancelled — nested ones too (a ``TaskGroup`` already stopping does not pass a second
cancellation on to its children) — and the log says which were late.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0  # the clean-up of a cancelled task (closing a store, a session) takes less


async def cancel_until_done(
    tasks: Iterable[asyncio.Task[None]], grace_s: float = STOP_GRACE_S
) -> None:
    """Cancel ``tasks`` and wait until every one has ended; after each ``grace_s`` in which
    some have not, cancel every other unfinished task of the event loop again.

    For the composition root of a process that is stopping (``anxin up``, ``anxin alerts run``):
    the second round reaches every task of the process but the one awaiting this, so await it
    in the process's main task itself (not through ``wait_for``, which would make a new task).
    """
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    this = asyncio.current_task()
    while pending:
        _, pending = await asyncio.wait(pending, timeout=grace_s)
        if not pending:
            return
        log.warning(
            "tasks_cancelled_again late=%s after_s=%.1f",
            ",".join(sorted(task.get_name() for task in pending)),
            grace_s,
        )
        for task in asyncio.all_tasks():
            if task is not this:
                task.cancel()
