"""Operators see ingest's rejected messages, with their reasons; nobody else does."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.dashboard.conftest import World, token_for


async def test_admin_sees_rejected_messages_and_counts(
    world: World, client: httpx.AsyncClient
) -> None:
    quarantine = world.ctx.quarantine
    assert quarantine is not None
    await quarantine.put(
        "range", "anxin/v1/gw-1/readings", b'{"m":"heart_rate","val":900}',
        datetime(2026, 3, 1, tzinfo=UTC), "heart_rate 900 outside 20..250",
    )  # fmt: skip
    await quarantine.put(
        "json", "anxin/v1/gw-2/readings", b"{not json", datetime(2026, 3, 1, tzinfo=UTC)
    )
    headers = await token_for(client, "admin")
    listed = (await client.get("/api/v1/quarantine", headers=headers)).json()
    assert [m["reason"] for m in listed] == ["json", "range"]  # newest first
    assert listed[1]["detail"] == "heart_rate 900 outside 20..250"
    assert "900" in listed[1]["payload_preview"]
    counts = (await client.get("/api/v1/quarantine/counts", headers=headers)).json()
    assert counts == {"range": 1, "json": 1}


async def test_staff_family_and_installers_are_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    for who in ("staff_a", "family_a", "installer"):
        headers = await token_for(client, who)
        assert (await client.get("/api/v1/quarantine", headers=headers)).status_code == 403
