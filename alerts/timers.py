"""Waiting on an injected clock: sleep until a due time or until woken, never spin."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from devices.clock import Clock


async def wait_until(clock: Clock, due: datetime | None, wake: asyncio.Event) -> None:
    """Return at ``due`` (on ``clock``) or as soon as ``wake`` is set, whichever is first.

    With nothing due, or on a clock whose time does not pass by itself (ManualClock, which maps
    every wait to 0 real seconds), only ``wake`` ends the wait: whoever moves that clock wakes us.
    """
    if due is not None:
        seconds = (due - clock.now()).total_seconds()
        if seconds <= 0:
            wake.clear()
            return
        real = clock.to_real_seconds(seconds)
        if real > 0:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a stop (cancellation)
            # that lands as ``wake`` is set, and the loop around us would then never end
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(real):
                    await wake.wait()
            wake.clear()
            return
    await wake.wait()
    wake.clear()
