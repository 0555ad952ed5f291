"""``anxin bench routine``: the routine (inactivity) monitor over many homes, as ``alerts run``
runs it — first sweep (fetch five weeks and learn every baseline), steady sweeps, memory.

Histories come from the demo's simulated residents: ``distinct`` different residents are
simulated for ``days`` days and their readings are reused for the other homes (the monitor's cost
depends on how many readings a home has, not on whose they are), written into a real store.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.feed import AlertFeed
from alerts.routine.monitor import (
    LEARNED_MEASUREMENTS,
    RECENT,
    STEPS_MEASUREMENT,
    RoutineMonitor,
)
from alerts.service import AlertService
from anxin import localservers, migrate
from anxin.monitors import INACTIVITY_CHECK_S
from anxin.stores import open_store_at
from devices.clock import ManualClock
from devices.simulator import NO_INCIDENTS, SimulatedHome
from devices.values import Reading
from ingest.store import ReadingStore
from registry.db import make_async_engine, make_sessionmaker
from registry.demo import seed_demo

NOW = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai, the demo station's zone
WRITE_CHUNK = 50_000


def _rss_mb() -> float:
    """Resident set size now (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _simulated(number: int, days: int) -> list[Any]:
    home = SimulatedHome(number, NOW - timedelta(days=days), NO_INCIDENTS, accel_hz=0)
    # the fixed sensors' readings of every day; the wearable's steps of the last two days, all
    # the monitor fetches of them (a reading a minute at home, walking or not)
    recent = NOW - RECENT
    return [
        r
        for r in home.step(NOW).readings
        if r.measurement in LEARNED_MEASUREMENTS
        or (r.measurement == STEPS_MEASUREMENT and r.time >= recent)
    ]


async def run_routine_bench(
    kind: str, homes: int, days: int, distinct: int, sweeps: int
) -> dict[str, Any]:
    """Seed ``homes`` homes with ``days`` of history each, then time the monitor's sweeps."""
    with tempfile.TemporaryDirectory(prefix="anxin-rbench-") as tmp:
        influx = localservers.influxdb(Path(tmp) / "influxdb") if kind == "influxdb" else None
        try:
            store = await open_store_at(
                kind,
                influx.url if influx is not None else str(Path(tmp) / "series.db"),
                "rbench",
            )
            try:
                return await _run(Path(tmp), store, kind, homes, days, distinct, sweeps)
            finally:
                await store.close()
        finally:
            if influx is not None:
                influx.close()


async def _run(
    tmp: Path,
    store: ReadingStore,
    kind: str,
    homes: int,
    days: int,
    distinct: int,
    sweeps: int,
) -> dict[str, Any]:
    url = f"sqlite:///{tmp / 'registry.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_async_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            fleet = await seed_demo(session, homes, now=NOW - timedelta(days=days + 1))
            await session.commit()
        started = time.perf_counter()
        pool = [_simulated(n + 1, days) for n in range(min(distinct, homes))]
        written = 0
        for i, gw in enumerate(fleet.gateways):
            readings = [
                Reading(gw.gateway_id, r.device, r.measurement, r.value, r.time, r.time)
                for r in pool[i % len(pool)]
            ]
            for k in range(0, len(readings), WRITE_CHUNK):
                await store.write_readings(readings[k : k + WRITE_CHUNK])
            written += len(readings)
        load_s = time.perf_counter() - started
        del pool, readings
        gc.collect()
        rss_before = _rss_mb()
        clock = ManualClock(NOW)
        monitor = RoutineMonitor(
            AlertService(sessions, AlertFeed(), clock), sessions, store, clock, INACTIVITY_CHECK_S
        )
        started = time.perf_counter()
        await monitor.check_once()
        first_s = time.perf_counter() - started
        steady: list[float] = []
        for _ in range(sweeps):
            clock.advance(INACTIVITY_CHECK_S)
            started = time.perf_counter()
            await monitor.check_once()
            steady.append(time.perf_counter() - started)
        rss_after = _rss_mb()
        ready = sum(1 for s in monitor.statuses.values() if s.baseline_ready)
    finally:
        await engine.dispose()
    return {
        "bench": "routine",
        "store": kind,
        "homes": homes,
        "days": days,
        "distinct_residents": min(distinct, homes),
        "activity_readings": written,
        "readings_per_home_day": round(written / homes / days, 1),
        "load_s": round(load_s, 1),
        "first_sweep_s": round(first_s, 2),
        "first_sweep_per_home_ms": round(first_s / homes * 1000.0, 1),
        "steady_sweep_median_s": round(statistics.median(steady), 3) if steady else None,
        "steady_sweep_max_s": round(max(steady), 3) if steady else None,
        "sweep_interval_s": INACTIVITY_CHECK_S,
        "baselines_ready": ready,
        "rss_mb": round(rss_after, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "monitor_rss_mb": round(rss_after - rss_before, 1),
        "monitor_rss_per_home_mb": round((rss_after - rss_before) / homes, 2),
    }
