"""The installer app in-process: home and resident, gateway and claim code, status, pairing, test."""

from __future__ import annotations

import re

import httpx

from devices.payloads import CommandKind, GatewayState, StatusMessage
from tests.dashboard.conftest import World, local
from tests.dashboard.test_pages import login


async def _csrf(client: httpx.AsyncClient, path: str = "/install") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


async def _new_home(client: httpx.AsyncClient, world: World, csrf: str) -> int:
    response = await client.post(
        "/install/homes",
        data={
            "csrf": csrf,
            "station_id": world.ids["station_a"],
            "label": "和平里 3-2-501",
            "address": "和平里三区 2 号楼",
            "resident_name": "赵淑兰",
            "birth_year": "1938",
        },
    )
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/install/homes/(\d+)", response.headers["location"])
    assert match is not None
    return int(match.group(1))


async def test_installer_sets_up_a_home_end_to_end(world: World, client: httpx.AsyncClient) -> None:
    await login(client, "installer")
    csrf = await _csrf(client)
    home_id = await _new_home(client, world, csrf)
    page = await client.get(f"/install/homes/{home_id}")
    assert "赵淑兰" in page.text

    registered = await client.post(
        f"/install/homes/{home_id}/gateways", data={"csrf": csrf, "gateway_id": "gw-new"}
    )
    assert registered.status_code == 200, registered.text
    code = re.search(r"([A-Z0-9]{4}(?:-[A-Z0-9]{4})+)", registered.text)
    assert code is not None, "claim code shown"
    assert 'src="data:image/png;base64,' in registered.text
    again = await client.post(
        f"/install/homes/{home_id}/gateways", data={"csrf": csrf, "gateway_id": "gw-new"}
    )
    assert again.status_code == 409

    live = (await client.get(f"/install/homes/{home_id}/live")).json()
    assert live["gateways"] == {"gw-new": "unknown"}
    claimed = await client.post("/api/v1/provisioning/claim", json={"code": code.group(1)})
    assert claimed.status_code == 200, claimed.text
    world.statuses["gw-new"] = StatusMessage(
        gw="gw-new", boot="b1", state=GatewayState.ONLINE, t=world.clock.now()
    )
    live = (await client.get(f"/install/homes/{home_id}/live")).json()
    assert live["gateways"] == {"gw-new": "online"}

    paired = await client.post(
        f"/install/homes/{home_id}/devices",
        data={"csrf": csrf, "gateway_id": "gw-new", "kind": "pir", "room": "kitchen"},
    )
    assert paired.status_code == 303, paired.text
    assert world.commands[-1][0] == "gw-new"
    assert world.commands[-1][1].kind is CommandKind.PAIR_DEVICE
    now = world.clock.now()
    await world.readings("gw-new", "gw-new-pir-kitchen", "linkquality", (now, 142))
    await world.readings("gw-new", "gw-new-pir-kitchen", "battery", (now, 97))
    live = (await client.get(f"/install/homes/{home_id}/live")).json()
    [device] = live["devices"]
    assert (device["key"], device["room"], device["signal"], device["battery"]) == (
        "gw-new-pir-kitchen",
        "kitchen",
        142,
        97,
    )

    tested = await client.post(
        f"/install/homes/{home_id}/test-alarm", data={"csrf": csrf, "gateway_id": "gw-new"}
    )
    assert tested.status_code == 303
    gateway, command = world.commands[-1]
    assert (gateway, command.kind) == ("gw-new", CommandKind.TEST_ALARM)
    assert (await client.get(f"/install/homes/{home_id}/live")).json()["tests"] == []
    await world.raise_alert("gw-new", "test_alarm")
    tests = (await client.get(f"/install/homes/{home_id}/live")).json()["tests"]
    assert [t["gateway"] for t in tests] == ["gw-new"]


async def test_installer_pages_show_no_health_data(world: World, client: httpx.AsyncClient) -> None:
    await world.readings("gw-a", "gw-a-wear", "heart_rate", (local(9), 87.0))
    await world.readings("gw-a", "gw-a-wear", "battery", (local(9), 55.0))
    alert = await world.raise_alert("gw-a", "fall")
    await login(client, "installer")
    homes = await client.get("/install")
    match = re.search(r'href="/install/homes/(\d+)">home a<', homes.text)
    assert match is not None
    page = await client.get(f"/install/homes/{match.group(1)}")
    live = await client.get(f"/install/homes/{match.group(1)}/live")
    assert live.status_code == 200
    wearable = [d for d in live.json()["devices"] if d["key"] == "gw-a-wear"]
    assert wearable[0]["battery"] == 55.0, "device health is shown"
    shown = [v for d in live.json()["devices"] for v in d.values()]
    assert 87.0 not in shown, "no heart rate"
    assert live.json()["tests"] == [], "no fall alerts, only test alarms"
    for text in (page.text, live.text):
        assert "heart_rate" not in text
        assert "bpm" not in text
        assert f"/alerts/{alert.id}" not in text
    for path in ("/console", "/residents", f"/residents/{world.ids['resident_a']}", "/handover"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 403, path


async def test_installer_cannot_create_homes_in_a_station_they_are_not_bound_to(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "staff_a")
    response = await client.post("/install/homes", data={"csrf": "x", "label": "x"})
    assert response.status_code in {403, 422}
    client.cookies.clear()
    await login(client, "installer")
    csrf = await _csrf(client)
    bad = await client.post(
        "/install/homes",
        data={"csrf": csrf, "station_id": 99999, "label": "x", "resident_name": "y"},
    )
    assert bad.status_code == 404


async def test_installer_sees_what_the_sensors_cannot_tell(
    world: World, client: httpx.AsyncClient
) -> None:
    """While pairing, the installer is told what the kit leaves undetectable (dashboard.coverage)."""
    await login(client, "installer")
    csrf = await _csrf(client)
    home_id = await _new_home(client, world, csrf)
    await client.post(
        f"/install/homes/{home_id}/gateways", data={"csrf": csrf, "gateway_id": "gw-cov"}
    )

    def coverage(text: str) -> str:
        found = re.search(r'<ul class="coverage" id="coverage">(.*?)</ul>', text)
        assert found is not None
        return found.group(1)

    page = await client.get(f"/install/homes/{home_id}", headers={"Accept-Language": "zh-CN"})
    assert "缺入户门磁" in coverage(page.text)
    for kind, room in (("door", "hallway"), ("bed", "bedroom"), ("pir", "bathroom")):
        paired = await client.post(
            f"/install/homes/{home_id}/devices",
            data={"csrf": csrf, "gateway_id": "gw-cov", "kind": kind, "room": room},
        )
        assert paired.status_code == 303, paired.text
    shown = coverage((await client.get(f"/install/homes/{home_id}")).text)
    assert "缺入户门磁" not in shown
    assert "卫生间缺人体感应" not in shown
    assert "未配智能手环" in shown  # the wearable is still to pair
