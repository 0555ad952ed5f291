"""Admin pages: organisation tree, stations, users, family links, the audit-log viewer."""

from __future__ import annotations

import re

import httpx

from tests.dashboard.conftest import PASSWORD, World
from tests.dashboard.test_pages import login


async def _csrf(client: httpx.AsyncClient) -> str:
    page = await client.get("/admin")
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def _unit_id(page: str, name: str) -> int:
    match = re.search(rf"<b>{name}</b> <span class=\"muted\">#(\d+)</span>", page)
    assert match is not None, name
    return int(match.group(1))


async def test_admin_builds_the_tree_and_places_a_station(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "admin")
    csrf = await _csrf(client)
    post = client.post
    assert (
        await post("/admin/org", data={"csrf": csrf, "level": "city", "name": "北京市"})
    ).status_code == 303
    city = _unit_id((await client.get("/admin")).text, "北京市")
    wrong = await post(
        "/admin/org", data={"csrf": csrf, "level": "street", "name": "x", "parent_id": city}
    )
    assert wrong.headers["location"].startswith("/admin?error=org")
    await post(
        "/admin/org", data={"csrf": csrf, "level": "district", "name": "东城区", "parent_id": city}
    )
    district = _unit_id((await client.get("/admin")).text, "东城区")
    await post(
        "/admin/org",
        data={"csrf": csrf, "level": "street", "name": "和平里街道", "parent_id": district},
    )
    street = _unit_id((await client.get("/admin")).text, "和平里街道")
    placed = await post(
        "/admin/org/place",
        data={"csrf": csrf, "station_id": world.ids["station_a"], "street_id": street},
    )
    assert placed.status_code == 303
    page = (await client.get("/admin")).text
    tree = page.split('id="tree"')[1].split('id="stations"')[0]
    assert (
        tree.index("北京市")
        < tree.index("东城区")
        < tree.index("和平里街道")
        < tree.index("东城驿站")
    )


async def test_admin_adds_station_user_and_family_link(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "admin")
    csrf = await _csrf(client)
    added = await client.post(
        "/admin/stations", data={"csrf": csrf, "name": "北城驿站", "code": "st-c"}
    )
    assert added.status_code == 303
    dup = await client.post("/admin/stations", data={"csrf": csrf, "name": "x", "code": "st-c"})
    assert dup.headers["location"].startswith("/admin?error=conflict")
    user = await client.post(
        "/admin/users",
        data={
            "csrf": csrf,
            "username": "son_a",
            "password": PASSWORD,
            "role": "family",
        },
    )
    assert user.status_code == 303
    page = (await client.get("/admin")).text
    son = re.search(r'<option value="(\d+)">son_a</option>', page)
    assert son is not None
    link = await client.post(
        "/admin/links",
        data={
            "csrf": csrf,
            "user_id": son.group(1),
            "resident_id": world.ids["resident_b"],
            "relation": "son",
        },
    )
    assert link.status_code == 303
    assert world.ctx.audit is not None
    admin = f"user:{world.ids['admin']}"
    done = [(e.actor, e.action) for e in await world.ctx.audit.entries(limit=1000)]
    for action in ("station_added", "user_added", "family_linked"):
        assert (admin, action) in done
    linked = await world.ctx.audit.entries(subject=f"resident:{world.ids['resident_b']}")
    assert [e.data for e in linked if e.action == "family_linked"] == [
        {"user_id": int(son.group(1)), "relation": "son"}
    ]
    client.cookies.clear()
    await login(client, "son_a")
    assert "Li Wei" in (await client.get("/family")).text


async def test_reads_of_health_data_are_audited_and_shown_to_admins(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "staff_a")
    resident = world.ids["resident_a"]
    assert (await client.get(f"/residents/{resident}")).status_code == 200
    client.cookies.clear()
    await login(client, "admin")
    page = await client.get("/admin/audit", params={"subject": f"resident:{resident}"})
    assert f"user:{world.ids['staff_a']}" in page.text
    assert f"/residents/{resident}" in page.text
    checked = await client.get("/admin/audit", params={"verify": "true"})
    assert 'id="verify" class=""' in checked.text


async def test_family_page_reads_are_audited(world: World, client: httpx.AsyncClient) -> None:
    await login(client, "family_a")
    assert (await client.get("/family")).status_code == 200
    assert world.ctx.audit is not None
    entries = await world.ctx.audit.entries(subject=f"resident:{world.ids['resident_a']}")
    assert [(e.actor, e.action) for e in entries] == [(f"user:{world.ids['family_a']}", "read")]
    others = await world.ctx.audit.entries(subject=f"resident:{world.ids['resident_b']}")
    assert others == []
