"""The server-sent event stream over a real HTTP server, filtered per caller."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from registry.people import link_family, set_active, unlink_family
from tests.dashboard.conftest import World, alert_stream, token_for


async def _next_alert_event(lines: Any) -> dict[str, Any]:
    async for line in lines:
        if line.startswith("data: "):
            data: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return data
    raise AssertionError("stream ended")


async def test_stream_sends_only_visible_changes(world: World, served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=10) as http:
        headers = await token_for(http, "staff_a")
        async with alert_stream(http, headers) as lines:
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


async def test_an_open_stream_follows_a_removed_family_link(world: World, served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=10) as http:
        headers = await token_for(http, "family_a")
        async with alert_stream(http, headers) as lines:
            family = world.ids["family_a"]
            async with world.sessions() as session:
                await unlink_family(session, user_id=family, resident_id=world.ids["resident_a"])
                await link_family(session, user_id=family, resident_id=world.ids["resident_b"])
                await session.commit()
            # Changes arrive in order: the first one shown must be the newly linked resident's.
            await world.raise_alert("gw-a", "fall")
            newly_linked = await world.raise_alert("gw-b", "fall")
            first = await asyncio.wait_for(_next_alert_event(lines), timeout=10)
            assert first["alert"]["id"] == newly_linked.id


async def test_an_open_stream_ends_when_the_user_is_deactivated(world: World, served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=10) as http:
        headers = await token_for(http, "staff_a")
        async with alert_stream(http, headers) as lines:
            async with world.sessions() as session:
                await set_active(
                    session, user_id=world.ids["staff_a"], active=False, actor_id=world.ids["admin"]
                )
                await session.commit()
            await world.raise_alert("gw-a", "fall")
            with pytest.raises(AssertionError, match="stream ended"):
                await asyncio.wait_for(_next_alert_event(lines), timeout=10)
        again = await http.get("/api/v1/alerts/stream", headers=headers)
        assert again.status_code == 401
