"""Alert writers as separate processes would be: ``AlertService`` objects on engines of their own."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.feed import AlertFeed
from alerts.service import AlertService, Outcome
from devices.clock import ManualClock
from registry.db import make_async_engine, make_sessionmaker
from tests.alerts.conftest import START, Home


@contextlib.asynccontextmanager
async def engine_sessions(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on an engine of their own (its own connections, like another process)."""
    engine = make_async_engine(url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def own_services(
    stack: contextlib.AsyncExitStack, url: str, count: int
) -> list[AlertService]:
    """``count`` alert services, each on its own engine, closed with ``stack``."""
    return [
        AlertService(
            await stack.enter_async_context(engine_sessions(url)), AlertFeed(), ManualClock(START)
        )
        for _ in range(count)
    ]


async def raise_ack_resolve(
    service: AlertService, home: Home, writer: int, count: int
) -> set[tuple[str, int]]:
    """Raise, acknowledge and resolve ``count`` alerts of gw-1; the (action, alert id) made."""
    made: set[tuple[str, int]] = set()
    for n in range(count):
        view = await service.raise_condition(
            kind="inactivity",
            gateway_id="gw-1",
            resident_id=home.resident_id,
            fingerprint=f"inactivity:gw-1:w{writer}:{n}",
            summary=f"writer {writer} #{n}",
            priority="medium",
        )
        assert view is not None
        made.add(("raised", view.id))
        await service.acknowledge(view.id, home.staff_id)
        made.add(("acknowledged", view.id))
        await service.resolve(view.id, home.staff_id, Outcome.HANDLED_AT_HOME)
        made.add(("resolved", view.id))
    return made
