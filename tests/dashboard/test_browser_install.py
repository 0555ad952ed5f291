"""The installer in Debian's Chromium, end to end on a real Mosquitto with the real gateway.

An installer creates a home and resident, registers a gateway and gets its claim code; the real
``anxin-gateway provision`` claims it over HTTP and the real gateway (simulated home) connects;
the page shows it online from its retained status, pairs a device (signal and battery shown
live) and runs a test alarm that comes back through the real AlertEngine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest
from playwright.async_api import Browser, Page, expect

from alerts.engine import AlertEngine
from anxin.localservers import Server
from dashboard.app import create_app
from dashboard.provisioning_api import ProvisioningSettings
from devices.codec import decode_as, encode
from devices.payloads import CommandMessage, StatusMessage
from devices.topics import Channel, parse_topic, subscription, topic
from registry.broker_accounts import RegistryOnlyAccounts
from tests.dashboard.conftest import PASSWORD, World, serve
from tests.dashboard.test_browser import SCREENSHOTS, browser  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]

GATEWAY_CLI = str(Path(sys.executable).with_name("anxin-gateway"))
GW = "gw-install-1"
LIVE_TIMEOUT_MS = 30_000  # the gateway process starts, connects and publishes its status


async def _watch_status(client: aiomqtt.Client, statuses: dict[str, StatusMessage]) -> None:
    async for message in client.messages:
        gateway = parse_topic(str(message.topic)).gateway_id
        statuses[gateway] = decode_as(StatusMessage, bytes(message.payload))


@contextlib.asynccontextmanager
async def _running(argv: list[str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(*argv, stdout=out, stderr=out)
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), timeout=20)


async def _sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill('input[name="username"]', "installer")
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')
    await page.wait_for_url(f"{base}/install")


async def test_installer_registers_provisions_sees_online_pairs_and_tests(
    world: World,
    browser: Browser,  # noqa: F811
    mosquitto_server: Server,
    tmp_path: Path,
) -> None:
    statuses: dict[str, StatusMessage] = {}
    port = mosquitto_server.port
    async with aiomqtt.Client("127.0.0.1", port, identifier="dashboard-install-test") as mqtt:

        async def send_command(gateway: str, command: CommandMessage) -> None:
            await mqtt.publish(topic(gateway, Channel.COMMANDS), encode(command), qos=1)

        ctx = dataclasses.replace(
            world.ctx, gateway_status=lambda: statuses, send_command=send_command
        )
        app = create_app(ctx)
        app.state.provisioning = ProvisioningSettings(
            mosquitto_server.url, None, RegistryOnlyAccounts()
        )
        await mqtt.subscribe(subscription(Channel.STATUS), qos=1)
        engine = AlertEngine(world.ctx.alerts, world.sessions, "127.0.0.1", port, world.clock)
        watcher = asyncio.create_task(_watch_status(mqtt, statuses))
        engine_task = asyncio.create_task(engine.run())
        context = await browser.new_context(
            locale="en-GB", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
        )
        page = await context.new_page()
        try:
            await asyncio.wait_for(engine.ready.wait(), timeout=10)
            async with serve(app) as base:
                await _sign_in(page, base)
                await page.select_option('select[name="station_id"]', str(world.ids["station_a"]))
                await page.fill('input[name="label"]', "Heping Li 3-2-501")
                await page.fill('input[name="resident_name"]', "赵淑兰")
                await page.fill('input[name="birth_year"]', "1938")
                await page.click('#new-home button[type="submit"]')
                await page.wait_for_url(re.compile(r"/install/homes/\d+$"))

                await page.fill('input[name="gateway_id"]', GW)
                await page.click('#register button[type="submit"]')
                code_text = await page.locator("#claim .code").inner_text()
                code = re.search(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4})+", code_text)
                assert code is not None, code_text
                await expect(page.locator(f'.gw-state[data-gateway="{GW}"]')).to_have_text(
                    "not seen yet"
                )

                data_dir = tmp_path / "gateway"
                provision = await asyncio.create_subprocess_exec(
                    GATEWAY_CLI,
                    "provision",
                    "--platform",
                    base,
                    "--code",
                    code.group(0),
                    "--data-dir",
                    str(data_dir),
                )
                assert await asyncio.wait_for(provision.wait(), timeout=30) == 0
                identity = data_dir / "identity.toml"
                assert f'gateway_id = "{GW}"' in identity.read_text()

                argv = [GATEWAY_CLI, "--config", str(identity), "--simulate"]
                async with _running(argv, tmp_path / "gateway.log"):
                    state = page.locator(f'.gw-state[data-gateway="{GW}"]')
                    await expect(state).to_have_class(
                        re.compile(r"\bst-online\b"), timeout=LIVE_TIMEOUT_MS
                    )
                    await expect(state).to_have_text("online")

                    await page.select_option('#pair select[name="room"]', "kitchen")
                    await page.select_option('#pair select[name="kind"]', "pir")
                    await page.click('#pair button[type="submit"]')
                    row = page.locator(f"#device-{GW}-pir-kitchen")
                    await expect(row).to_be_visible()
                    await expect(row.locator(".signal")).to_have_text("—")
                    now = world.clock.now()
                    # what ingest stores when the paired sensor reports (zigbee2mqtt linkquality)
                    await world.readings(GW, f"{GW}-pir-kitchen", "linkquality", (now, 142))
                    await world.readings(GW, f"{GW}-pir-kitchen", "battery", (now, 97))
                    await expect(row.locator(".signal")).to_have_text("142")
                    await expect(row.locator(".battery")).to_have_text("97%")

                    await page.click('#test-form button[type="submit"]')
                    await page.wait_for_url(re.compile(r"\?test=cmd-[0-9a-f]+"))
                    passed = page.locator(".test-passed")
                    await expect(passed).to_be_visible(timeout=LIVE_TIMEOUT_MS)
                    await expect(passed).to_contain_text(GW)
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(
                        path=str(SCREENSHOTS / "installer-en.png"), full_page=True
                    )
                    await page.click("a.lang")
                    await expect(page.locator(".test-passed")).to_contain_text("驿站已收到测试报警")
                    await page.screenshot(
                        path=str(SCREENSHOTS / "installer-zh.png"), full_page=True
                    )
                views = await world.ctx.alerts.list(resident_ids=None, limit=50)
                assert any(v.kind == "test_alarm" and v.gateway_id == GW for v in views)
        finally:
            await context.close()
            engine_task.cancel()
            watcher.cancel()
            for task in (engine_task, watcher):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
