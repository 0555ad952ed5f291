"""Every main page in Chromium in both languages: renders, and its screenshot goes to docs/.

The console and installer screenshots come from the tests that drive them (test_browser.py,
test_browser_install.py); this one covers the residents board, resident page, family portal,
shift handover, weekly report (also printed to PDF by Chromium) and admin.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from dashboard import org
from dashboard.shift import ShiftNote
from tests.dashboard.conftest import PASSWORD, World, live_a_morning
from tests.dashboard.test_browser import SCREENSHOTS, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

LOCALES = {"en": "en-GB", "zh": "zh-CN"}


async def _stage(world: World) -> None:
    """A morning of home a, alerts in every state, a rating, a shift note, an organisation tree."""
    await live_a_morning(world)
    handled = await world.raise_alert("gw-a", "call_button")
    world.clock.advance(42)
    await world.handle(handled.id, "staff_a", "visited")
    world.clock.advance(600)
    acked = await world.raise_alert("gw-a", "fall")
    world.clock.advance(25)
    await world.ctx.alerts.acknowledge(acked.id, world.ids["staff_a"])
    await world.raise_alert("gw-b", "call_button")
    async with world.sessions() as session, session.begin():
        city = await org.add_unit(session, org.Level.CITY, "北京市 Beijing", None)
        district = await org.add_unit(session, org.Level.DISTRICT, "东城区 Dongcheng", city)
        street = await org.add_unit(session, org.Level.STREET, "和平里街道 Hepingli", district)
        await org.place_station(session, world.ids["station_a"], street)
        session.add(
            ShiftNote(
                station_id=world.ids["station_a"],
                user_id=world.ids["staff_a"],
                written_at=world.clock.now(),
                text="王秀英 morning fall: acknowledged, daughter on her way / 女儿正在赶来",
                author="Staff A",
            )
        )


async def _sign_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')
    await page.wait_for_load_state("load")


@pytest.mark.parametrize("lang", sorted(LOCALES))
async def test_main_pages_render_in_both_languages(
    world: World,
    served: str,
    browser: Browser,  # noqa: F811
    lang: str,
    tmp_path: Path,
) -> None:
    await _stage(world)
    resident = world.ids["resident_a"]
    pages = {
        "manager_a": [
            ("residents", "/residents", "#board"),
            ("resident", f"/residents/{resident}", "#timeline"),
            ("handover", "/handover", "#notes .note"),
            ("weekly-report", "/reports/weekly?week=2025-W09", "#kpi-total"),
        ],
        "family_a": [("family", "/family", "main h1")],
        "admin": [("admin", "/admin", "#tree .station")],
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for username, visits in pages.items():
        context = await browser.new_context(
            locale=LOCALES[lang],
            timezone_id="Asia/Shanghai",
            viewport={"width": 1280, "height": 800},
        )
        page = await context.new_page()
        try:
            await _sign_in(page, served, username)
            for name, path, marker in visits:
                response = await page.goto(served + path)
                assert response is not None
                assert response.status == 200, f"{name}: {response.status}"
                await expect(page.locator(marker).first).to_be_visible()
                assert await page.get_attribute("html", "lang") == LOCALES[lang].replace(
                    "en-GB", "en"
                )
                await page.screenshot(path=str(SCREENSHOTS / f"{name}-{lang}.png"), full_page=True)
                if name == "weekly-report":
                    pdf = tmp_path / f"weekly-{lang}.pdf"
                    await page.pdf(path=str(pdf), format="A4", print_background=True)
                    assert pdf.read_bytes().startswith(b"%PDF")
        finally:
            await context.close()


async def test_family_sees_only_their_relative_in_the_browser(
    world: World,
    served: str,
    browser: Browser,  # noqa: F811
) -> None:
    """Family in Chromium: another resident's page, API and live stream are refused or silent."""
    own, other = world.ids["resident_a"], world.ids["resident_b"]
    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    try:
        await _sign_in(page, served, "family_a")
        await page.goto(f"{served}/family")
        cards = page.locator(".resident-card")
        await expect(cards).to_have_count(1)
        assert await cards.first.get_attribute("data-id") == str(own)
        refused_page = await page.goto(f"{served}/residents/{other}")
        assert refused_page is not None
        assert refused_page.status in (403, 404)
        refused_api = await page.request.get(f"{served}/api/v1/residents/{other}")
        assert refused_api.status in (403, 404)
        # the live stream, as the browser's EventSource sees it
        await page.goto(f"{served}/family")
        await page.evaluate(
            """() => { window.got = [];
                const es = new EventSource('/api/v1/alerts/stream');
                es.addEventListener('alert', e => window.got.push(Number(e.lastEventId)));
                window.es = es; }"""
        )
        await page.wait_for_function("() => window.es.readyState === 1")
        theirs = await world.raise_alert("gw-b", "fall")  # another family's relative
        mine = await world.raise_alert("gw-a", "fall")  # the relative of family_a
        await page.wait_for_function(f"() => window.got.includes({mine.id})")
        got = await page.evaluate("() => window.got")
        assert theirs.id not in got  # published first, so it would have arrived first
    finally:
        await context.close()
