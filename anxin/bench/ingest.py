"""``anxin bench ingest``: gateways → Mosquitto (QoS 1) → N ingest workers → InfluxDB or SQLite.

Starts its own Mosquitto and InfluxDB on free ports in a temp dir, measures their physical limits
first (relay rate with a trivial subscriber, batched write rate with pre-encoded lines), then runs
the end-to-end load and checks the store: every acked reading there once, none missing.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import aiomqtt

from anxin import localservers
from anxin.bench.limits import influxdb_write_rate, mosquitto_relay_rate
from anxin.bench.load import LoadResult, drive
from devices.clock import SystemClock
from ingest.consumer import Ingest
from ingest.influx_store import InfluxStore
from ingest.quarantine import SQLiteQuarantine
from ingest.sqlite_store import SQLiteStore
from ingest.store import ReadingStore

log = logging.getLogger(__name__)

DATABASE = "anxin_bench"
SHARED_GROUP = "ingest"
READY_TIMEOUT_S = 60.0
LIMIT_SECONDS = 3.0  # long enough to pass warm-up, short enough to leave the run its CPU


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    return busy / CLOCK_TICKS, (busy + idle + iowait) / CLOCK_TICKS


def _cpu_snapshot(pids: dict[str, list[int]]) -> dict[str, float]:
    snap = {name: sum(process_cpu_s(pid) for pid in group) for name, group in pids.items()}
    snap["_busy"], snap["_total"] = machine_cpu_s()
    return snap


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """One benchmark run's shape."""

    store: str = "influxdb"
    workers: int = 1
    seconds: float = 20.0
    naive: bool = False
    publishers: int = 1
    gateways: int = 50  # per publisher
    readings_per_message: int = 1_000
    window: int = 2  # unacked messages per gateway, as a gateway's outbox allows
    batch_readings: int = 20_000
    batch_age_s: float = 0.05
    limits: bool = True


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker process needs to start (picklable)."""

    index: int
    mqtt_port: int
    store: str
    store_location: str
    quarantine_path: str
    naive: bool
    batch_readings: int
    batch_age_s: float
    shared: bool


async def open_bench_store(kind: str, location: str) -> ReadingStore:
    """The store a worker writes to: an InfluxDB URL or a SQLite path."""
    if kind == "influxdb":
        return await InfluxStore.open(location, DATABASE)
    return await SQLiteStore.open(Path(location))


def worker_main(spec: WorkerSpec, ready: MpEvent) -> None:
    """Entry of a worker process: run one Ingest until terminated."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_worker(spec, ready))


async def _worker(spec: WorkerSpec, ready: MpEvent) -> None:
    store = await open_bench_store(spec.store, spec.store_location)
    quarantine = await SQLiteQuarantine.open(Path(spec.quarantine_path))

    async def known(gateway: str) -> bool:
        return True

    ingest = Ingest(
        "127.0.0.1",
        spec.mqtt_port,
        store,
        quarantine,
        SystemClock(),
        known,
        client_id=f"bench-ingest-{spec.index}",
        batch_max_readings=1 if spec.naive else spec.batch_readings,
        batch_max_age_s=spec.batch_age_s,
        protocol=aiomqtt.ProtocolVersion.V5 if spec.shared else aiomqtt.ProtocolVersion.V311,
        shared_group=SHARED_GROUP if spec.shared else None,
    )
    async with asyncio.TaskGroup() as tg:
        tg.create_task(ingest.run())
        await ingest.ready.wait()
        ready.set()


def publisher_main(port: int, index: int, config: BenchConfig, go: MpEvent, out: Any) -> None:
    """Entry of a publisher process: simulated gateways, result put on ``out``."""
    go.wait()
    result = asyncio.run(
        drive(
            port,
            index,
            config.gateways,
            config.readings_per_message,
            config.window,
            config.seconds,
            drain_s=60.0,
        )
    )
    out.put(result)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run_bench(config: BenchConfig) -> dict[str, Any]:
    """Run one benchmark; the figures as a JSON-able dict."""
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as tmp:
        base = Path(tmp)
        broker = localservers.mosquitto(base / "mosquitto")
        influx = localservers.influxdb(base / "influxdb") if config.store == "influxdb" else None
        figures: dict[str, Any] = {"store": config.store, "workers": config.workers}
        procs: list[multiprocessing.context.SpawnProcess] = []
        try:
            if config.limits:
                figures["mosquitto_relay_readings_per_s"] = round(
                    await mosquitto_relay_rate(
                        broker.port, config.readings_per_message, LIMIT_SECONDS
                    )
                )
                if influx is not None:
                    figures["influxdb_write_points_per_s"] = round(
                        await influxdb_write_rate(influx.url, LIMIT_SECONDS)
                    )
            location = influx.url if influx is not None else str(base / "series.db")
            for i in range(config.workers):
                ready = ctx.Event()
                spec = WorkerSpec(
                    i,
                    broker.port,
                    config.store,
                    location,
                    str(base / f"quarantine-{i}.db"),
                    config.naive,
                    config.batch_readings,
                    config.batch_age_s,
                    shared=True,
                )
                proc = ctx.Process(target=worker_main, args=(spec, ready), daemon=True)
                proc.start()
                procs.append(proc)
                if not await asyncio.to_thread(ready.wait, READY_TIMEOUT_S):
                    raise RuntimeError(f"ingest worker {i} did not get ready")
            go = ctx.Event()
            out = ctx.Queue()
            for p in range(config.publishers):
                pub = ctx.Process(target=publisher_main, args=(broker.port, p, config, go, out))
                pub.start()
                procs.append(pub)
            pids = {
                "mosquitto": [_pid(broker)],
                "influxdb": [_pid(influx)] if influx is not None else [],
                "workers": [p.pid for p in procs[: config.workers] if p.pid is not None],
                "bench_main": [os.getpid()],
            }
            before = _cpu_snapshot(pids)
            started = time.perf_counter()
            go.set()
            results: list[LoadResult] = [
                await asyncio.to_thread(out.get, True, config.seconds + 120)
                for _ in range(config.publishers)
            ]
            wall = time.perf_counter() - started
            after = _cpu_snapshot(pids)
            figures.update(await _summarise(config, results, location))
            figures["cpu_cores"] = _cpu_shares(before, after, wall, results)
        finally:
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
                proc.join(10)
            broker.close()
            if influx is not None:
                influx.close()
    return figures


def _pid(server: localservers.Server) -> int:
    assert server.proc is not None, f"{server.name} is not running"
    return server.proc.pid


def _cpu_shares(
    before: dict[str, float], after: dict[str, float], wall: float, results: list[LoadResult]
) -> dict[str, float]:
    """Average cores each part used during the load (of os.cpu_count()); the rest is others'."""
    used = {k: (after[k] - before[k]) / wall for k in before if not k.startswith("_")}
    used["publishers"] = sum(r.cpu_s for r in results) / wall
    busy = (after["_busy"] - before["_busy"]) / wall
    total = (after["_total"] - before["_total"]) / wall  # ~ the number of cores
    shares = {k: round(v, 2) for k, v in used.items()}
    shares["other_processes"] = round(max(0.0, busy - sum(used.values())), 2)
    shares["idle"] = round(max(0.0, total - busy), 2)
    shares["cores"] = round(total, 2)
    shares["wall_s"] = round(wall, 1)
    return shares


async def _summarise(
    config: BenchConfig, results: list[LoadResult], location: str
) -> dict[str, Any]:
    published = sum(r.readings for r in results)
    acked = sum(r.acked_readings for r in results)
    start = min(r.first_publish for r in results)
    end = max(r.last_ack for r in results)
    latencies = sorted(x for r in results for x in r.latencies_ms)
    store = await open_bench_store(config.store, location)
    try:
        stored = await store.count_readings()
    finally:
        await store.close()
    return {
        "naive": config.naive,
        "seconds": config.seconds,
        "gateways": config.gateways * config.publishers,
        "readings_per_message": config.readings_per_message,
        "published": published,
        "acked": acked,
        "stored": stored,
        "readings_per_s": round(acked / (end - start)) if end > start else 0,
        "p50_ms": round(_percentile(latencies, 50), 1),
        "p99_ms": round(_percentile(latencies, 99), 1),
        "lost": max(0, published - stored),
        "duplicated": max(0, stored - published),
        "duplicate_acks": sum(r.duplicate_acks for r in results),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
