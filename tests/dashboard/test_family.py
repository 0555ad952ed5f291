"""The family portal: only linked residents, today's status in words, 好差评 on handled alerts."""

from __future__ import annotations

import re

import httpx

from tests.dashboard.conftest import World, live_a_morning, token_for
from tests.dashboard.test_pages import login


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match is not None
    return match.group(1)


async def test_family_page_says_today_in_plain_words(
    world: World, client: httpx.AsyncClient
) -> None:
    await live_a_morning(world)
    await login(client, "family_a")
    en = await client.get("/family", headers={"Accept-Language": "en"})
    assert "got up at 07:10, has been in the kitchen" in en.text
    zh = await client.get("/family")
    assert "07:10 起床，最近在厨房活动" in zh.text
    assert "Li Wei" not in en.text


async def test_family_rates_a_handled_alert_once_and_may_change_it(
    world: World, client: httpx.AsyncClient
) -> None:
    alert = await world.raise_alert("gw-a", "call_button")
    world.clock.advance(90)
    await world.ctx.alerts.acknowledge(alert.id, world.ids["staff_a"])
    await login(client, "family_a")
    page = await client.get("/family", headers={"Accept-Language": "en"})
    assert "answered within 2 min" in page.text
    assert f'action="/family/alerts/{alert.id}/rating"' not in page.text  # not handled yet
    csrf = _csrf(page.text)
    early = await client.post(
        f"/family/alerts/{alert.id}/rating", data={"csrf": csrf, "rating": "good"}
    )
    assert early.status_code == 409

    await world.handle(alert.id, "staff_a")
    bad_csrf = await client.post(
        f"/family/alerts/{alert.id}/rating", data={"csrf": "forged", "rating": "good"}
    )
    assert bad_csrf.status_code == 403
    for rating in ("bad", "good"):
        done = await client.post(
            f"/family/alerts/{alert.id}/rating",
            data={"csrf": csrf, "rating": rating, "comment": "很快"},
        )
        assert done.status_code == 303
    page = await client.get("/family", headers={"Accept-Language": "en"})
    assert "Your rating: Good" in page.text
    assert "Your rating: Poor" not in page.text


async def test_family_cannot_rate_another_residents_alert(
    world: World, client: httpx.AsyncClient
) -> None:
    other = await world.raise_alert("gw-b", "call_button")
    await world.handle(other.id, "staff_b", "false_alarm")
    await login(client, "family_a")
    csrf = _csrf((await client.get("/family")).text)
    page = await client.post(
        f"/family/alerts/{other.id}/rating", data={"csrf": csrf, "rating": "bad"}
    )
    assert page.status_code == 404
    headers = await token_for(client, "family_a")
    api = await client.put(
        f"/api/v1/alerts/{other.id}/rating", json={"rating": "bad"}, headers=headers
    )
    assert api.status_code == 404


async def test_rating_through_the_api(world: World, client: httpx.AsyncClient) -> None:
    alert = await world.raise_alert("gw-a", "call_button")
    headers = await token_for(client, "family_a")
    early = await client.put(
        f"/api/v1/alerts/{alert.id}/rating", json={"rating": "good"}, headers=headers
    )
    assert early.status_code == 409
    await world.handle(alert.id, "staff_a")
    done = await client.put(
        f"/api/v1/alerts/{alert.id}/rating",
        json={"rating": "good", "comment": "ok"},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["rating"] == "good"
    staff = await token_for(client, "staff_a")
    refused = await client.put(
        f"/api/v1/alerts/{alert.id}/rating", json={"rating": "bad"}, headers=staff
    )
    assert refused.status_code == 403
