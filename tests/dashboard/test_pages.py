"""Server-rendered pages: redirects by role, the console in both languages, the family page."""

from __future__ import annotations

import re

import httpx
import pytest

from dashboard import i18n
from tests.dashboard.conftest import PASSWORD, World


async def login(client: httpx.AsyncClient, username: str) -> None:
    """Sign in through the form, as a browser would."""
    form = await client.get("/login")
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match is not None
    response = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf": match.group(1)}
    )
    assert response.status_code == 303, response.text


async def test_anonymous_pages_redirect_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/console"


@pytest.mark.parametrize(
    ("username", "home"),
    [
        ("admin", "/console"),
        ("manager_a", "/console"),
        ("family_a", "/family"),
        ("installer", "/install"),
    ],
)
async def test_root_redirects_by_role(client: httpx.AsyncClient, username: str, home: str) -> None:
    await login(client, username)
    assert (await client.get("/")).headers["location"] == home
    assert (await client.get(home)).status_code == 200


async def test_family_and_installers_may_not_open_the_console(client: httpx.AsyncClient) -> None:
    await login(client, "family_a")
    assert (await client.get("/console")).status_code == 403


async def test_console_lists_visible_open_alerts_in_the_chosen_language(
    world: World, client: httpx.AsyncClient
) -> None:
    own = await world.raise_alert("gw-a", "fall")
    other = await world.raise_alert("gw-b", "fall")
    await login(client, "staff_a")
    english = await client.get("/console", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert f'id="alert-{own.id}"' in english.text
    assert f'id="alert-{other.id}"' not in english.text
    assert "Fall" in english.text
    assert "2025-03-01 09:30:00" in english.text, "raised time in the station's local time"
    chinese = await client.get("/console", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "跌倒" in chinese.text
    assert "王秀英" in chinese.text


async def test_language_link_sets_a_cookie_that_wins(client: httpx.AsyncClient) -> None:
    response = await client.get("/lang/en", params={"next": "/login"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    page = await client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert "Sign in" in page.text
    evil = await client.get("/lang/zh-CN", params={"next": "//evil.example"})
    assert evil.headers["location"] == "/"


async def test_family_page_shows_the_relative_and_history(
    world: World, client: httpx.AsyncClient
) -> None:
    await world.raise_alert("gw-a", "call_button")
    await world.raise_alert("gw-b", "fall")
    await login(client, "family_a")
    page = await client.get("/family", headers={"Accept-Language": "en"})
    assert "王秀英" in page.text
    assert "Call button" in page.text
    assert "Li Wei" not in page.text


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "zh-CN"),
        (None, "en-US,en;q=0.8", "en"),
        (None, "fr, en;q=0.5", "en"),
        (None, "en;q=0.4, zh-TW;q=0.9", "zh-CN"),
        ("en", "zh-CN", "en"),
        ("xx", "en", "en"),
    ],
)
def test_language_negotiation(cookie: str | None, header: str | None, expected: str) -> None:
    assert i18n.negotiate(cookie, header) == expected
