"""Many processes changing alerts at once: every change lands, none gives up on lost races.

Every alert change appends to the audit chain in the same transaction, so concurrent writers
serialise on its newest entry and all but one lose each round. A writer that retried at once
met the same crowd again and gave up after four rounds ("lost 4 races in a row"): a console's
acknowledgement failed, a detector's finding waited for the next sweep.
"""

from __future__ import annotations

import asyncio
import contextlib

from alerts.feed import AlertFeed
from alerts.service import AlertService, Outcome
from devices.clock import ManualClock
from tests.alerts.conftest import START, Home
from tests.alerts.test_follower import engine_sessions

WRITERS, PER_WRITER = 8, 4


async def test_concurrent_writers_on_their_own_connections_all_succeed(
    home: Home, database_url: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        services = [
            AlertService(
                await stack.enter_async_context(engine_sessions(database_url)),
                AlertFeed(),
                ManualClock(START),
            )
            for _ in range(WRITERS)
        ]

        async def write(index: int, service: AlertService) -> int:
            for n in range(PER_WRITER):
                view = await service.raise_condition(
                    kind="inactivity",
                    gateway_id="gw-1",
                    resident_id=home.resident_id,
                    fingerprint=f"inactivity:gw-1:w{index}:{n}",
                    summary=f"writer {index} #{n}",
                    priority="medium",
                )
                assert view is not None
                await service.acknowledge(view.id, home.staff_id)
                await service.resolve(view.id, home.staff_id, Outcome.HANDLED_AT_HOME)
            return PER_WRITER

        done = await asyncio.gather(*(write(i, s) for i, s in enumerate(services)))
    assert sum(done) == WRITERS * PER_WRITER
    resolved = await home.service.list(states=["resolved"], limit=1000)
    assert len(resolved) == WRITERS * PER_WRITER
