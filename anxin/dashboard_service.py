"""``anxin dashboard``: builds the dashboard's parts for a split deployment, serves until SIGTERM.

In ``anxin up`` the dashboard is handed objects of the same process (the alert feed, ingest's
gateway status, the detectors' health). Here each comes from what the other processes share:

- alert changes: ``AlertFollower`` reads them, commit-ordered, from the audit log of the shared
  database and is the only publisher of the consoles' feed; this process's own acknowledgements
  reach it the same way (they only wake it early), so each change is shown once;
- gateway status: the retained ``anxin/v1/+/status`` messages on the broker (``GatewayStatusWatch``);
- commands to gateways (pairing, test alarms): published with the broker options given;
- the detectors' problems (the console's banner, ``/healthz``): the report ``anxin alerts run``
  writes to the database (``ReportedStatus``), which also says when that report stops;
- the time-series store and, if it is on this machine, ingest's quarantine file.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from alerts.audit import AuditLog
from alerts.feed import AlertFeed
from alerts.follower import AlertFollower
from alerts.service import AlertService
from alerts.service_status import ReportedStatus
from anxin import migrate
from anxin.broker_cli import dynsec_accounts
from anxin.commands import CommandPublisher
from anxin.config import installation_secret
from anxin.dashboard_cli import DashboardSettings
from anxin.serving import EmbeddedServer, Readiness
from anxin.stopping import cancel_until_done
from anxin.stores import open_store_at
from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.provisioning_api import ProvisioningSettings
from devices.clock import SystemClock
from devices.payloads import StatusMessage
from ingest.gateway_status import GatewayStatusWatch
from ingest.quarantine import SQLiteQuarantine
from registry.db import make_async_engine, make_sessionmaker

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 5  # seconds uvicorn waits for open requests (streams) before closing them


def _provisioning(settings: DashboardSettings) -> ProvisioningSettings | None:
    if settings.gateway_broker_url is None or settings.dynsec_url is None:
        return None
    ca_pem = settings.gateway_ca.read_text() if settings.gateway_ca is not None else None
    return ProvisioningSettings(
        broker_url=settings.gateway_broker_url,
        ca_pem=ca_pem,
        accounts=dynsec_accounts(settings.dynsec_url),
    )


async def _announce(
    settings: DashboardSettings,
    server: EmbeddedServer,
    follower: AlertFollower,
    provisioning: bool,
) -> None:
    """Log ``dashboard_ready`` once /healthz answers 200: listening, and following the alerts."""
    await server.listening.wait()
    await follower.ready.wait()
    log.info(
        "dashboard_ready url=http://%s:%d store=%s broker=%s:%d provisioning=%s",
        settings.host,
        settings.port,
        settings.store_kind,
        settings.broker.host,
        settings.broker.port,
        "on" if provisioning else "off",
    )


async def run_dashboard(settings: DashboardSettings) -> int:
    """Serve the dashboard until SIGINT/SIGTERM; returns the exit code."""
    secret = installation_secret(settings.secret_file)
    if not secret:
        log.error("dashboard_refused secret_file=%s reason=empty", settings.secret_file)
        return 2
    # the schema is brought to this version's head, as `anxin up` does (a no-op when it is)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    engine = make_async_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    clock = SystemClock()
    local = AlertFeed()  # what this process commits (acknowledge, resolve, notes): a wake-up only
    feed = AlertFeed()  # what the consoles stream: every committed change, from the follower
    follower = AlertFollower(sessions, feed, wake_on=local)
    broker = settings.broker
    statuses = GatewayStatusWatch(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        tls_context=broker.tls,
        client_prefix="anxin-dashboard",
    )

    def gateway_status() -> dict[str, StatusMessage]:
        # not subscribed (the broker away): "unknown" is true, the last known state may not be
        return statuses.statuses() if statuses.ready.is_set() else {}

    # the detectors run in `anxin alerts run`: their problems, and whether it runs at all
    reported = ReportedStatus(sessions)
    store = await open_store_at(settings.store_kind, settings.store_location)
    quarantine = (
        await SQLiteQuarantine.open(settings.quarantine_path)
        if settings.quarantine_path is not None
        else None
    )
    server = EmbeddedServer(
        uvicorn.Config(
            None,  # type: ignore[arg-type]  # the app is set below, once built
            host=settings.host,
            port=settings.port,
            log_level="warning",
            # an open alert stream never ends by itself; the browser reconnects elsewhere
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
    )
    app = create_app(
        DashboardContext(
            sessions=sessions,
            alerts=AlertService(sessions, local, clock),
            feed=feed,
            is_ready=Readiness(
                {"alert-feed": follower.ready.is_set, "http": lambda: server.started}
            ),
            secret_key=secret,
            clock=clock,
            secure_cookies=settings.secure_cookies,
            store=store,
            quarantine=quarantine,
            gateway_status=gateway_status,
            send_command=CommandPublisher.at(broker).send,
            audit=AuditLog(sessions, clock),
            detector_problems=reported.problems,
        )
    )
    provisioning = _provisioning(settings)
    if provisioning is not None:
        app.state.provisioning = provisioning
    server.config.app = app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with asyncio.TaskGroup() as tg:
            http = tg.create_task(server.serve(), name="http")
            others = [
                tg.create_task(follower.run(), name="alert-follower"),
                tg.create_task(statuses.run(), name="gateway-status"),
                tg.create_task(reported.run(), name="service-status"),
                tg.create_task(_announce(settings, server, follower, provisioning is not None)),
            ]
            await stop.wait()
            log.info("dashboard_stopping")
            server.should_exit = True  # open streams are closed by uvicorn's graceful shutdown
            await cancel_until_done(others)
            await http
    finally:
        await store.close()
        if quarantine is not None:
            await quarantine.close()
        await engine.dispose()
    return 0
