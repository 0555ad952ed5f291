"""``anxin bench queries``: the named queries on synthetic history of many homes, timed."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from anxin import localservers
from devices.values import Reading
from ingest.influx_store import InfluxStore
from ingest.sqlite_store import SQLiteStore
from ingest.store import ReadingStore

START = datetime(2024, 5, 1, tzinfo=UTC)
STEP = timedelta(minutes=10)  # per device: 144 readings a day, 6 devices a home
WRITE_CHUNK = 50_000
ROOMS = {"pir-bed": "bedroom", "pir-kit": "kitchen", "door-1": "hallway", "wc-1": "bathroom"}
DEVICES = (
    ("pir-bed", "motion"),
    ("pir-kit", "motion"),
    ("door-1", "contact_open"),
    ("wc-1", "flush"),
    ("bed-1", "bed_occupied"),
    ("band-1", "heart_rate"),
)


def _history(home: int, days: int) -> list[Reading]:
    gw = f"gw-{home:05d}"
    steps = int(timedelta(days=days) / STEP)
    out = []
    for k in range(steps):
        t = START + k * STEP
        for d, (dev, m) in enumerate(DEVICES):
            value = 60.0 + (k + home) % 40 if m == "heart_rate" else float((k + d + home) % 2)
            out.append(Reading(gw, dev, m, value, t, t))
    return out


async def run_query_bench(kind: str, homes: int, days: int, repeat: int) -> dict[str, Any]:
    """Load ``homes`` × ``days`` of history, then time each named query ``repeat`` times."""
    with tempfile.TemporaryDirectory(prefix="anxin-qbench-") as tmp:
        influx = localservers.influxdb(Path(tmp) / "influxdb") if kind == "influxdb" else None
        store: ReadingStore = (
            await InfluxStore.open(influx.url, "qbench")
            if influx is not None
            else await SQLiteStore.open(Path(tmp) / "series.db")
        )
        try:
            started = time.perf_counter()
            loaded = 0
            for home in range(homes):
                history = _history(home, days)
                for i in range(0, len(history), WRITE_CHUNK):
                    await store.write_readings(history[i : i + WRITE_CHUNK])
                loaded += len(history)
            load_s = time.perf_counter() - started
            end = START + timedelta(days=days)
            day = end - timedelta(days=1)
            gw = f"gw-{homes // 2:05d}"
            calls: dict[str, Callable[[], Awaitable[object]]] = {
                "recent_readings_day": lambda: store.recent_readings(
                    gw, "band-1", "heart_rate", day, end
                ),
                "last_seen": lambda: store.last_seen(gw),
                "last_activity_all_homes": lambda: store.last_activity(
                    [f"gw-{h:05d}" for h in range(homes)], end
                ),
                "activity_per_room_hour_day": lambda: store.activity_per_room_hour(
                    gw, ROOMS, day, end
                ),
                "bed_occupancy_spans_week": lambda: store.bed_occupancy_spans(
                    gw, end - timedelta(days=7), end
                ),
                "vitals_trend_month_hourly": lambda: store.vitals_trend(
                    gw, "band-1", "heart_rate", START, end, timedelta(hours=1)
                ),
            }
            figures: dict[str, Any] = {
                "store": kind,
                "homes": homes,
                "days": days,
                "readings": loaded,
                "load_readings_per_s": round(loaded / load_s),
            }
            for name, call in calls.items():
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    await call()
                    times.append((time.perf_counter() - t0) * 1000)
                figures[f"{name}_median_ms"] = round(statistics.median(times), 2)
                figures[f"{name}_max_ms"] = round(max(times), 2)
            return figures
        finally:
            await store.close()
            if influx is not None:
                influx.close()
