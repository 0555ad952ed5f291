"""The server-sent event stream over a real HTTP server, filtered per caller."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.dashboard.conftest import World, token_for


async def _next_alert_event(lines: Any) -> dict[str, Any]:
    async for line in lines:
        if line.startswith("data: "):
            data: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return data
    raise AssertionError("stream ended")


async def test_stream_sends_only_visible_changes(world: World, served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=10) as http:
        headers = await token_for(http, "staff_a")
        async with http.stream("GET", "/api/v1/alerts/stream", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert await anext(lines) == "retry: 3000"
            assert await anext(lines) == ": connected"
            # The subscription is open once the first chunk arrived: raise one alert per station.
            other = await world.raise_alert("gw-b", "fall")
            own = await world.raise_alert("gw-a", "fall")
            first = await asyncio.wait_for(_next_alert_event(lines), timeout=10)
            assert first["action"] == "raised"
            assert first["alert"]["id"] == own.id != other.id
            assert 'id="alert-' in first["alert"]["html"]
            await world.ctx.alerts.acknowledge(own.id, world.ids["staff_a"])
            second = await asyncio.wait_for(_next_alert_event(lines), timeout=10)
            assert second["action"] == "acknowledged"
            assert second["alert"]["state"] == "acknowledged"


async def test_stream_refuses_installers(served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=10) as http:
        headers = await token_for(http, "installer")
        response = await http.get("/api/v1/alerts/stream", headers=headers)
        assert response.status_code == 403
