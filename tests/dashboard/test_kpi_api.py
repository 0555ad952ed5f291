"""Station KPIs per week through the API: managers see their station's, admins every station's."""

from __future__ import annotations

import httpx
import pytest

from alerts.service import Outcome
from tests.dashboard.conftest import World, token_for


async def test_manager_sees_their_stations_week(world: World, client: httpx.AsyncClient) -> None:
    fall = await world.raise_alert("gw-a", "fall")
    world.clock.advance(30)
    await world.ctx.alerts.acknowledge(fall.id, world.ids["staff_a"])
    world.clock.advance(90)
    await world.ctx.alerts.resolve(fall.id, world.ids["staff_a"], Outcome.FALSE_ALARM)
    call = await world.raise_alert("gw-a", "call_button")
    world.clock.advance(60)
    await world.ctx.alerts.acknowledge(call.id, world.ids["staff_a"])
    await world.raise_alert("gw-b", "fall")  # the other station's
    headers = await token_for(client, "manager_a")
    (mine,) = (await client.get("/api/v1/kpis", headers=headers)).json()
    assert mine["station_id"] == world.ids["station_a"]
    assert (mine["alerts"], mine["unresolved"], mine["resolved"]) == (2, 1, 1)
    assert mine["ack_median_s"] == pytest.approx(45.0)
    assert mine["false_alarm_rate"] == 1.0
    assert mine["alerts_per_resident"] == 2.0
    everything = (await client.get("/api/v1/kpis", headers=await token_for(client, "admin"))).json()
    assert {k["station_id"] for k in everything} == {world.ids["station_a"], world.ids["station_b"]}


async def test_staff_family_and_installers_are_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    for who in ("staff_a", "family_a", "installer"):
        response = await client.get("/api/v1/kpis", headers=await token_for(client, who))
        assert response.status_code == 403
