"""The residents board and the resident page, with readings in a real SQLite time-series store."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import httpx

from dashboard import activity, residents
from tests.dashboard.conftest import World, live_a_morning, local
from tests.dashboard.test_pages import login


async def test_board_shows_only_the_station_with_traffic_lights(
    world: World, client: httpx.AsyncClient
) -> None:
    await live_a_morning(world)
    await login(client, "admin")
    page = await client.get("/residents", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    tiles = dict(re.findall(r'data-status="(\w+)" data-id="(\d+)"', page.text))
    assert tiles == {"fine": str(world.ids["resident_a"]), "no_data": str(world.ids["resident_b"])}
    assert "09:20:00" in page.text  # last activity, station-local

    await world.raise_alert("gw-a", "fall")
    page = await client.get("/residents")
    assert f'data-status="alert" data-id="{world.ids["resident_a"]}"' in page.text


async def test_board_of_a_staff_member_has_their_station_only(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "staff_b")
    page = await client.get("/residents")
    assert "Li Wei" in page.text
    assert "王秀英" not in page.text


async def test_board_filters_by_risk_flag_and_care_level(
    world: World, client: httpx.AsyncClient
) -> None:
    from registry.models import Resident

    async with world.sessions() as session, session.begin():
        a = await session.get(Resident, world.ids["resident_a"])
        assert a is not None
        a.risk_flags, a.care_level = "alone,aged", "2"
    await login(client, "admin")
    alone = await client.get("/residents", params={"flag": "alone"})
    assert "王秀英" in alone.text
    assert "Li Wei" not in alone.text
    level = await client.get("/residents", params={"care_level": "3"})
    assert "王秀英" not in level.text
    both = await client.get("/residents", params={"flag": ["alone", "dementia"]})
    assert "王秀英" not in both.text


async def test_resident_page_draws_the_day_devices_and_contacts(
    world: World, client: httpx.AsyncClient
) -> None:
    await live_a_morning(world)
    await login(client, "staff_a")
    page = await client.get(
        f"/residents/{world.ids['resident_a']}", headers={"Accept-Language": "en"}
    )
    assert page.status_code == 200
    text = page.text
    for label in ("Kitchen", "In bed", "Front door", "Toilet flush"):
        assert label in text
    assert "/static/vendor/uPlot.iife.min.js" in text
    assert '"heart_rate": {"x": [' in text
    assert "battery low" in text  # the door contact at 12 %
    assert "Family A" in text  # the linked family member


async def test_resident_page_of_another_station_is_a_404(
    world: World, client: httpx.AsyncClient
) -> None:
    await login(client, "staff_a")
    other = await client.get(f"/residents/{world.ids['resident_b']}")
    missing = await client.get("/residents/999999")
    assert other.status_code == missing.status_code == 404


async def test_timeline_lanes_per_local_hour(world: World) -> None:
    await live_a_morning(world)
    assert world.store is not None
    async with world.sessions() as session:
        home = (await residents.home_kits(session, {1}))[1]
    start, end = activity.day_bounds(local(12), ZoneInfo("Asia/Shanghai"))
    lanes = {
        lane.key: lane.cells
        for lane in await activity.timeline(world.store, home, start, end, local(9, 30))
    }
    assert lanes["room.kitchen"][8] > 0
    assert lanes["room.kitchen"][12] == 0
    assert lanes["lane.bed"][3] == 3
    assert lanes["lane.bed"][8] == 0
    assert lanes["lane.front_door"][7] > 0
    assert len(lanes["room.kitchen"]) == 24


async def test_status_words_of_the_day(world: World) -> None:
    await live_a_morning(world)
    assert world.store is not None
    async with world.sessions() as session:
        home = (await residents.home_kits(session, {1}))[1]
    zone = ZoneInfo("Asia/Shanghai")
    status = await activity.today_status(world.store, home, local(9, 30), zone)
    assert status.parts == (
        ("family.status.got_up", {"time": "07:10"}),
        ("family.status.in_room", {"place": "kitchen"}),
    )
    await world.readings("gw-a", "gw-a-door-hallway", "contact_open", (local(10, 2), 1))
    later = await activity.today_status(world.store, home, local(10, 30), zone)
    assert later.parts[-1] == ("family.status.out_since", {"time": "10:02"})


async def test_resident_page_says_whether_the_routine_is_personal_yet(
    world: World, client: httpx.AsyncClient
) -> None:
    """Before a baseline the defaults apply and the console says so (the routine monitor keeps
    what it learned in routine_baselines, maybe from another process)."""
    from datetime import UTC, datetime

    from alerts.models import RoutineBaselineRow

    resident = world.ids["resident_a"]
    await login(client, "staff_a")

    async def routine(lang: str) -> str:
        page = await client.get(f"/residents/{resident}", headers={"Accept-Language": lang})
        found = re.search(r'<p class="routine muted" id="routine">(.*?)</p>', page.text)
        assert found is not None
        return found.group(1)

    assert (
        "Routine not learned yet: conservative defaults apply (alarm after 4 h without "
        "activity while up, 6 h seated or lying; not up by 11:00)" in await routine("en")
    )
    # the defaults the monitor will apply at this resident's watch level and get-up time
    from registry.models import Resident

    async def profile(watch: str, usual_getup: str) -> None:
        async with world.sessions() as session, session.begin():
            person = await session.get(Resident, resident)
            assert person is not None
            person.watch, person.usual_getup = watch, usual_getup

    await profile("close", "06:30")
    closely = await routine("zh-CN")
    assert "清醒时 3 小时 20 分、坐卧时 5 小时无活动即报警，08:00 未起床即报警" in closely
    assert "关注程度：密切" in closely
    await profile("standard", "")
    row = RoutineBaselineRow(
        resident_id=resident, days=3, min_days=7, ready=False, bathroom="off",
        getup_limit="11:00", fitted_at=datetime(2026, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    async with world.sessions() as session, session.begin():
        session.add(row)
    learning = await routine("zh-CN")
    assert "作息学习中（已有 3 天，需 7 天）：暂用保守默认值" in learning
    assert "卫生间久留提醒已关闭" in learning
    async with world.sessions() as session, session.begin():
        kept = await session.get(RoutineBaselineRow, resident)
        assert kept is not None
        kept.days, kept.ready, kept.bathroom, kept.getup_limit = 20, True, "watched", "10:30"
    personal = await routine("en")
    assert personal.startswith(
        "<span>Personal routine from the last 20 days; alarm if not up by 10:30</span> · "
    )
    # what this home's sensors cannot tell apart (it has a bed mat, door, flush, no bathroom PIR)
    assert personal.endswith(
        "<span>No motion sensor in the bathroom: long bathroom stays are not watched</span>"
    )
    assert "front-door" not in personal
    # the monitor's last check: quiet since when, and when the alarm comes if nothing moves
    async with world.sessions() as session, session.begin():
        kept = await session.get(RoutineBaselineRow, resident)
        assert kept is not None
        kept.situation, kept.quiet_since, kept.alarm_at = "awake", local(8, 50), local(12, 50)
    assert (await routine("zh-CN")).startswith(
        "<span>自 08:50 无活动；若仍无活动，12:50 报警</span> · <span>个人作息基线"
    )
    async with world.sessions() as session, session.begin():
        kept = await session.get(RoutineBaselineRow, resident)
        assert kept is not None
        kept.situation, kept.quiet_since, kept.alarm_at = "asleep", local(23, 10, day=0), None
    assert (await routine("en")).startswith("<span>Asleep (quiet since 02-28 23:10)</span>")


async def test_staff_set_risk_flags_care_level_and_notes(
    world: World, client: httpx.AsyncClient
) -> None:
    """The wandering-risk flag (失智) turns on the night-exit alert; staff set it on the resident
    page (CSRF-checked, own station only, audited), the routine monitor reads it at its next check."""
    from registry.models import Resident

    resident = world.ids["resident_a"]
    await login(client, "staff_a")
    page = await client.get(f"/residents/{resident}", headers={"Accept-Language": "zh-CN"})
    assert '<form method="post" action="/residents/' in page.text
    assert "夜间（惯常就寝到起床之间）出门即报警" in page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "flags": ["dementia", "alone"], "care_level": " 2 ",
            "notes": "夜里常起身，注意门口。", "usual_getup": "06:30", "watch": "close"}  # fmt: skip
    saved = await client.post(f"/residents/{resident}/profile", data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/residents/{resident}#profile"
    async with world.sessions() as session:
        row = await session.get(Resident, resident)
        assert row is not None
        assert (row.risk_flags, row.care_level, row.notes, row.usual_getup, row.watch) == (
            "alone,dementia",
            "2",
            "夜里常起身，注意门口。",
            "06:30",
            "close",
        )
    page = await client.get(f"/residents/{resident}")
    assert 'value="dementia" checked' in page.text
    assert world.ctx.audit is not None
    entries = await world.ctx.audit.entries(subject=f"resident:{resident}")
    changes = [e for e in entries if e.action == "resident_profile_changed"]
    assert [dict(e.data) for e in changes] == [
        {
            "flags": ["alone", "dementia"],
            "care_level": "2",
            "notes_chars": 11,
            "usual_getup": "06:30",
            "watch": "close",
        }
    ]
    assert changes[0].actor == f"user:{world.ids['staff_a']}"

    bad = await client.post(f"/residents/{resident}/profile", data={**form, "flags": ["wizard"]})
    assert bad.status_code == 422
    noon = await client.post(
        f"/residents/{resident}/profile", data={**form, "usual_getup": "13:30"}
    )
    assert noon.status_code == 422
    lax = await client.post(f"/residents/{resident}/profile", data={**form, "watch": "never"})
    assert lax.status_code == 422
    shown = (await client.get(f"/residents/{resident}", headers={"Accept-Language": "en"})).text
    assert 'name="usual_getup" type="time" min="04:00" max="12:00" value="06:30"' in shown
    assert '<option value="close" selected>' in shown
    assert "Watched Close (1.25 ×" in shown  # the routine block says the level is not standard
    forged = await client.post(f"/residents/{resident}/profile", data={**form, "csrf": "x"})
    assert forged.status_code == 403
    other_station = world.ids["resident_b"]
    elsewhere = await client.post(f"/residents/{other_station}/profile", data=form)
    assert elsewhere.status_code == 404
    async with world.sessions() as session:
        untouched = await session.get(Resident, other_station)
        assert untouched is not None
        assert untouched.risk_flags == ""
