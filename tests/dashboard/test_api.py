"""The JSON API: who sees which alerts and residents, acknowledge and resolve, health."""

from __future__ import annotations

import httpx
import pytest

from tests.dashboard.conftest import World, token_for


@pytest.fixture
async def alerts(world: World) -> dict[str, int]:
    """One fall in each station."""
    a = await world.raise_alert("gw-a", "fall")
    world.clock.advance(60)
    b = await world.raise_alert("gw-b", "call_button")
    return {"a": a.id, "b": b.id}


async def _ids(client: httpx.AsyncClient, username: str, path: str = "/api/v1/alerts") -> set[int]:
    response = await client.get(path, headers=await token_for(client, username))
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()}


async def test_alert_fields(
    world: World, client: httpx.AsyncClient, alerts: dict[str, int]
) -> None:
    response = await client.get(
        f"/api/v1/alerts/{alerts['a']}", headers=await token_for(client, "staff_a")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "fall"
    assert body["priority"] == "high"
    assert body["state"] == "open"
    assert body["resident_id"] == world.ids["resident_a"]
    assert body["resident_name"] == "王秀英"
    assert body["raised_at"].startswith("2025-03-01T01:30:00")
    assert body["acked_at"] is None
    assert body["resolved_at"] is None


async def test_each_role_sees_only_its_alerts(
    client: httpx.AsyncClient, alerts: dict[str, int]
) -> None:
    assert await _ids(client, "admin") == {alerts["a"], alerts["b"]}
    assert await _ids(client, "staff_a") == {alerts["a"]}
    assert await _ids(client, "manager_a") == {alerts["a"]}
    assert await _ids(client, "staff_b") == {alerts["b"]}
    assert await _ids(client, "family_a") == {alerts["a"]}


async def test_installers_get_no_health_data(
    client: httpx.AsyncClient, alerts: dict[str, int]
) -> None:
    headers = await token_for(client, "installer")
    for path in ("/api/v1/alerts", f"/api/v1/alerts/{alerts['a']}", "/api/v1/residents"):
        assert (await client.get(path, headers=headers)).status_code == 403, path
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


async def test_another_stations_alert_is_404(
    client: httpx.AsyncClient, alerts: dict[str, int]
) -> None:
    headers = await token_for(client, "staff_a")
    assert (await client.get(f"/api/v1/alerts/{alerts['b']}", headers=headers)).status_code == 404
    ack = await client.post(f"/api/v1/alerts/{alerts['b']}/ack", headers=headers)
    assert ack.status_code == 404
    assert (await client.get("/api/v1/alerts/999999", headers=headers)).status_code == 404


async def test_acknowledge_then_resolve(
    world: World, client: httpx.AsyncClient, alerts: dict[str, int]
) -> None:
    headers = await token_for(client, "staff_a")
    world.clock.advance(30)
    ack = await client.post(f"/api/v1/alerts/{alerts['a']}/ack", headers=headers)
    assert ack.status_code == 200
    assert ack.json()["state"] == "acknowledged"
    assert ack.json()["acked_by"] == "staff_a"
    again = await client.post(f"/api/v1/alerts/{alerts['a']}/ack", headers=headers)
    assert again.status_code == 200, "acknowledging twice is harmless"
    open_only = await client.get("/api/v1/alerts", params={"state": "open"}, headers=headers)
    assert open_only.json() == []
    resolved = await client.post(
        f"/api/v1/alerts/{alerts['a']}/resolve",
        json={"outcome": "visited", "note": "helped up, no injury"},
        headers=headers,
    )
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["state"], body["outcome"], body["note"]) == (
        "resolved",
        "visited",
        "helped up, no injury",
    )
    late_ack = await client.post(f"/api/v1/alerts/{alerts['a']}/ack", headers=headers)
    assert late_ack.status_code == 409


async def test_resolve_rejects_an_unknown_outcome(
    client: httpx.AsyncClient, alerts: dict[str, int]
) -> None:
    response = await client.post(
        f"/api/v1/alerts/{alerts['a']}/resolve",
        json={"outcome": "lost"},
        headers=await token_for(client, "staff_a"),
    )
    assert response.status_code == 422


async def test_family_may_read_but_not_handle(
    client: httpx.AsyncClient, alerts: dict[str, int]
) -> None:
    headers = await token_for(client, "family_a")
    assert (await client.get(f"/api/v1/alerts/{alerts['a']}", headers=headers)).status_code == 200
    assert (
        await client.post(f"/api/v1/alerts/{alerts['a']}/ack", headers=headers)
    ).status_code == 403
    resolve = await client.post(
        f"/api/v1/alerts/{alerts['a']}/resolve", json={"outcome": "visited"}, headers=headers
    )
    assert resolve.status_code == 403


async def test_state_filter_must_be_a_known_state(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/alerts", params={"state": "lost"}, headers=await token_for(client, "admin")
    )
    assert response.status_code == 422


async def test_residents_by_role(world: World, client: httpx.AsyncClient) -> None:
    a, b = world.ids["resident_a"], world.ids["resident_b"]
    assert await _ids(client, "admin", "/api/v1/residents") == {a, b}
    assert await _ids(client, "staff_b", "/api/v1/residents") == {b}
    assert await _ids(client, "family_a", "/api/v1/residents") == {a}
    headers = await token_for(client, "family_a")
    one = await client.get(f"/api/v1/residents/{a}", headers=headers)
    assert one.status_code == 200
    assert one.json()["name"] == "王秀英"
    assert (await client.get(f"/api/v1/residents/{b}", headers=headers)).status_code == 404


async def test_healthz_follows_readiness(world: World, client: httpx.AsyncClient) -> None:
    world.ready[0] = False
    starting = await client.get("/healthz")
    assert starting.status_code == 503
    world.ready[0] = True
    ready = await client.get("/healthz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "problems": []}


async def test_openapi_lists_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/alerts/{alert_id}/resolve" in spec["paths"]
    assert "/console" not in spec["paths"]


async def test_an_open_high_priority_alert_latches_until_acknowledged(
    client: httpx.AsyncClient, alerts: dict[str, int]
) -> None:
    headers = await token_for(client, "staff_a")
    early = await client.post(
        f"/api/v1/alerts/{alerts['a']}/resolve", json={"outcome": "false_alarm"}, headers=headers
    )
    assert early.status_code == 409
    assert (await client.get(f"/api/v1/alerts/{alerts['a']}", headers=headers)).json()[
        "state"
    ] == "open"
