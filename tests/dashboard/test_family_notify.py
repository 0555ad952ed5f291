"""Family members set their own channels, quiet hours and muted kinds — for their relative only."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from alerts.models import Contact
from tests.dashboard.conftest import World
from tests.dashboard.test_pages import login


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


async def test_family_saves_channels_quiet_hours_and_muted_kinds(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "family_a")
    page = await client.get("/family/notifications")
    assert page.status_code == 200
    resident = world.ids["resident_a"]
    saved = await client.post(
        f"/family/notifications/{resident}",
        data={
            "csrf": _csrf(page.text),
            "urls": "json://127.0.0.1:9/hook\nmailto://a:b@example.com",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "muted": ["missed_meal", "fall"],  # a high-priority kind cannot be muted
        },
    )
    assert saved.status_code == 303
    async with world.sessions() as session:
        contact = await session.scalar(
            select(Contact).where(Contact.user_id == world.ids["family_a"])
        )
    assert contact is not None
    assert contact.audience == "family"
    assert contact.resident_id == resident
    assert contact.urls.splitlines() == ["json://127.0.0.1:9/hook", "mailto://a:b@example.com"]
    assert (contact.quiet_start, contact.quiet_end) == ("22:00", "07:00")
    assert contact.muted_kinds == "missed_meal"
    again = await client.get("/family/notifications")
    assert "json://127.0.0.1:9/hook" in again.text


async def test_bad_input_is_refused_and_changes_nothing(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "family_a")
    csrf = _csrf((await client.get("/family/notifications")).text)
    resident = world.ids["resident_a"]
    bad_url = await client.post(
        f"/family/notifications/{resident}", data={"csrf": csrf, "urls": "not a url"}
    )
    assert bad_url.status_code == 400
    bad_hours = await client.post(
        f"/family/notifications/{resident}",
        data={
            "csrf": csrf,
            "urls": "json://127.0.0.1:9/x",
            "quiet_start": "25:00",
            "quiet_end": "x",
        },
    )
    assert bad_hours.status_code == 400
    async with world.sessions() as session:
        assert (
            await session.scalar(select(Contact).where(Contact.user_id == world.ids["family_a"]))
            is None
        )


async def test_another_residents_settings_are_not_found(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "family_a")
    csrf = _csrf((await client.get("/family/notifications")).text)
    other = world.ids["resident_b"]
    refused = await client.post(
        f"/family/notifications/{other}", data={"csrf": csrf, "urls": "json://127.0.0.1:9/x"}
    )
    assert refused.status_code == 404
