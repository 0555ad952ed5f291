"""Many processes changing alerts at once: every change lands, none gives up on lost races.

Every alert change appends to the audit chain in the same transaction, so concurrent writers
serialise on its newest entry. A writer that retried at once met the same crowd again and gave
up after four rounds ("lost 4 races in a row"): a console's acknowledgement failed, a detector's
finding waited for the next sweep.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.alerts.conftest import Home
from tests.alerts.writers import own_services, raise_ack_resolve

WRITERS, PER_WRITER = 8, 4


async def test_concurrent_writers_on_their_own_connections_all_succeed(
    home: Home, database_url: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        services = await own_services(stack, database_url, WRITERS)
        made = await asyncio.gather(
            *(raise_ack_resolve(s, home, i, PER_WRITER) for i, s in enumerate(services))
        )
    assert len(set().union(*made)) == WRITERS * PER_WRITER * 3
    resolved = await home.service.list(states=["resolved"], limit=1000)
    assert len(resolved) == WRITERS * PER_WRITER
