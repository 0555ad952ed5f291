"""``anxin dashboard`` as its own process against PostgreSQL and Mosquitto (a split deployment).

Alerts are written by another party — an ``AlertService`` of this test process on the same
database, as ``anxin alerts run`` would — and must reach the dashboard process's alert stream,
once; an acknowledgement made through the dashboard's API must be in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.detector_health import DetectorHealth
from alerts.feed import AlertFeed
from alerts.service import AlertService
from alerts.service_status import StatusReporter
from anxin import migrate
from anxin.broker_cli import ADMIN_PASSWORD_ENV as DYNSEC_PASSWORD_ENV
from anxin.localservers import Server, free_port
from devices.clock import ManualClock, SystemClock
from devices.codec import decode_as, encode
from devices.payloads import CommandMessage, EventKind, EventMessage, GatewayState, StatusMessage
from devices.topics import Channel, topic
from registry.broker_accounts import MosquittoDynsecAccounts
from registry.db import make_async_engine, make_sessionmaker
from tests.dashboard.conftest import alert_stream, seed, token_for, urgent
from tests.dashboard.test_browser import browser, sign_in_to_console
from tests.dashboard.test_pages import login
from tests.platform.dashboard_process import Process, anxin
from tests.provisioning.conftest import ADMIN, ADMIN_PASSWORD, dynsec_server
from tests.registry.databases import create_pg_database, drop_pg_database

pytestmark = [pytest.mark.postgres, pytest.mark.mosquitto]

EVENT_WAIT_S = 5.0  # the follower polls every second: a change is on the stream well within this

# fixtures: Debian's Chromium as the dashboard's browser tests launch it; a dynsec Mosquitto
__all__ = ["browser", "dynsec_server"]


@dataclass
class Split:
    """A seeded PostgreSQL database and ``anxin dashboard`` serving it."""

    base: str
    url: str
    sessions: async_sessionmaker[AsyncSession]
    ids: dict[str, int]
    process: Process
    broker: Server

    def writer(self) -> AlertService:
        """An alert service on the same database, as another process (``anxin alerts run``)
        would have: what it publishes stays in its own feed."""
        return AlertService(self.sessions, AlertFeed(), SystemClock())


@contextlib.asynccontextmanager
async def running_split(
    postgres: Server,
    broker: Server,
    tmp_path: Path,
    *options: str,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Split]:
    """A fresh seeded PostgreSQL database and ``anxin dashboard OPTIONS…`` on it and ``broker``."""
    url = await asyncio.to_thread(create_pg_database, postgres)
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_async_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        ids = await seed(sessions, ManualClock(datetime.now(UTC)))
        port = free_port()
        async with anxin(
            "dashboard",
            "--database-url",
            url,
            "--store",
            "sqlite",
            "--sqlite-path",
            str(tmp_path / "series.db"),
            "--port",
            str(port),
            "--secret-file",
            str(tmp_path / "secret.key"),
            "--mqtt-port",
            str(broker.port),
            *options,
            cwd=tmp_path,
            env=env,
        ) as process:
            await process.wait_for("dashboard_ready")
            base = f"http://127.0.0.1:{port}"
            yield Split(base, url, sessions, ids, process, broker)
    finally:
        await engine.dispose()
        await asyncio.to_thread(drop_pg_database, postgres, url)


@pytest.fixture
async def split(
    postgres_server: Server, mosquitto_server: Server, tmp_path: Path
) -> AsyncIterator[Split]:
    async with running_split(postgres_server, mosquitto_server, tmp_path) as running:
        yield running


async def next_event(lines: Any) -> tuple[str, dict[str, Any]]:
    """The next server-sent event (its name and JSON data), skipping comments."""
    name, data = "message", ""
    async for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            return name, json.loads(data)
    raise AssertionError("stream ended")


async def next_alert(lines: Any) -> dict[str, Any]:
    """The next ``event: alert`` of the stream."""
    while True:
        name, data = await asyncio.wait_for(next_event(lines), EVENT_WAIT_S)
        if name == "alert":
            return data


async def test_serves_health_and_the_api_with_a_bearer_token(split: Split) -> None:
    async with httpx.AsyncClient(base_url=split.base, timeout=10) as http:
        health = await http.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert (await http.get("/api/v1/alerts")).status_code == 401
        headers = await token_for(http, "staff_a")
        me = await http.get("/api/v1/me", headers=headers)
        assert me.status_code == 200
        assert (me.json()["username"], me.json()["role"]) == ("staff_a", "staff")
        residents = await http.get("/api/v1/residents", headers=headers)
        assert [r["id"] for r in residents.json()] == [split.ids["resident_a"]]


async def test_detector_problems_reported_by_the_alert_service_are_shown(split: Split) -> None:
    """``anxin alerts run`` writes its detectors' problems to the database; the dashboard
    process reads them for /healthz and the console's banner."""
    clock = SystemClock()
    health = DetectorHealth(now=clock.now)
    health.failed("routine", ConnectionError("influxdb unreachable"))
    await StatusReporter(split.sessions, health.problems, clock).report()
    await split.process.wait_for("service_status_changed service=alerts problems=routine")
    async with httpx.AsyncClient(base_url=split.base, timeout=10) as http:
        health_page = await http.get("/healthz")
        assert health_page.status_code == 200
        body = health_page.json()
        assert body["status"] == "degraded"
        assert [(p["detector"], p["error"]) for p in body["problems"]] == [
            ("routine", "ConnectionError: influxdb unreachable")
        ]
        await login(http, "staff_a")
        console = await http.get("/console", headers={"Accept-Language": "en"})
        assert "Inactivity and routine" in console.text
        assert "influxdb unreachable" in console.text


async def test_alerts_of_another_process_stream_once_and_acks_reach_the_database(
    split: Split,
) -> None:
    writer = split.writer()
    async with httpx.AsyncClient(base_url=split.base, timeout=10) as http:
        headers = await token_for(http, "staff_a")
        async with alert_stream(http, headers) as lines:
            started = time.monotonic()
            fall = await writer.raise_from_event(urgent("gw-a", "fall", datetime.now(UTC)))
            assert fall is not None
            raised = await next_alert(lines)
            latency = time.monotonic() - started
            assert (raised["action"], raised["alert"]["id"]) == ("raised", fall.id)
            assert raised["alert"]["state"] == "open"
            assert latency < 3.0, f"took {latency:.2f} s"

            ack = await http.post(f"/api/v1/alerts/{fall.id}/ack", headers=headers)
            assert ack.status_code == 200, ack.text
            stored = await writer.get(fall.id)  # what every other process reads
            assert (stored.state, stored.acked_by) == ("acknowledged", "staff_a")
            acked = await next_alert(lines)
            assert (acked["action"], acked["alert"]["id"]) == ("acknowledged", fall.id)

            # another station's alert is not shown; the next one of ours is: so nothing came
            # twice in between (not the raise, not this process's own acknowledgement)
            other = await writer.raise_from_event(urgent("gw-b", "fall", datetime.now(UTC)))
            call = await writer.raise_from_event(urgent("gw-a", "call_button", datetime.now(UTC)))
            assert other is not None
            assert call is not None
            following = await next_alert(lines)
            assert (following["action"], following["alert"]["id"]) == ("raised", call.id)

        listing = await http.get("/api/v1/alerts", headers=headers)
        states = {a["id"]: a["state"] for a in listing.json()}
        assert states == {fall.id: "acknowledged", call.id: "open"}


async def test_gateway_status_and_commands_go_through_the_broker(split: Split) -> None:
    home = split.ids["home_a"]
    port = split.broker.port
    async with aiomqtt.Client("127.0.0.1", port, identifier="split-dashboard-test") as mqtt:
        commands = topic("gw-a", Channel.COMMANDS)
        await mqtt.subscribe(commands, qos=1)
        online = StatusMessage(gw="gw-a", boot="b1", state=GatewayState.ONLINE, t=datetime.now(UTC))
        await mqtt.publish(topic("gw-a", Channel.STATUS), encode(online), qos=1, retain=True)
        await split.process.wait_for("gateway_status_changed gw=gw-a state=online")
        async with httpx.AsyncClient(base_url=split.base, timeout=10) as http:
            await login(http, "installer")
            live = await http.get(f"/install/homes/{home}/live")
            assert live.status_code == 200
            assert live.json()["gateways"] == {"gw-a": "online"}

            page = await http.get(f"/install/homes/{home}")
            match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
            assert match is not None
            sent = await http.post(
                f"/install/homes/{home}/test-alarm",
                data={"csrf": match.group(1), "gateway_id": "gw-a"},
            )
            assert sent.status_code == 303, sent.text
            async with asyncio.timeout(EVENT_WAIT_S):
                message = await anext(aiter(mqtt.messages))
        assert isinstance(message.payload, bytes)
        command = decode_as(CommandMessage, message.payload)
        assert command.kind.value == "test_alarm"
        assert command.args == {"by": "installer"}
        # leave no retained status behind for the module's next test
        await mqtt.publish(topic("gw-a", Channel.STATUS), b"", qos=1, retain=True)


@pytest.mark.browser
async def test_console_in_chromium_follows_another_process_and_acknowledges(
    split: Split, browser: Browser
) -> None:
    """Two consoles of the same station on the dashboard process: an alert raised elsewhere
    appears on both without a reload; one acknowledges it, the other follows; the database
    has the acknowledgement."""
    writer = split.writer()
    pages: list[Page] = []
    for _ in range(2):
        context = await browser.new_context(locale="en-GB", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        await sign_in_to_console(page, split.base, "staff_a")
        await page.evaluate("window.__notReloaded = true")
        pages.append(page)
    try:
        fall = await writer.raise_from_event(urgent("gw-a", "fall", datetime.now(UTC)))
        assert fall is not None
        rows = [page.locator(f"#alert-{fall.id}") for page in pages]
        for row in rows:
            await expect(row).to_be_visible(timeout=EVENT_WAIT_S * 1000)
            await expect(row.locator(".kind")).to_have_text("Fall")
        await rows[0].locator("button.ack").click()
        for row in rows:
            await expect(row.locator(".state-label")).to_have_text("Acknowledged")
        stored = await writer.get(fall.id)
        assert (stored.state, stored.acked_by) == ("acknowledged", "staff_a")
        for page in pages:
            assert await page.evaluate("window.__notReloaded === true"), "no reload"
            assert await page.locator(f"#alert-{fall.id}").count() == 1, "one row per alert"
    finally:
        for page in pages:
            await page.context.close()


async def test_a_fall_raised_by_anxin_alerts_run_reaches_the_dashboards_stream(
    split: Split, tmp_path: Path
) -> None:
    """The real split: a gateway's fall goes through Mosquitto to ``anxin alerts run``, which
    raises it in PostgreSQL; the ``anxin dashboard`` process streams it. The alert service's
    status report reaches the dashboard too."""
    async with anxin(
        "alerts",
        "run",
        "--database-url",
        split.url,
        "--mqtt-port",
        str(split.broker.port),
        "--store",
        "sqlite",
        "--sqlite-path",
        str(tmp_path / "series.db"),
        cwd=tmp_path,
    ) as alerts_run:
        await alerts_run.wait_for("alert_service_ready")
        await split.process.wait_for("service_status_changed service=alerts problems=none")
        async with httpx.AsyncClient(base_url=split.base, timeout=10) as http:
            headers = await token_for(http, "staff_a")
            async with alert_stream(http, headers) as lines:
                port = split.broker.port
                async with aiomqtt.Client("127.0.0.1", port, identifier="split-gw-a") as gateway:
                    now = datetime.now(UTC)
                    event = EventMessage(
                        gw="gw-a", boot="b1", seq=1, sent_at=now, id=uuid.uuid4().hex,
                        kind=EventKind.FALL, dev="gw-a-wear", t=now,
                    )  # fmt: skip
                    await gateway.publish(topic("gw-a", Channel.EVENTS), encode(event), qos=1)
                raised = await next_alert(lines)
        assert (raised["action"], raised["alert"]["kind"]) == ("raised", "fall")
        assert raised["alert"]["resident_id"] == split.ids["resident_a"]


async def test_installers_provision_a_gateway_through_the_dashboard_process(
    postgres_server: Server, dynsec_server: Server, tmp_path: Path
) -> None:
    """Against a dynamic-security Mosquitto: the dashboard logs in with a service login, an
    installer registers a gateway, the gateway claims its broker login over HTTP, logs in with
    it, and the dashboard sees its status."""
    accounts = MosquittoDynsecAccounts("127.0.0.1", dynsec_server.port, ADMIN, ADMIN_PASSWORD)
    await accounts.add_service("anxin-dashboard", "dashboard-pw-for-tests", replace=True)
    password_file = tmp_path / "dashboard.pw"
    password_file.write_text("dashboard-pw-for-tests\n")
    broker_url = f"mqtt://127.0.0.1:{dynsec_server.port}"
    async with running_split(
        postgres_server,
        dynsec_server,
        tmp_path,
        "--mqtt-username",
        "anxin-dashboard",
        "--mqtt-password-file",
        str(password_file),
        "--gateway-broker-url",
        broker_url,
        "--dynsec",
        f"mqtt://{ADMIN}@127.0.0.1:{dynsec_server.port}",
        env={DYNSEC_PASSWORD_ENV: ADMIN_PASSWORD},
    ) as split:
        assert split.process.matching("dashboard_ready", "provisioning=on")
        await split.process.wait_for("gateway_status_subscribed", "username=anxin-dashboard")
        async with httpx.AsyncClient(base_url=split.base, timeout=10) as http:
            headers = await token_for(http, "installer")
            issued = await http.post(
                "/api/v1/provisioning/gateways",
                json={"gateway_id": "gw-new", "home_id": split.ids["home_a"]},
                headers=headers,
            )
            assert issued.status_code == 201, issued.text
            claimed = await http.post(
                "/api/v1/provisioning/claim", json={"code": issued.json()["code"]}
            )
            assert claimed.status_code == 200, claimed.text
        identity = claimed.json()
        assert (identity["gateway_id"], identity["broker_url"]) == ("gw-new", broker_url)
        async with aiomqtt.Client(
            "127.0.0.1",
            dynsec_server.port,
            identifier="gw-new",
            username=identity["username"],
            password=identity["password"],
        ) as gateway:
            online = StatusMessage(
                gw="gw-new", boot="b1", state=GatewayState.ONLINE, t=datetime.now(UTC)
            )
            await gateway.publish(topic("gw-new", Channel.STATUS), encode(online), qos=1)
        await split.process.wait_for("gateway_status_changed gw=gw-new state=online")
