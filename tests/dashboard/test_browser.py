"""The console in Debian's Chromium: an alert appears live, is acknowledged; screenshots."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from alerts.detector_health import DetectorProblem
from tests.dashboard.conftest import PASSWORD, World

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (a missing /usr/bin/chromium fails the test loudly)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def sign_in_to_console(page: Page, base: str, username: str) -> None:
    """Sign in through the form and wait until the console's stream is connected."""
    await page.goto(f"{base}/login")
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')
    await page.wait_for_url(f"{base}/console")
    # The stream is connected once the indicator says so: from then on no change is missed.
    await expect(page.locator("#live.on")).to_be_visible()


async def test_console_shows_a_new_alert_live_and_acknowledges_it(
    world: World, served: str, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="en-GB", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 720}
    )
    page = await context.new_page()
    try:
        await sign_in_to_console(page, served, "staff_a")
        await expect(page.locator("#empty")).to_be_visible()
        await page.evaluate("window.__notReloaded = true")

        alert = await world.raise_alert("gw-a", "fall")

        row = page.locator(f"#alert-{alert.id}")
        await expect(row).to_be_visible()
        await expect(row).to_have_class(re.compile(r"\bfresh\b"))
        await expect(row.locator(".kind")).to_have_text("Fall")
        await expect(row.locator(".resident")).to_contain_text("王秀英")
        assert await page.evaluate("window.__notReloaded === true"), "the page must not reload"

        await row.locator("button.ack").click()
        await expect(row.locator(".state-label")).to_have_text("Acknowledged")
        await expect(row.locator("button.ack")).to_be_hidden()
        stored = await world.ctx.alerts.get(alert.id)
        assert stored.state == "acknowledged"
        assert stored.acked_by == "staff_a"

        # A second alert while the first is handled, for a screenshot with both states.
        world.clock.advance(240)
        second = await world.raise_alert("gw-a", "call_button")
        await expect(page.locator(f"#alert-{second.id}")).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "console-en.png"), full_page=True)

        await page.click("a.lang")
        await expect(page.locator(f"#alert-{alert.id} .state-label")).to_have_text("已确认")
        await expect(page.locator("#live.on")).to_be_visible()
        await page.screenshot(path=str(SCREENSHOTS / "console-zh.png"), full_page=True)

        # Another screen acknowledges the second alert: this page follows without a reload.
        await page.evaluate("window.__notReloaded = true")
        await world.ctx.alerts.acknowledge(second.id, world.ids["manager_a"])
        await expect(page.locator(f"#alert-{second.id} .state-label")).to_have_text("已确认")

        # Resolve the first from the page: outcome and note reach the service, the row goes.
        first_row = page.locator(f"#alert-{alert.id}")
        await first_row.locator('select[name="outcome"]').select_option("visited")
        await first_row.locator('input[name="note"]').fill("扶起，无外伤")
        await first_row.locator('form.resolve button[type="submit"]').click()
        await expect(first_row).to_have_count(0)
        resolved = await world.ctx.alerts.get(alert.id)
        assert (resolved.state, resolved.outcome, resolved.note) == (
            "resolved",
            "visited",
            "扶起，无外伤",
        )
        assert await page.evaluate("window.__notReloaded === true"), "the page must not reload"
    finally:
        await context.close()


async def test_console_shows_live_when_automatic_detection_stops_and_resumes(
    browser: Browser, world: World, served: str
) -> None:
    page = await browser.new_page(locale="en-US")
    await sign_in_to_console(page, served, "staff_a")
    banner = page.locator("#detectors")
    await expect(banner).to_be_hidden()
    await page.evaluate("window.__notReloaded = true")
    world.problems.append(DetectorProblem("routine", world.clock.now(), "OSError: unreachable"))
    await world.raise_alert("gw-a", "fall")  # a change (or the next heartbeat) carries it
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("Automatic detection is not running")
    await expect(banner).to_contain_text("Inactivity and routine")
    world.problems.clear()
    await world.raise_alert("gw-a", "call_button")
    await expect(banner).to_be_hidden()
    assert await page.evaluate("window.__notReloaded === true"), "the page must not reload"
