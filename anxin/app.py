"""``anxin up``: builds every part, runs them in one TaskGroup, drains on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time

import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.audit import AuditLog
from alerts.detector_alarms import DetectorAlarms
from alerts.engine import AlertEngine
from alerts.feed import AlertFeed
from alerts.link_health import LinkWatch
from alerts.outbox import AppriseNotifier, DeliverySender
from alerts.routine.monitor import RoutineMonitor
from alerts.scheduler import EscalationScheduler
from alerts.service import AlertService
from anxin import migrate
from anxin.broker import embedded_broker
from anxin.commands import CommandPublisher
from anxin.config import Settings
from anxin.credentials import SERVICE_USERS, BrokerLogins, demo_gateway_password, service_password
from anxin.demo import backfill_history, demo_clock, run_demo_gateways, save_demo_clock
from anxin.monitors import BrokerLogin, build_monitors, keep_running
from anxin.serving import EmbeddedServer, Readiness
from anxin.stopping import cancel_until_done
from anxin.stores import open_store
from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.provisioning_api import ProvisioningSettings
from devices.clock import Clock, SystemClock
from ingest.consumer import Ingest
from ingest.metrics import IngestMetrics, metrics_app
from ingest.quarantine import SQLiteQuarantine
from ingest.retention import DEFAULT_RETENTION
from ingest.store import ReadingStore
from registry.broker_accounts import RegistryOnlyAccounts
from registry.db import make_async_engine, make_sessionmaker
from registry.demo import DemoFleet
from registry.models import Gateway
from registry.passwords import hash_password, verify_password
from registry.repository import is_known_gateway

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0  # simulated seconds between retention runs (rollups, then deletes)
KNOWN_GATEWAY_TTL_S = 10.0  # a revoked gateway is refused by ingest within this many seconds


class KnownGateways:
    """``is_known_gateway`` for ingest, cached: ingest asks on every message."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._cache: dict[str, tuple[bool, float]] = {}

    async def __call__(self, gateway_id: str) -> bool:
        hit = self._cache.get(gateway_id)
        now = time.monotonic()
        if hit is not None and now - hit[1] < KNOWN_GATEWAY_TTL_S:
            return hit[0]
        async with self._sessions() as session:
            known = await is_known_gateway(session, gateway_id)
        self._cache[gateway_id] = (known, now)
        return known


class ClockSkewAlarms:
    """Ingest's clock-skew hook -> the technical alarm "clock wrong at gateway X" (owned tasks)."""

    def __init__(self, alerts: AlertService, clock: Clock) -> None:
        self._alerts = alerts
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, gateway_id: str, offset_s: float) -> None:
        task = asyncio.get_running_loop().create_task(self._raise(gateway_id, offset_s))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("clock_alarm_failed", exc_info=task.exception())

    async def _raise(self, gateway_id: str, offset_s: float) -> None:
        day = self._clock.now().date().isoformat()
        await self._alerts.raise_condition(
            kind="clock_wrong",
            gateway_id=gateway_id,
            resident_id=None,
            fingerprint=f"clock_wrong:{gateway_id}:{day}",
            summary=f"clock wrong at gateway {gateway_id}: {offset_s:+.1f} s",
            priority="technical",
        )


async def _routine(
    monitor: RoutineMonitor,
    store: ReadingStore,
    fleet: DemoFleet | None,
    settings: Settings,
    clock: Clock,
) -> None:
    """The routine detectors; in the demo, after the residents' past weeks are in the store."""
    if fleet is not None:
        await backfill_history(store, fleet, settings, clock.now())
    await monitor.run()


async def _retention(store: ReadingStore, clock: Clock) -> None:
    """Roll up and expire old readings periodically (per-measurement policies of ingest)."""
    while True:
        report = await store.apply_retention(clock.now(), DEFAULT_RETENTION)
        log.info("retention_applied report=%s", report)
        await asyncio.sleep(max(clock.to_real_seconds(RETENTION_EVERY_S), 1.0))


async def _gateway_secret_lookup(
    sessions: async_sessionmaker[AsyncSession], gateway_id: str
) -> str | None:
    async with sessions() as session:
        gateway = await session.get(Gateway, gateway_id)
    if gateway is None or gateway.revoked_at is not None or not gateway.secret_hash:
        return None
    return gateway.secret_hash


async def _ensure_demo_credentials(
    sessions: async_sessionmaker[AsyncSession], secret: str, gateway_ids: list[str]
) -> None:
    async with sessions() as session:
        rows = (await session.scalars(select(Gateway).where(Gateway.id.in_(gateway_ids)))).all()
        for gateway in rows:
            password = demo_gateway_password(secret, gateway.id)
            if not gateway.secret_hash or not verify_password(gateway.secret_hash, password):
                gateway.secret_hash = await asyncio.to_thread(hash_password, password)
        await session.commit()


def _print_banner(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}/"
    lines = [
        "",
        "  Anxin (安心) is starting",
        f"  dashboard   {url}",
        f"  MQTT broker mqtt://{settings.host}:{settings.mqtt_port}  (services log in as anxin-platform)",
        f"  data        {settings.data_dir}",
    ]
    if settings.demo:
        lines += [
            f"  demo        {settings.homes} simulated homes at {settings.speed:g}x real time",
            "  logins      care station: station / demo   family: family / demo",
            "              installer: installer / demo    admin: admin / demo",
        ]
    sys.stdout.write("\n".join(lines) + "\n\n")
    sys.stdout.flush()


def _rate_text(per_s: float) -> str:
    """A small demo's few readings a second read "0.3", not "0" (as if nothing arrived)."""
    return f"{per_s:,.1f}" if per_s < 10 else f"{per_s:,.0f}"


async def _status_line(
    ingest: Ingest, alerts: AlertService, settings: Settings, clock: Clock, homes: int
) -> None:
    """One live line: homes online, readings/s, open alerts (rewritten in place on a terminal)."""
    tty = sys.stdout.isatty()
    last_written, last_t = ingest.stats.written, time.monotonic()
    while True:
        await asyncio.sleep(settings.status_interval_s)
        now_t = time.monotonic()
        rate = (ingest.stats.written - last_written) / max(now_t - last_t, 1e-6)
        last_written, last_t = ingest.stats.written, now_t
        online = sum(1 for s in ingest.gateway_status.values() if s.state == "online")
        open_alerts = await alerts.count_open()
        sim = clock.now().astimezone().strftime("%Y-%m-%d %H:%M") if settings.demo else ""
        line = (
            f"homes online {online}/{homes}  readings/s {_rate_text(rate)}  open alerts {open_alerts}"
            + (f"  simulated time {sim}" if sim else "")
        )
        if tty:
            sys.stdout.write("\r" + line.ljust(100))
        else:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
        if settings.demo:
            save_demo_clock(settings.data_dir, clock.now())


async def run(settings: Settings) -> int:
    """Run the platform until SIGINT/SIGTERM; returns the process exit code."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = settings.secret_key()
    _print_banner(settings)
    await asyncio.to_thread(migrate.upgrade, settings.registry_url)
    db = make_async_engine(settings.registry_url)
    sessions = make_sessionmaker(db)
    clock: Clock = demo_clock(settings.data_dir, settings.speed) if settings.demo else SystemClock()

    fleet = None
    if settings.demo:
        from registry.demo import seed_demo

        async with sessions() as session:
            fleet = await seed_demo(session, settings.homes)
            await session.commit()
        await _ensure_demo_credentials(sessions, secret, [g.gateway_id for g in fleet.gateways])

    logins = BrokerLogins(
        secret, lambda gid: _gateway_secret_lookup(sessions, gid), verify_password
    )
    store = await open_store(settings)
    quarantine = await SQLiteQuarantine.open(settings.quarantine_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    known = KnownGateways(sessions)
    metrics = IngestMetrics()
    password = service_password(secret)
    try:
        async with embedded_broker(
            settings.host, settings.mqtt_port, logins.verify, list(SERVICE_USERS)
        ):
            feed = AlertFeed()
            # a gateway that is offline is one technical alarm: the person's silence behind it
            # is not "inactive" (the link watch tells the service which gateways are offline)
            link_watch = LinkWatch()
            alerts = AlertService(sessions, feed, clock, gateway_offline=link_watch.offline)
            ingest = Ingest(
                broker_host=settings.host,
                broker_port=settings.mqtt_port,
                store=store,
                quarantine=quarantine,
                clock=clock,
                is_known_gateway=known,
                username="anxin-ingest",
                password=password,
                client_id="anxin-ingest",
                metrics=metrics,
                on_clock_skew=ClockSkewAlarms(alerts, clock),
            )
            engine = AlertEngine(
                alerts,
                sessions,
                settings.host,
                settings.mqtt_port,
                clock,
                username="anxin-alerts",
                password=password,
            )
            commands = CommandPublisher(
                settings.host, settings.mqtt_port, "anxin-platform", password
            )
            audit = AuditLog(sessions, clock)
            monitors = build_monitors(
                alerts, sessions, feed, store, clock, link_watch,
                BrokerLogin(settings.host, settings.mqtt_port, "anxin-platform", password),
                commands.send,
            )  # fmt: skip
            sender = DeliverySender(sessions, AppriseNotifier(), clock)
            scheduler = EscalationScheduler(
                sessions,
                feed,
                clock,
                sender.wake,
                link_base=f"http://{settings.host}:{settings.port}",
            )
            detector_alarms = DetectorAlarms(monitors.health, alerts, sessions, clock)
            server = EmbeddedServer(
                uvicorn.Config(None, host=settings.host, port=settings.port, log_level="warning")  # type: ignore[arg-type]
            )
            ready = Readiness(
                {
                    "ingest": ingest.ready.is_set,
                    "alerts": engine.ready.is_set,
                    "http": lambda: server.started,
                }
            )
            app = create_app(
                DashboardContext(
                    sessions=sessions,
                    alerts=alerts,
                    feed=feed,
                    is_ready=ready,
                    secret_key=secret,
                    clock=clock,
                    store=store,
                    quarantine=quarantine,
                    gateway_status=lambda: ingest.gateway_status,
                    send_command=commands.send,
                    audit=audit,
                    detector_problems=monitors.health.problems,
                )
            )
            app.mount("/metrics", metrics_app(metrics))
            # gateways provisioned here log in to the embedded broker through the registry
            app.state.provisioning = ProvisioningSettings(
                broker_url=f"mqtt://{settings.host}:{settings.mqtt_port}",
                ca_pem=None,
                accounts=RegistryOnlyAccounts(),
            )
            server.config.app = app
            async with asyncio.TaskGroup() as tg:
                core = [
                    tg.create_task(ingest.run(), name="ingest"),
                    tg.create_task(engine.run(), name="alerts"),
                    tg.create_task(server.serve(), name="http"),
                    tg.create_task(
                        keep_running("retention", lambda: _retention(store, clock)),
                        name="retention",
                    ),
                    tg.create_task(scheduler.run(), name="escalation"),
                    tg.create_task(sender.run(), name="notifications"),
                    tg.create_task(
                        keep_running("detector-alarms", detector_alarms.run),
                        name="detector-alarms",
                    ),
                    *monitors.start(
                        tg, lambda: _routine(monitors.routine, store, fleet, settings, clock)
                    ),
                ]
                edge: list[asyncio.Task[None]] = []
                if fleet is not None:
                    edge.append(
                        tg.create_task(
                            run_demo_gateways(settings, fleet, secret, clock), name="demo-gateways"
                        )
                    )
                status = tg.create_task(
                    _status_line(
                        ingest, alerts, settings, clock, len(fleet.gateways) if fleet else 0
                    ),
                    name="status",
                )
                await stop.wait()
                log.info("shutdown_requested")
                for task in [status, *edge]:
                    task.cancel()
                await asyncio.gather(*edge, status, return_exceptions=True)
                server.should_exit = True
                await cancel_until_done([task for task in core if task.get_name() != "http"])
    finally:
        if settings.demo:
            save_demo_clock(settings.data_dir, clock.now())
        await store.close()
        await quarantine.close()
        await db.dispose()
        sys.stdout.write("\nAnxin stopped.\n")
    return 0
