"""When automatic detection is not running, the console says so — it must not look like calm."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx

from alerts.detector_health import DetectorProblem
from tests.dashboard.conftest import START, World, alert_stream, token_for
from tests.dashboard.test_pages import login


async def test_console_banner_and_healthz_while_a_detector_is_down(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "staff_a")
    page = await client.get("/console")
    assert 'id="detectors" class="error" role="alert" hidden' in page.text
    assert (await client.get("/healthz")).json() == {"status": "ok", "problems": []}

    world.problems.append(DetectorProblem("routine", START, "OSError: store unreachable"))
    page = await client.get("/console")
    assert 'id="detectors" class="error" role="alert" hidden' not in page.text
    assert "活动与作息" in page.text
    assert "OSError: store unreachable" in page.text
    health = (await client.get("/healthz")).json()
    assert health["status"] == "degraded"
    assert health["problems"][0]["detector"] == "routine"
    client.cookies.set("lang", "en")
    page = await client.get("/console")
    assert "Automatic detection is not running" in page.text
    assert "Inactivity and routine (since" in page.text


async def test_an_open_console_learns_of_it_live(world: World, served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=10) as http:
        headers = {**await token_for(http, "staff_a"), "Accept-Language": "en"}
        async with alert_stream(http, headers) as lines:
            world.problems.append(
                DetectorProblem("routine", START - timedelta(minutes=5), "ValueError: x", homes=2)
            )
            await world.raise_alert("gw-a", "fall")  # any change (or the heartbeat) carries it

            async def platform() -> list[str]:
                async for line in lines:
                    if line == "event: platform":
                        data = json.loads((await anext(lines)).removeprefix("data: "))
                        return list(data["lines"])
                raise AssertionError("stream ended")

            (line,) = await asyncio.wait_for(platform(), timeout=20)
            assert line.startswith("Inactivity and routine: 2 homes not checked")
