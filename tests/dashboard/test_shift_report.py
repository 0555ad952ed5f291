"""Shift handover and the weekly station report, in-process on the seeded world."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx

from alerts.views import AlertView
from dashboard import weekly
from tests.dashboard.conftest import World
from tests.dashboard.test_pages import login


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


async def test_handover_shows_open_alerts_watch_list_and_notes(
    world: World, client: httpx.AsyncClient
) -> None:
    open_alert = await world.raise_alert("gw-a", "fall")
    done = await world.raise_alert("gw-a", "call_button")
    await world.handle(done.id, "staff_a", "visited")
    other = await world.raise_alert("gw-b", "fall")
    await login(client, "staff_a")
    csrf = await _csrf(client, "/handover")
    saved = await client.post("/handover/notes", data={"csrf": csrf, "text": "王阿姨今晚需要回访"})
    assert saved.status_code == 303
    page = (await client.get("/handover")).text
    open_part = page.split('id="open"')[1].split('id="watch"')[0]
    assert "跌倒" in open_part
    assert f"/residents/{world.ids['resident_a']}" in page.split('id="watch"')[1]
    handled = page.split('id="handled"')[1].split('id="notes"')[0]
    assert "上门查看" in handled or "visited" in handled.lower() or "呼叫" in handled
    assert "王阿姨今晚需要回访" in page.split('id="notes"')[1]
    assert "Li Wei" not in page, "another station's resident"
    assert other.id != open_alert.id
    client.cookies.clear()
    await login(client, "staff_b")
    assert "王阿姨今晚需要回访" not in (await client.get("/handover")).text


def _view(
    alert_id: int, kind: str, raised: datetime, ack_s: float | None, done_s: float | None
) -> AlertView:
    return AlertView(
        id=alert_id,
        kind=kind,
        priority="high",
        state="resolved" if done_s is not None else "open",
        resident_id=1,
        resident_name="x",
        home_id=1,
        station_id=1,
        gateway_id="gw",
        raised_at=raised,
        acked_at=None if ack_s is None else raised + timedelta(seconds=ack_s),
        acked_by=None,
        resolved_at=None if done_s is None else raised + timedelta(seconds=done_s),
        outcome=None,
        note="",
        evidence_count=1,
        summary="",
    )


def test_week_figures_count_only_the_week_and_leave_tests_apart() -> None:
    start = datetime(2025, 2, 23, 16, tzinfo=UTC)
    end = start + timedelta(days=7)
    views = [
        _view(1, "fall", start + timedelta(hours=1), 30, 600),
        _view(2, "fall", start + timedelta(hours=2), 90, 1200),
        _view(3, "call_button", start + timedelta(hours=3), None, None),
        _view(4, "test_alarm", start + timedelta(hours=4), None, None),
        _view(5, "fall", start - timedelta(hours=1), 10, 20),
        _view(6, "fall", end, 10, 20),
    ]
    f = weekly.figures(views, start, end)
    assert (f.total, f.unresolved, f.tests_received) == (3, 1, 1)
    assert f.by_kind[0] == ("fall", 2)
    assert f.ack_median_s == 60
    assert f.resolve_median_s == 900


def test_routine_change_needs_a_real_departure() -> None:
    assert weekly.routine_change(1, [100, 100, 100, 95], 0) is None
    change = weekly.routine_change(1, [100, 100, 100, 40], 0)
    assert change is not None
    assert change.change is not None
    assert round(change.change, 2) == -0.6
    assert weekly.routine_change(1, [5, 5, 5, 0], 0) is None, "too little to compare"
    assert weekly.routine_change(1, [5, 5, 5, 5], 2) is not None, "routine alerts count"


def test_parse_week() -> None:
    today = date(2025, 3, 1)
    assert weekly.parse_week("2025-W09", today) == date(2025, 2, 24)
    assert weekly.parse_week("junk", today) == date(2025, 2, 24)
    assert weekly.iso_week(date(2025, 2, 24)) == "2025-W09"


async def test_weekly_report_for_the_manager(world: World, client: httpx.AsyncClient) -> None:
    first = await world.raise_alert("gw-a", "fall")
    world.clock.advance(45)
    await world.handle(first.id, "staff_a")
    await world.raise_alert("gw-b", "fall")
    await login(client, "manager_a")
    page = await client.get("/reports/weekly", params={"week": "2025-W09"})
    assert page.status_code == 200
    assert re.search(r'id="kpi-total">1<', page.text), "station b's alert is not counted"
    assert "45" in page.text.split('id="kpi-ack">')[1][:20]
    assert "@media print" in (await client.get("/static/style.css")).text
    empty = await client.get("/reports/weekly", params={"week": "2025-W01"})
    assert re.search(r'id="kpi-total">0<', empty.text)
    client.cookies.clear()
    await login(client, "staff_a")
    assert (await client.get("/reports/weekly", follow_redirects=False)).status_code == 403
