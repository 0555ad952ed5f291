"""The embedded time-series store: one SQLite file in WAL mode, upserts keyed by point identity."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from devices.values import Event, Reading
from ingest.errors import StoreError, StoreUnavailableError
from ingest.queries import (
    BED_MEASUREMENT,
    HOUR_NS,
    OccupancySpan,
    RoomHour,
    TrendPoint,
    bucket_ns,
    half_open,
    occupancy_spans,
    room_hours,
)
from ingest.retention import Retention, RetentionReport, raw_cutoff, rollup_cutoff
from ingest.store import ACTIVITY_FROM, ROOM_ACTIVITY_FROM, check_measurements, from_ns, to_ns

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_S = 30.0  # another process (a reader) may hold the write lock briefly

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS readings (
        gw TEXT NOT NULL, dev TEXT NOT NULL, m TEXT NOT NULL, t INTEGER NOT NULL,
        value REAL NOT NULL, rx INTEGER NOT NULL,
        PRIMARY KEY (gw, dev, m, t)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS readings_gw_m_t ON readings (gw, m, t)",
    """CREATE TABLE IF NOT EXISTS events (
        id TEXT PRIMARY KEY, gw TEXT NOT NULL, dev TEXT NOT NULL, kind TEXT NOT NULL,
        t INTEGER NOT NULL, rx INTEGER NOT NULL, data TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS events_gw_t ON events (gw, t)",
    """CREATE TABLE IF NOT EXISTS rollups (
        gw TEXT NOT NULL, dev TEXT NOT NULL, m TEXT NOT NULL, t INTEGER NOT NULL,
        mean REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (gw, dev, m, t)
    ) WITHOUT ROWID""",
)


# a sign of activity: a reading of an activity measurement at or above its ``activity_from`` —
# one clause per level, each answered from the (gw, m, t) index (an OR of them is not)
def _clauses(
    levels: tuple[tuple[float, tuple[str, ...]], ...],
) -> tuple[tuple[str, tuple[str | float, ...]], ...]:
    return tuple(
        (f"m IN ({','.join('?' * len(names))}) AND value >= ?", (*names, level))
        for level, names in levels
    )


ACTIVITY_CLAUSES = _clauses(ACTIVITY_FROM)
ROOM_ACTIVITY_CLAUSES = _clauses(ROOM_ACTIVITY_FROM)

_UPSERT_READING = """INSERT INTO readings (gw, dev, m, t, value, rx) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (gw, dev, m, t) DO UPDATE SET value = excluded.value, rx = excluded.rx"""
_ROLL_UP = """INSERT INTO rollups (gw, dev, m, t, mean, low, high, count)
    SELECT gw, dev, m, t - t % ?, AVG(value), MIN(value), MAX(value), COUNT(*)
    FROM readings WHERE m = ? AND t < ? GROUP BY gw, dev, t - t % ? ORDER BY 1, 2, 4
    ON CONFLICT (gw, dev, m, t) DO UPDATE SET mean = excluded.mean, low = excluded.low,
    high = excluded.high, count = excluded.count"""
_UPSERT_EVENT = """INSERT INTO events (id, gw, dev, kind, t, rx, data) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET gw = excluded.gw, dev = excluded.dev, kind = excluded.kind,
    t = excluded.t, rx = excluded.rx, data = excluded.data"""


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A connection tuned for durable, concurrent use: WAL, synchronous=FULL, busy timeout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
    )
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a transaction is on disk when COMMIT returns, which is what an ack promises
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def translate(err: sqlite3.Error) -> StoreError:
    """The ingest error for an sqlite3 error (locked or I/O trouble is worth a retry)."""
    if isinstance(err, sqlite3.OperationalError):
        return StoreUnavailableError(f"sqlite: {err}")
    return StoreError(f"sqlite: {err}")


class SQLiteStore:
    """ReadingStore on a SQLite file; calls run in a worker thread, one at a time."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._lock = threading.Lock()  # a thread lock: still held if the awaiting task is cancelled

    @classmethod
    async def open(cls, path: Path) -> SQLiteStore:
        """Open (and create if needed) the store at ``path``."""
        return await asyncio.to_thread(cls._open_sync, path)

    @classmethod
    def _open_sync(cls, path: Path) -> SQLiteStore:
        try:
            conn = open_sqlite(path)
            for statement in _SCHEMA:
                conn.execute(statement)
        except sqlite3.Error as err:
            raise translate(err) from err
        log.info("store_opened kind=sqlite path=%s", path)
        return cls(conn, path)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                if self._conn is None:
                    raise StoreError("store is closed")
                try:
                    return fn(self._conn)
                except sqlite3.Error as err:
                    raise translate(err) from err

        return await asyncio.to_thread(call)

    async def write_readings(self, readings: Sequence[Reading]) -> None:
        """Upsert readings in one transaction."""
        if not readings:
            return
        check_measurements(readings)
        rows = [
            (
                r.gateway,
                r.device,
                r.measurement,
                to_ns(r.time),
                float(r.value),
                to_ns(r.received_at),
            )
            for r in readings
        ]

        def write(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.executemany(_UPSERT_READING, rows)

        await self._run(write)

    async def write_events(self, events: Sequence[Event]) -> None:
        """Upsert events by id in one transaction."""
        if not events:
            return
        rows = [
            (
                e.event_id,
                e.gateway,
                e.device,
                e.kind,
                to_ns(e.time),
                to_ns(e.received_at),
                json.dumps(e.data, sort_keys=True),
            )
            for e in events
        ]

        def write(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.executemany(_UPSERT_EVENT, rows)

        await self._run(write)

    async def recent_readings(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> list[Reading]:
        """Readings of one device and measurement with since <= time <= until, ascending time."""
        args = (gateway, device, measurement, to_ns(since), to_ns(until))

        def query(conn: sqlite3.Connection) -> list[tuple[int, float, int]]:
            return conn.execute(
                "SELECT t, value, rx FROM readings WHERE gw = ? AND dev = ? AND m = ?"
                " AND t >= ? AND t <= ? ORDER BY t",
                args,
            ).fetchall()

        return [
            Reading(gateway, device, measurement, value, from_ns(t), from_ns(rx))
            for t, value, rx in await self._run(query)
        ]

    async def last_seen(self, gateway: str) -> dict[str, datetime]:
        """Device id -> time of its latest reading, for one gateway."""

        def query(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            return conn.execute(
                "SELECT dev, MAX(t) FROM readings WHERE gw = ? GROUP BY dev", (gateway,)
            ).fetchall()

        return {dev: from_ns(t) for dev, t in await self._run(query)}

    async def last_activity(self, gateways: Sequence[str], until: datetime) -> dict[str, datetime]:
        """Gateway -> time of its latest activity reading (value >= ``activity_from``) at or
        before ``until``."""
        limit = to_ns(until)
        queries = [
            (f"SELECT MAX(t) FROM readings WHERE gw = ? AND {clause} AND t <= ?", args)
            for clause, args in ACTIVITY_CLAUSES
        ]

        def query(conn: sqlite3.Connection) -> dict[str, int]:
            found: dict[str, int] = {}
            for gw in dict.fromkeys(gateways):
                for sql, args in queries:
                    (t,) = conn.execute(sql, (gw, *args, limit)).fetchone()
                    if t is not None:
                        found[gw] = max(t, found.get(gw, t))
            return found

        return {gw: from_ns(t) for gw, t in (await self._run(query)).items()}

    async def events(self, gateway: str, since: datetime) -> list[Event]:
        """Events of one gateway with time >= since, ascending time."""
        args = (gateway, to_ns(since))

        def query(conn: sqlite3.Connection) -> list[tuple[str, str, str, int, int, str]]:
            return conn.execute(
                "SELECT id, dev, kind, t, rx, data FROM events WHERE gw = ? AND t >= ?"
                " ORDER BY t, id",
                args,
            ).fetchall()

        return [
            Event(event_id, gateway, dev, kind, from_ns(t), from_ns(rx), json.loads(data))
            for event_id, dev, kind, t, rx, data in await self._run(query)
        ]

    async def count_readings(self) -> int:
        """How many reading points the store holds."""

        def query(conn: sqlite3.Connection) -> int:
            (count,) = conn.execute("SELECT COUNT(*) FROM readings").fetchone()
            return int(count)

        return await self._run(query)

    async def activity_per_room_hour(
        self, gateway: str, rooms: Mapping[str, str], since: datetime, until: datetime
    ) -> list[RoomHour]:
        """Activity readings (value >= ``activity_from``) per room (device -> room) per UTC hour,
        since <= t < until."""
        low, high = half_open(since, until)

        def query(conn: sqlite3.Connection) -> list[tuple[str, int, int]]:
            rows: list[tuple[str, int, int]] = []
            for clause, args in ROOM_ACTIVITY_CLAUSES:
                sql = (
                    f"SELECT dev, t - t % {HOUR_NS}, COUNT(*) FROM readings WHERE gw = ?"
                    f" AND {clause} AND t >= ? AND t < ? GROUP BY dev, t - t % {HOUR_NS}"
                )
                rows += conn.execute(sql, (gateway, *args, low, high)).fetchall()
            return rows

        return room_hours(await self._run(query), rooms)

    async def bed_occupancy_spans(
        self, gateway: str, since: datetime, until: datetime
    ) -> list[OccupancySpan]:
        """Spans of ``bed_occupied`` = 1 per bed device from readings with since <= t <= until."""
        args = (gateway, BED_MEASUREMENT, to_ns(since), to_ns(until))

        def query(conn: sqlite3.Connection) -> list[tuple[str, int, float, int]]:
            return conn.execute(
                "SELECT dev, t, value, rx FROM readings WHERE gw = ? AND m = ? AND t >= ?"
                " AND t <= ? ORDER BY t",
                args,
            ).fetchall()

        return occupancy_spans(
            Reading(gateway, dev, BED_MEASUREMENT, value, from_ns(t), from_ns(rx))
            for dev, t, value, rx in await self._run(query)
        )

    async def vitals_trend(
        self,
        gateway: str,
        device: str,
        measurement: str,
        since: datetime,
        until: datetime,
        bucket: timedelta,
    ) -> list[TrendPoint]:
        """Mean/min/max/count per epoch-aligned bucket with since <= t < until; empty ones left out."""
        size = bucket_ns(bucket)
        low, high = half_open(since, until)
        args = (size, gateway, device, measurement, low, high, size)

        def query(conn: sqlite3.Connection) -> list[tuple[int, float, float, float, int]]:
            return conn.execute(
                "SELECT t - t % ?, AVG(value), MIN(value), MAX(value), COUNT(*) FROM readings"
                " WHERE gw = ? AND dev = ? AND m = ? AND t >= ? AND t < ? GROUP BY t - t % ?"
                " ORDER BY 1",
                args,
            ).fetchall()

        return [_trend(row) for row in await self._run(query)]

    async def rollups(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> list[TrendPoint]:
        """Hourly rollups kept by retention, with since <= hour start < until."""
        args = (gateway, device, measurement, *half_open(since, until))

        def query(conn: sqlite3.Connection) -> list[tuple[int, float, float, float, int]]:
            return conn.execute(
                "SELECT t, mean, low, high, count FROM rollups WHERE gw = ? AND dev = ? AND m = ?"
                " AND t >= ? AND t < ? ORDER BY t",
                args,
            ).fetchall()

        return [_trend(row) for row in await self._run(query)]

    async def apply_retention(
        self, now: datetime, policies: Mapping[str, Retention]
    ) -> RetentionReport:
        """Roll expiring raw points up into hours, then delete them and expired rollups."""

        def compact(conn: sqlite3.Connection) -> RetentionReport:
            rolled = deleted = expired = 0
            for m, policy in sorted(policies.items()):
                cutoff = raw_cutoff(now, policy)
                # one transaction per measurement: rollups and the delete commit together
                with transaction(conn):
                    rolled += conn.execute(_ROLL_UP, (HOUR_NS, m, cutoff, HOUR_NS)).rowcount
                    deleted += conn.execute(
                        "DELETE FROM readings WHERE m = ? AND t < ?", (m, cutoff)
                    ).rowcount
                    expired += conn.execute(
                        "DELETE FROM rollups WHERE m = ? AND t < ?",
                        (m, rollup_cutoff(now, policy)),
                    ).rowcount
            return RetentionReport(rolled, deleted, expired)

        report = await self._run(compact)
        log.info(
            "retention_applied kind=sqlite rolled_up=%d deleted_raw=%d deleted_rollups=%d",
            report.rolled_up,
            report.deleted_raw,
            report.deleted_rollups,
        )
        return report

    async def close(self) -> None:
        """Close the connection (idempotent)."""

        def close() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(close)
        log.info("store_closed kind=sqlite path=%s", self._path)


def _trend(row: tuple[int, float, float, float, int]) -> TrendPoint:
    start, mean, low, high, count = row
    return TrendPoint(from_ns(start), float(mean), float(low), float(high), int(count))


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error (the connection is in autocommit mode)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
