"""Lists that show residents' data (alerts API, console, board) leave one audit entry each."""

from __future__ import annotations

import httpx

from tests.dashboard.conftest import World, token_for
from tests.dashboard.test_pages import login


async def test_alert_list_and_board_reads_are_audited(
    world: World, client: httpx.AsyncClient
) -> None:
    assert world.ctx.audit is not None
    alert = await world.raise_alert("gw-a", "fall")
    headers = await token_for(client, "staff_a")
    assert (await client.get("/api/v1/alerts", headers=headers)).status_code == 200
    entries = await world.ctx.audit.entries(subject="residents")
    (api_read,) = [e for e in entries if e.data.get("what") == "GET /api/v1/alerts"]
    assert api_read.actor == f"user:{world.ids['staff_a']}"
    assert alert.resident_id in api_read.data["residents"]
    await login(client, "staff_a")
    assert (await client.get("/residents")).status_code == 200
    assert (await client.get("/console")).status_code == 200
    whats = {e.data.get("what") for e in await world.ctx.audit.entries(subject="residents")}
    assert {"/residents", "/console"} <= whats
    verdict = await world.ctx.audit.verify()
    assert verdict.ok
