"""Retention on InfluxDB: hourly rollups written by ingest itself, then DELETE of expired points.

InfluxDB 1.x retention policies hold whole databases' shards, not single measurements, and
continuous queries do not exist in 3.x; a task of our own that reads, writes rollups and deletes
works the same on every version and is tested by the same contract as the SQLite compaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from ingest.influx_store import InfluxStore, ident, point_line, rollup_measurement
from ingest.queries import HOUR_NS, floor_ns
from ingest.retention import Retention, RetentionReport, describe, raw_cutoff, rollup_cutoff

log = logging.getLogger(__name__)

CHUNK_NS = 24 * HOUR_NS  # one day of raw points per aggregation query bounds its memory


async def apply_retention(
    store: InfluxStore, now: datetime, policies: Mapping[str, Retention]
) -> RetentionReport:
    """Roll up and delete expiring points of each measurement, oldest day first."""
    rolled = deleted = expired = 0
    for measurement, policy in sorted(policies.items()):
        cutoff = raw_cutoff(now, policy)
        name = ident(measurement)
        first = await store.select(f'SELECT first("value") FROM {name} WHERE time < {cutoff}')
        if first:
            counted = await store.select(f'SELECT count("value") FROM {name} WHERE time < {cutoff}')
            deleted += sum(int(r["count"]) for r in counted)
            start = floor_ns(int(first[0]["time"]), HOUR_NS)
            while start < cutoff:
                end = min(start + CHUNK_NS, cutoff)
                rolled += await _roll_up(store, measurement, start, end)
                start = end
            # only after every rollup of the range is written: a crash before this line just
            # recomputes the same rollups (same series and time) on the next run
            await store.execute(f"DELETE FROM {name} WHERE time < {cutoff}")
        rollups = ident(rollup_measurement(measurement))
        old = rollup_cutoff(now, policy)
        counted = await store.select(f'SELECT count("mean") FROM {rollups} WHERE time < {old}')
        if counted:
            expired += sum(int(r["count"]) for r in counted)
            await store.execute(f"DELETE FROM {rollups} WHERE time < {old}")
        log.debug("retention_measurement m=%s raw_cutoff=%s", measurement, describe(cutoff))
    report = RetentionReport(rolled, deleted, expired)
    log.info(
        "retention_applied kind=influxdb rolled_up=%d deleted_raw=%d deleted_rollups=%d",
        rolled,
        deleted,
        expired,
    )
    return report


async def _roll_up(store: InfluxStore, measurement: str, start: int, end: int) -> int:
    rows = await store.select(
        'SELECT mean("value"), min("value"), max("value"), count("value")'
        f" FROM {ident(measurement)} WHERE time >= {start} AND time < {end}"
        ' GROUP BY time(1h), "gw", "dev" fill(none)'
    )
    target = rollup_measurement(measurement)
    lines = [
        _rollup_line(
            target, r["gw"], r["dev"], r["mean"], r["min"], r["max"], r["count"], r["time"]
        )
        for r in rows
    ]
    await store.write_lines(lines)
    return len(lines)


def _rollup_line(
    target: str, gw: str, dev: str, mean: float, low: float, high: float, count: int, t: int
) -> str:
    return point_line(
        target,
        {"gw": gw, "dev": dev},
        {"mean": float(mean), "low": float(low), "high": float(high), "count": int(count)},
        int(t),
    )
