"""Server-sent events of alert changes, filtered to what the caller may see, with a heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request

from alerts.feed import AlertFeed
from alerts.views import AlertChange, AlertView
from dashboard.access import Scope

log = logging.getLogger(__name__)

SSE_MEDIA_TYPE = "text/event-stream"
HEARTBEAT_S = 15.0  # below the idle timeouts of common proxies (30-60 s)
RETRY_MS = 3000  # how soon a browser reconnects after the stream drops


RowRenderer = Callable[[AlertView], dict[str, Any]]
# The caller's scope as it is now; None once they may no longer read alerts (deactivated, role
# changed). Asked again at every change and heartbeat, so that a removed family link or a
# deactivation takes effect on an open stream, not only when it reconnects.
ScopeSource = Callable[[], Awaitable[Scope | None]]


def format_event(change: AlertChange, render: RowRenderer) -> str:
    """One SSE message for a change: ``event: alert`` with the action and the row as JSON."""
    data = {"action": change.action, "alert": render(change.alert)}
    return f"event: alert\nid: {change.alert.id}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def alert_events(
    request: Request,
    feed: AlertFeed,
    current_scope: ScopeSource,
    render: RowRenderer,
    banner: Callable[[], list[str]] | None = None,
) -> AsyncIterator[str]:
    """The SSE body: a retry hint, then each visible change, and a comment every HEARTBEAT_S.

    With ``banner``, an ``event: platform`` carries the lines of the "detection not running"
    banner whenever they change (checked at every change and heartbeat; a page that connects
    while detection is down gets them at once).

    The stream ends when ``current_scope`` says the caller lost access; the browser reconnects
    and is then refused by the usual checks.
    """
    async with feed.subscribe() as changes:
        # Sent once subscribed, so a client that saw it misses no change from then on.
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        iterator = aiter(changes)
        pending: asyncio.Future[AlertChange] | None = None
        shown: list[str] = []  # the page was rendered with the banner of that moment
        log.info("stream_opened client=%s", request.client)
        try:
            while True:
                if banner is not None and (lines := banner()) != shown:
                    shown = lines
                    yield f"event: platform\ndata: {json.dumps({'lines': lines}, ensure_ascii=False)}\n\n"
                if pending is None:
                    pending = asyncio.ensure_future(anext(iterator))
                # wait() rather than wait_for(): a heartbeat must not cancel the pending read.
                # A closed client is noticed by Starlette, which cancels this generator.
                done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_S)
                scope = await current_scope()
                if scope is None:
                    log.info("stream_revoked client=%s", request.client)
                    return
                if pending not in done:
                    yield ": heartbeat\n\n"
                    continue
                try:
                    change = pending.result()
                except StopAsyncIteration:
                    log.info("stream_feed_closed client=%s", request.client)
                    return
                finally:
                    pending = None
                if scope.allows_alert(change.alert):
                    yield format_event(change, render)
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
            log.info("stream_closed client=%s", request.client)
