"""Admin actions for people who leave: deactivate and reactivate, change a role, remove a link."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from dashboard import i18n
from registry.models import User
from tests.dashboard.conftest import PASSWORD, World, token_for
from tests.dashboard.test_admin import _csrf
from tests.dashboard.test_pages import login

NON_ADMINS = ("manager_a", "staff_a", "family_a", "installer")


@pytest.fixture
async def other(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same app (the person the admin acts on)."""
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _admin(client: httpx.AsyncClient) -> str:
    await login(client, "admin")
    return await _csrf(client)


async def _try_login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    form = await client.get("/login")
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match is not None
    return await client.post(
        "/login", data={"username": username, "password": password, "csrf": match.group(1)}
    )


async def _user(world: World, username: str) -> User:
    async with world.sessions() as session:
        user = await session.get(User, world.ids[username])
        assert user is not None
        return user


async def _actions(world: World, subject: str) -> list[tuple[str, str, dict[str, object]]]:
    assert world.ctx.audit is not None
    entries = await world.ctx.audit.entries(subject=subject)
    return [(e.actor, e.action, dict(e.data)) for e in entries if e.action != "read"]


async def test_deactivation_ends_sessions_and_tokens_and_refuses_login(
    world: World, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    await login(other, "staff_a")
    bearer = await token_for(other, "staff_a")
    assert (await other.get("/console")).status_code == 200
    assert (await other.get("/api/v1/me", headers=bearer)).status_code == 200
    csrf = await _admin(client)
    staff = world.ids["staff_a"]

    off = await client.post(
        "/admin/users/active", data={"csrf": csrf, "user_id": staff, "active": "false"}
    )

    assert off.status_code == 303
    assert off.headers["location"] == "/admin#users"
    assert not (await _user(world, "staff_a")).active
    page = await other.get("/console")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    assert (await other.get("/api/v1/me", headers=bearer)).status_code == 401
    assert (await other.get("/api/v1/residents", headers=bearer)).status_code == 401
    other.cookies.clear()
    refused = await _try_login(other, "staff_a", PASSWORD)
    wrong = await _try_login(other, "manager_a", "not the password")
    failed = i18n.translate(i18n.DEFAULT_LANGUAGE, "login.failed")
    assert refused.status_code == wrong.status_code == 401
    assert failed in refused.text
    assert failed in wrong.text
    token = await other.post(
        "/api/v1/auth/token", data={"username": "staff_a", "password": PASSWORD}
    )
    assert token.status_code == 401
    row = (await client.get("/admin")).text.split(f'id="user-{staff}"')[1].split("</tr>")[0]
    assert i18n.translate(i18n.DEFAULT_LANGUAGE, "admin.inactive") in row
    assert i18n.translate(i18n.DEFAULT_LANGUAGE, "admin.reactivate") in row

    on = await client.post(
        "/admin/users/active", data={"csrf": csrf, "user_id": staff, "active": "true"}
    )

    assert on.status_code == 303
    assert (await _try_login(other, "staff_a", PASSWORD)).status_code == 303
    assert (await other.get("/console")).status_code == 200
    admin = f"user:{world.ids['admin']}"
    assert await _actions(world, f"user:{staff}") == [
        (admin, "user_deactivated", {"username": "staff_a"}),
        (admin, "user_reactivated", {"username": "staff_a"}),
    ]


async def test_an_admin_cannot_deactivate_or_demote_themselves(
    world: World, client: httpx.AsyncClient
) -> None:
    csrf = await _admin(client)
    me = world.ids["admin"]

    off = await client.post(
        "/admin/users/active", data={"csrf": csrf, "user_id": me, "active": "false"}
    )
    demoted = await client.post(
        "/admin/users/role",
        data={"csrf": csrf, "user_id": me, "role": "staff", "station_id": world.ids["station_a"]},
    )

    assert off.headers["location"] == "/admin?error=self#users"
    assert demoted.headers["location"] == "/admin?error=self#users"
    user = await _user(world, "admin")
    assert user.active
    assert user.role == "admin"
    page = await client.get("/admin", params={"error": "self"})
    assert page.status_code == 200
    assert i18n.translate(i18n.DEFAULT_LANGUAGE, "admin.error.self") in page.text
    assert await _actions(world, f"user:{me}") == []


async def test_a_role_change_takes_effect_at_once_and_is_audited(
    world: World, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    bearer = await token_for(other, "staff_a")
    assert (await other.get("/api/v1/residents", headers=bearer)).status_code == 200
    csrf = await _admin(client)
    staff = world.ids["staff_a"]

    changed = await client.post(
        "/admin/users/role", data={"csrf": csrf, "user_id": staff, "role": "installer"}
    )

    assert changed.headers["location"] == "/admin#users"
    assert (await other.get("/api/v1/residents", headers=bearer)).status_code == 403
    assert (await _user(world, "staff_a")).role == "installer"
    admin = f"user:{world.ids['admin']}"
    assert await _actions(world, f"user:{staff}") == [
        (
            admin,
            "role_changed",
            {
                "username": "staff_a",
                "from": "staff",
                "to": "installer",
                "station_id": world.ids["station_a"],
            },
        )
    ]
    installer = world.ids["installer"]
    no_station = await client.post(
        "/admin/users/role", data={"csrf": csrf, "user_id": installer, "role": "manager"}
    )
    assert no_station.headers["location"] == "/admin?error=conflict#users"
    linked = await client.post(
        "/admin/users/role",
        data={
            "csrf": csrf,
            "user_id": world.ids["family_a"],
            "role": "staff",
            "station_id": world.ids["station_a"],
        },
    )
    assert linked.headers["location"] == "/admin?error=conflict#users"
    assert (await _user(world, "family_a")).role == "family"
    placed = await client.post(
        "/admin/users/role",
        data={
            "csrf": csrf,
            "user_id": installer,
            "role": "manager",
            "station_id": world.ids["station_b"],
        },
    )
    assert placed.headers["location"] == "/admin#users"
    promoted = await _user(world, "installer")
    assert (promoted.role, promoted.station_id) == ("manager", world.ids["station_b"])


async def test_removing_a_link_cuts_the_family_members_access(
    world: World, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    resident = world.ids["resident_a"]
    family = world.ids["family_a"]
    await login(other, "family_a")
    bearer = await token_for(other, "family_a")
    assert (await other.get(f"/api/v1/residents/{resident}", headers=bearer)).status_code == 200
    assert "王秀英" in (await other.get("/family")).text
    csrf = await _admin(client)
    assert f'name="resident_id" value="{resident}"' in (await client.get("/admin")).text

    removed = await client.post(
        "/admin/links/remove", data={"csrf": csrf, "user_id": family, "resident_id": resident}
    )

    assert removed.headers["location"] == "/admin#links"
    assert (await other.get(f"/api/v1/residents/{resident}", headers=bearer)).status_code == 404
    listed = await other.get("/api/v1/residents", headers=bearer)
    assert listed.status_code == 200
    assert resident not in [r["id"] for r in listed.json()]
    family_page = await other.get("/family")
    assert family_page.status_code == 200
    assert "王秀英" not in family_page.text
    assert (await other.get(f"/residents/{resident}")).status_code == 403
    notify_csrf = re.search(r'name="csrf-token" content="([^"]+)"', family_page.text)
    assert notify_csrf is not None
    settings = await other.post(
        f"/family/notifications/{resident}", data={"csrf": notify_csrf.group(1)}
    )
    assert settings.status_code == 404
    assert await _actions(world, f"resident:{resident}") == [
        (f"user:{world.ids['admin']}", "family_unlinked", {"user_id": family})
    ]
    again = await client.post(
        "/admin/links/remove", data={"csrf": csrf, "user_id": family, "resident_id": resident}
    )
    assert again.headers["location"] == "/admin?error=conflict#links"


@pytest.mark.parametrize("username", NON_ADMINS)
async def test_only_admins_may_use_the_new_actions(
    world: World, client: httpx.AsyncClient, username: str
) -> None:
    await login(client, username)
    page = await client.get("/welcome")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    forms: dict[str, dict[str, int | str]] = {
        "/admin/users/active": {"user_id": world.ids["staff_b"], "active": "false"},
        "/admin/users/role": {"user_id": world.ids["staff_b"], "role": "admin"},
        "/admin/links/remove": {
            "user_id": world.ids["family_a"],
            "resident_id": world.ids["resident_a"],
        },
    }
    for path, form in forms.items():
        response = await client.post(path, data={"csrf": csrf.group(1), **form})
        assert response.status_code == 403, path
    staff_b = await _user(world, "staff_b")
    assert (staff_b.active, staff_b.role) == (True, "staff")
    bearer = await token_for(client, "family_a")
    listed = await client.get("/api/v1/residents", headers=bearer)
    assert world.ids["resident_a"] in [r["id"] for r in listed.json()]


async def test_the_new_actions_need_the_csrf_token(world: World, client: httpx.AsyncClient) -> None:
    await _admin(client)
    staff = world.ids["staff_a"]
    form = {"user_id": staff, "active": "false"}
    missing = await client.post("/admin/users/active", data=form)
    forged = await client.post("/admin/users/active", data={"csrf": "forged", **form})
    role = await client.post(
        "/admin/users/role", data={"csrf": "forged", "user_id": staff, "role": "installer"}
    )
    unlink = await client.post(
        "/admin/links/remove",
        data={"csrf": "forged", "user_id": world.ids["family_a"], "resident_id": 1},
    )
    assert missing.status_code == 422  # the csrf form field is required
    assert forged.status_code == role.status_code == unlink.status_code == 403
    user = await _user(world, "staff_a")
    assert (user.active, user.role) == (True, "staff")
    assert await _actions(world, f"user:{staff}") == []
