"""``anxin audit verify``, ``anxin alerts run|kpis``, ``anxin bench alerts``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
import sys
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from alerts.audit import AuditLog
from alerts.detector_alarms import DetectorAlarms
from alerts.detector_health import DetectorHealth
from alerts.engine import AlertEngine
from alerts.feed import AlertFeed
from alerts.kpis import StationReports
from alerts.link_health import LinkWatch
from alerts.outbox import AppriseNotifier, DeliverySender
from alerts.scheduler import EscalationScheduler
from alerts.service import AlertService
from alerts.service_status import StatusReporter
from anxin import migrate
from anxin.broker_login import BrokerLogin, add_broker_options, broker_settings_or_exit
from anxin.commands import CommandPublisher
from anxin.monitors import Monitors, build_monitors, keep_running
from anxin.stopping import cancel_until_done
from anxin.stores import STORE_KINDS, add_store_options, open_store_at, store_location
from devices.clock import Clock, ScaledClock, SystemClock
from registry.db import make_async_engine, make_sessionmaker

log = logging.getLogger(__name__)


def add_commands(subparsers: Any) -> None:
    """Add ``audit``, ``alerts`` and ``bench alerts`` to the ``anxin`` command's sub-parsers."""
    audit = subparsers.add_parser("audit", help="the hash-chained audit log")
    which = audit.add_subparsers(dest="audit", required=True)
    verify = which.add_parser("verify", help="check the chain; exit 1 if any entry was altered")
    verify.add_argument("--database-url", required=True, help="sqlite:///… or postgresql://…")
    verify.set_defaults(handler=_run_verify)

    alerts = subparsers.add_parser("alerts", help="the alert service on its own")
    what = alerts.add_subparsers(dest="alerts", required=True)
    # no abbreviations: `--mqtt-password` (a password in `ps`) must not pass for --mqtt-password-file
    run = what.add_parser(
        "run",
        help="engine, escalation, notifications and every periodic detector",
        allow_abbrev=False,
    )
    run.add_argument("--database-url", required=True)
    run.add_argument("--link-base", default="http://127.0.0.1:8000", help="console URL in messages")
    run.add_argument("--speed", type=float, help="simulated time runs X times real time")
    run.add_argument("--start", help="simulated start time (ISO 8601, with --speed)")
    add_store_options(
        run,
        "the time-series store ingest writes (read by the inactivity, vitals and "
        "device-health detectors)",
    )
    add_broker_options(run)
    run.set_defaults(handler=_run_service)
    kpis = what.add_parser("kpis", help="one station's week as JSON: KPIs and the test alarms")
    kpis.add_argument("--database-url", required=True)
    kpis.add_argument("--station", type=int, required=True, help="station id")
    kpis.add_argument(
        "--week", type=iso_week_monday, required=True, help="ISO week YYYY-Www (station time)"
    )
    kpis.set_defaults(handler=_run_kpis)

    bench = _bench_subparsers(subparsers)
    ba = bench.add_parser("alerts", help="fall event → alert stored → first notification sent")
    ba.add_argument("--events", type=int, default=200, help="fall events, one per home")
    ba.add_argument("--rate", type=float, default=20.0, help="events per second (nominal load)")
    ba.add_argument("--database-url", help="default: a SQLite file in a temp dir")
    ba.set_defaults(handler=_run_bench)
    br = bench.add_parser("routine", help="the inactivity monitor over many homes: sweeps, memory")
    br.add_argument("--store", choices=STORE_KINDS, default="sqlite")
    br.add_argument("--homes", type=int, default=500)
    br.add_argument("--days", type=int, default=35, help="history per home (the monitor keeps 35)")
    br.add_argument("--distinct", type=int, default=20, help="different simulated residents")
    br.add_argument("--sweeps", type=int, default=5, help="steady sweeps timed after the first")
    br.set_defaults(handler=_run_bench_routine)


def _bench_subparsers(subparsers: Any) -> Any:
    """The ``bench`` command's sub-parsers (another module may have added ``bench`` already)."""
    bench = subparsers.choices.get("bench")
    if bench is None:
        bench = subparsers.add_parser("bench", help="benchmarks that print their figures as JSON")
        return bench.add_subparsers(dest="bench", required=True)
    for action in bench._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return bench.add_subparsers(dest="bench", required=True)


def _run_verify(args: argparse.Namespace) -> int:
    async def verify() -> int:
        engine = make_async_engine(args.database_url)
        try:
            result = await AuditLog(make_sessionmaker(engine), SystemClock()).verify()
        finally:
            await engine.dispose()
        sys.stdout.write(
            json.dumps(
                {
                    "ok": result.ok,
                    "checked": result.checked,
                    "bad_seq": result.bad_seq,
                    "reason": result.reason,
                }
            )
            + "\n"
        )
        return 0 if result.ok else 1

    return asyncio.run(verify())


def iso_week_monday(text: str) -> date:
    """The Monday of ISO week ``YYYY-Www`` (argparse type: a bad week is a usage error)."""
    try:
        year, week = text.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO week YYYY-Www: {text!r}") from err


def _run_kpis(args: argparse.Namespace) -> int:
    monday: date = args.week

    async def report() -> dict[str, Any]:
        engine = make_async_engine(args.database_url)
        try:
            reports = StationReports(make_sessionmaker(engine))
            kpis = await reports.kpis(args.station, monday)
            tests = await reports.test_alarm_report(args.station, monday)
        finally:
            await engine.dispose()
        return {
            **dataclasses.asdict(kpis),
            "week": f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}",
            "test_alarms": [dataclasses.asdict(t) for t in tests],
        }

    sys.stdout.write(json.dumps(asyncio.run(report()), default=str, ensure_ascii=False) + "\n")
    return 0


def service_clock(speed: float | None, start: str | None) -> Clock:
    """The system clock, or simulated time from ``start`` at ``speed`` times real time."""
    if speed is None:
        return SystemClock()
    begin = datetime.fromisoformat(start) if start else datetime.now(UTC)
    return ScaledClock(speed, begin.astimezone(UTC))


@dataclasses.dataclass(frozen=True, slots=True)
class StoreOptions:
    """Which time-series store the detectors read (the one ingest writes)."""

    kind: str = "influxdb"  # or "sqlite"
    location: str = "http://127.0.0.1:8086"  # InfluxDB URL or SQLite file


async def run_alert_service(
    database_url: str,
    broker: BrokerLogin,
    clock: Clock,
    link_base: str,
    store_options: StoreOptions | None = None,
) -> None:
    """Engine, escalation, notifications and every periodic detector (routine/inactivity, vitals,
    device and link health, weekly test alarms) until cancelled (or SIGTERM/SIGINT)."""
    engine = make_async_engine(database_url)
    sessions = make_sessionmaker(engine)
    feed = AlertFeed()
    link_watch = LinkWatch()
    service = AlertService(sessions, feed, clock, gateway_offline=link_watch.offline)
    sender = DeliverySender(sessions, AppriseNotifier(), clock)
    scheduler = EscalationScheduler(sessions, feed, clock, sender.wake, link_base)
    # every MQTT client of the service logs in the same way: events, link health, commands
    alert_engine = AlertEngine(
        service, sessions, broker.host, broker.port, clock, broker.username, broker.password,
        tls_context=broker.tls,
    )  # fmt: skip
    commands = CommandPublisher.at(broker)
    # failures of the detectors (also: the store cannot be opened) are recorded here and, when they
    # last, told to the stations as technical alarms: this process has no console to show them
    health = DetectorHealth(now=clock.now)
    detector_alarms = DetectorAlarms(health, service, sessions, clock)
    # `anxin dashboard` (another process) shows these problems, and whether this service runs
    status_report = StatusReporter(sessions, health.problems, clock)

    async def detectors() -> None:
        # the store is opened here, not before the engine starts: with the time-series store
        # down, fall and call-button alerts still flow while this is retried (keep_running)
        options = store_options or StoreOptions()
        store = await open_store_at(options.kind, options.location)
        try:
            monitors = build_monitors(
                service, sessions, feed, store, clock, link_watch, broker, commands.send, health,
            )  # fmt: skip
            async with asyncio.TaskGroup() as detectors_tg:
                monitors.start(detectors_tg)
        finally:
            await store.close()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [
                tg.create_task(alert_engine.run(), name="engine"),
                tg.create_task(scheduler.run(), name="escalation"),
                tg.create_task(sender.run(), name="delivery"),
                tg.create_task(
                    keep_running("detectors", detectors, health=health), name="detectors"
                ),
                tg.create_task(
                    keep_running("detector-alarms", detector_alarms.run), name="detector-alarms"
                ),
                tg.create_task(
                    keep_running("service-status", status_report.run), name="service-status"
                ),
            ]

            async def announce_ready() -> None:
                await alert_engine.ready.wait()
                log.info(
                    "alert_service_ready broker=%s:%d tls=%s username=%s detectors=%s",
                    broker.host,
                    broker.port,
                    "on" if broker.tls is not None else "off",
                    broker.username,
                    ",".join(Monitors.names),
                )

            # a task, not an await here: SIGTERM must stop the service also while the broker
            # refuses it or is unreachable (before, it was ignored until the broker answered)
            tasks.append(tg.create_task(announce_ready(), name="announce-ready"))
            await stop.wait()
            await cancel_until_done(tasks)
    finally:
        await engine.dispose()


def _run_service(args: argparse.Namespace) -> int:
    broker = broker_settings_or_exit(args, "anxin alerts run").login()
    try:
        behind = migrate.schema_behind(args.database_url)
    except SQLAlchemyError as err:  # the database down: the engine waits for it (logged)
        log.warning("alert_service_schema_unchecked error=%s", type(err).__name__)
        behind = None
    if behind is not None:
        # raising into tables that are not there would fail every fall, retried for ever
        sys.stderr.write(
            f"anxin alerts run: {behind}; run `anxin migrate --database-url …` first "
            "(`anxin dashboard` and `anxin up` migrate at start too)\n"
        )
        return 2
    clock = service_clock(args.speed, args.start)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_alert_service(
                args.database_url,
                broker,
                clock,
                args.link_base,
                StoreOptions(
                    args.store,
                    store_location(args),
                ),
            )
        )
    return 0


def _run_bench_routine(args: argparse.Namespace) -> int:
    from anxin.bench.routine import run_routine_bench

    figures = asyncio.run(
        run_routine_bench(args.store, args.homes, args.days, args.distinct, args.sweeps)
    )
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from anxin.bench.alerts import run_alert_bench

    figures = asyncio.run(run_alert_bench(args.events, args.rate, args.database_url))
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0 if figures["lost"] == 0 and figures["duplicated"] == 0 else 1
