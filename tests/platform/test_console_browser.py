"""Debian's Chromium on a running ``anxin up --demo``: a simulated fall arrives live and is acked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.platform.conftest import Platform, make_platform

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def late_fall_platform(tmp_path: Path) -> Iterator[Platform]:
    """One home whose resident falls 3 simulated hours (9 real seconds) after start.

    If the resident is in bed or out then, the fall happens when next up and about: the
    timeout covers a night's sleep at this speed.
    """
    p = make_platform(tmp_path, homes=1, speed=1200)
    p.argv += ["--first-fall-after", "180"]
    p.start()
    yield p
    if p.proc and p.proc.poll() is None:
        p.interrupt()


async def test_simulated_fall_appears_live_and_is_acknowledged(
    late_fall_platform: Platform,
) -> None:
    p = late_fall_platform
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(locale="en-GB")
        await page.goto(f"{p.url}/login")
        await page.fill('input[name="username"]', "station")
        await page.fill('input[name="password"]', "demo")
        await page.click('button[type="submit"]')
        await page.wait_for_url(f"{p.url}/console")
        await expect(page.locator("#live.on")).to_be_visible()
        loads = []
        page.on("load", lambda _: loads.append(1))
        # the wearable's accelerometer goes through the edge detector; no cancel -> a fall event
        row = page.locator(
            "tr[id^='alert-']", has=page.locator(".kind", has_text=re.compile(r"^Fall"))
        ).first
        await expect(row).to_be_visible(timeout=90_000)
        assert loads == [], "the alert must arrive without a page reload"
        await row.locator("button.ack").click()
        await expect(row.locator(".state-label")).to_have_text("Acknowledged")
        await browser.close()
