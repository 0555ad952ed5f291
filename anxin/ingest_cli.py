"""``anxin ingest``, ``anxin bench ingest|queries`` and ``anxin quarantine list|counts``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing
import multiprocessing.context
import signal
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from anxin.broker_login import (
    BrokerLogin,
    BrokerSettings,
    add_broker_options,
    broker_settings_or_exit,
)
from anxin.stores import STORE_KINDS, add_store_options, store_location

log = logging.getLogger(__name__)

RESTART_LIMIT = 100  # a worker that keeps dying is a bug to look at, not to hide


def add_commands(subparsers: Any) -> None:
    """Add ``ingest``, ``bench`` and ``quarantine`` to the ``anxin`` command's sub-parsers."""
    # no abbreviations: `--mqtt-password` (a password in `ps`) must not pass for --mqtt-password-file
    ing = subparsers.add_parser(
        "ingest", help="run N ingest worker processes on one broker", allow_abbrev=False
    )
    ing.add_argument(
        "--workers", type=int, default=1, help="processes (MQTT 5 shared subscription)"
    )
    add_store_options(ing)
    ing.add_argument("--quarantine-path", type=Path, default=Path(".anxin/quarantine.db"))
    ing.add_argument(
        "--protocol", choices=["3.1.1", "5"], default="5", help="MQTT protocol (5: shared subs)"
    )
    ing.add_argument("--metrics-port", type=int, help="Prometheus port of worker 0 (+i for i)")
    ing.add_argument(
        "--database-url",
        help="registry URL for the known-gateway check (default: SQLite in .anxin/registry.db)",
    )
    add_broker_options(ing)
    ing.set_defaults(handler=_run_ingest)

    bench = subparsers.add_parser("bench", help="benchmarks that print their figures as JSON")
    which = bench.add_subparsers(dest="bench", required=True)
    bi = which.add_parser("ingest", help="gateways → Mosquitto → ingest workers → store")
    bi.add_argument("--store", choices=STORE_KINDS, default="influxdb")
    bi.add_argument("--workers", type=int, default=1)
    bi.add_argument("--seconds", type=float, default=20.0)
    bi.add_argument("--naive", action="store_true", help="one store write per message")
    bi.add_argument("--publishers", type=int, default=1, help="publisher processes")
    bi.add_argument("--gateways", type=int, default=50, help="gateways per publisher")
    bi.add_argument("--readings-per-message", type=int, default=1_000)
    bi.add_argument("--window", type=int, default=2, help="unacked messages per gateway")
    bi.add_argument("--no-limits", action="store_true", help="skip the physical-limit runs")
    bi.set_defaults(handler=_run_bench_ingest)
    bm = which.add_parser("gateway-memory", help="peak RSS of an agent with 10^6 readings buffered")
    bm.add_argument("--messages", type=int, default=2000)
    bm.add_argument("--per-message", type=int, default=500)
    bm.add_argument("--seconds", type=float, default=15.0)
    bm.set_defaults(handler=_run_bench_gateway_memory)
    bu = which.add_parser("up", help="anxin up --demo: seconds to /healthz and to the first alert")
    bu.add_argument("--homes", type=int, default=20)
    bu.add_argument("--speed", type=float, default=60.0)
    bu.add_argument("--limit", type=float, default=300.0, help="give up after this many seconds")
    bu.set_defaults(handler=_run_bench_up)
    bd = which.add_parser("delivery", help="kills broker and ingest, drains a 24 h outage")
    bd.add_argument("--backlog", type=int, default=1_000_000, help="readings of the outage")
    bd.add_argument("--events", type=int, default=20, help="events buffered in the outage")
    bd.set_defaults(handler=_run_bench_delivery)
    bq = which.add_parser("queries", help="named queries on a month of data from many homes")
    bq.add_argument("--store", choices=STORE_KINDS, default="influxdb")
    bq.add_argument("--homes", type=int, default=1_000)
    bq.add_argument("--days", type=int, default=30)
    bq.add_argument("--repeat", type=int, default=20, help="timed calls per query")
    bq.set_defaults(handler=_run_bench_queries)

    qua = subparsers.add_parser("quarantine", help="what ingest refused, and why")
    qua.add_argument("action", choices=["list", "counts"])
    qua.add_argument("--path", type=Path, default=Path(".anxin/quarantine.db"))
    qua.add_argument("--limit", type=int, default=20)
    qua.set_defaults(handler=_run_quarantine)


def _run_bench_ingest(args: argparse.Namespace) -> int:
    from anxin.bench.ingest import BenchConfig, run_bench

    config = BenchConfig(
        store=args.store,
        workers=args.workers,
        seconds=args.seconds,
        naive=args.naive,
        publishers=args.publishers,
        gateways=args.gateways,
        readings_per_message=args.readings_per_message,
        window=args.window,
        limits=not args.no_limits,
    )
    figures = asyncio.run(run_bench(config))
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0 if figures["lost"] == 0 and figures["duplicated"] == 0 else 1


def _run_bench_gateway_memory(args: argparse.Namespace) -> int:
    from anxin.bench.gateway_memory import main

    return main(args.messages, args.per_message, args.seconds)


def _run_bench_up(args: argparse.Namespace) -> int:
    from anxin.bench.up import main

    return main(args.homes, args.speed, args.limit)


def _run_bench_delivery(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from anxin.bench.delivery import DeliveryConfig, run_delivery

    figures = asyncio.run(run_delivery(DeliveryConfig(backlog=args.backlog, events=args.events)))
    sys.stdout.write(json.dumps(asdict(figures)) + "\n")
    return 0 if figures.lost == 0 and figures.duplicated == 0 else 1


def _run_bench_queries(args: argparse.Namespace) -> int:
    from anxin.bench.queries import run_query_bench

    figures = asyncio.run(run_query_bench(args.store, args.homes, args.days, args.repeat))
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


def _run_quarantine(args: argparse.Namespace) -> int:
    from ingest.quarantine import SQLiteQuarantine

    async def show() -> None:
        quarantine = await SQLiteQuarantine.open(args.path)
        try:
            if args.action == "counts":
                sys.stdout.write(json.dumps(await quarantine.counts(), sort_keys=True) + "\n")
                return
            for item in await quarantine.recent(args.limit):
                row = {
                    "received_at": item.received_at.isoformat(),
                    "reason": item.reason,
                    "topic": item.topic,
                    "size": item.size,
                    "detail": item.detail,
                    "payload": item.payload[:200].decode(errors="replace"),
                }
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        finally:
            await quarantine.close()

    asyncio.run(show())
    return 0


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """What an ingest worker process needs (picklable: the TLS context is built in the worker)."""

    broker: BrokerSettings
    store: str
    store_location: str
    quarantine_path: str
    registry_url: str
    mqtt5: bool
    metrics_port: int | None


def _run_ingest(args: argparse.Namespace) -> int:
    options = WorkerOptions(
        broker=broker_settings_or_exit(args, "anxin ingest"),
        store=args.store,
        store_location=store_location(args),
        quarantine_path=str(args.quarantine_path),
        registry_url=args.database_url or "sqlite:///.anxin/registry.db",
        mqtt5=args.protocol == "5",
        metrics_port=args.metrics_port,
    )
    if args.workers > 1 and not options.mqtt5:
        sys.stderr.write("anxin ingest: --workers > 1 needs --protocol 5 (shared subscriptions)\n")
        return 2
    return supervise(options, args.workers)


def supervise(options: WorkerOptions, workers: int) -> int:
    """Run ``workers`` processes; restart one that dies (same client id: its session resumes)."""
    ctx = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    procs = {i: _spawn(ctx, options, i) for i in range(workers)}
    restarts = 0
    try:
        while not stop.is_set():
            sentinels = {p.sentinel: i for i, p in procs.items()}
            for ready in wait(list(sentinels), timeout=1.0):
                i = sentinels[ready]  # type: ignore[index]
                restarts += 1
                log.warning(
                    "ingest_worker_died worker=%d exitcode=%s restarts=%d",
                    i,
                    procs[i].exitcode,
                    restarts,
                )
                if restarts > RESTART_LIMIT:
                    return 1
                procs[i] = _spawn(ctx, options, i)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.join(30)
    return 0


def _spawn(
    ctx: multiprocessing.context.SpawnContext, options: WorkerOptions, index: int
) -> multiprocessing.context.SpawnProcess:
    proc = ctx.Process(target=worker_main, args=(options, index), name=f"anxin-ingest-{index}")
    proc.start()
    log.info("ingest_worker_started worker=%d pid=%s", index, proc.pid)
    return proc


def worker_main(options: WorkerOptions, index: int) -> None:
    """Entry of one ingest worker process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    broker = options.broker.login()  # reads the PEM files: before the event loop runs
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_worker(options, broker, index))


async def _worker(options: WorkerOptions, broker: BrokerLogin, index: int) -> None:
    import aiomqtt

    from anxin.stores import open_store_at
    from devices.clock import SystemClock
    from ingest.consumer import Ingest
    from ingest.metrics import IngestMetrics, serve_metrics
    from ingest.quarantine import SQLiteQuarantine
    from registry.db import make_async_engine, make_sessionmaker
    from registry.repository import is_known_gateway

    store = await open_store_at(options.store, options.store_location)
    quarantine = await SQLiteQuarantine.open(
        Path(options.quarantine_path).with_suffix(f".{index}.db")
    )
    engine = make_async_engine(options.registry_url)
    sessions = make_sessionmaker(engine)

    async def known(gateway: str) -> bool:
        async with sessions() as session:
            return await is_known_gateway(session, gateway)

    metrics = IngestMetrics()
    if options.metrics_port is not None:
        serve_metrics(metrics, options.metrics_port + index)
    ingest = Ingest(
        broker.host,
        broker.port,
        store,
        quarantine,
        SystemClock(),
        known,
        username=broker.username,
        password=broker.password,
        tls_context=broker.tls,
        client_id=f"anxin-ingest-{index}",
        protocol=aiomqtt.ProtocolVersion.V5 if options.mqtt5 else aiomqtt.ProtocolVersion.V311,
        shared_group="anxin-ingest" if options.mqtt5 else None,
        metrics=metrics,
    )
    try:
        await ingest.run()
    finally:
        await store.close()
        await quarantine.close()
        await engine.dispose()
