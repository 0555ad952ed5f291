"""The on-disk outbox: every wire message waits here, with its fixed (boot, seq), until ingest acks it.

SQLite in WAL mode with ``synchronous=FULL``: a ``put`` that returned is on disk and survives a
kill -9 or a power cut; every change is one transaction, so a crash leaves the state before or
after it, never between. Sequence numbers are assigned at enqueue and grow strictly within a boot;
a process start is a new boot (``new_boot_id``). Items of earlier boots keep their (boot, seq)
and payload bytes, so ingest recognises a redelivery. Urgent items (events) come out before bulk
items (readings); within a lane, oldest first.

Disk use is bounded by a ``Budget`` (payload bytes plus a per-row overhead):

- urgent items may always use the whole budget; readings may use it only up to the budget less
  the urgent reserve, so a fall can be stored however long the link has been down;
- when readings would pass their share, the oldest not yet thinned readings messages are
  downsampled first (``gateway.thinning``), and only when everything is thinned are the oldest
  dropped — never an urgent item;
- every drop is written, in the same transaction, to a gap record (first/last reading time,
  readings, messages) that the agent sends upstream as a ``data_gap`` event.

Calls block on the disk: async callers run them with ``asyncio.to_thread``. One lock serialises
them, so the outbox may be shared by threads.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path

from devices.topics import Channel
from gateway.errors import OutboxError
from gateway.thinning import readings_span, thin_payload

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = (
    10.0  # another process (a second agent by mistake) holding the lock this long is a fault
)
ROW_OVERHEAD_BYTES = 96  # SQLite row, index entry and page slack per item, measured on this schema
MAKE_ROOM_STEP = 32  # rows thinned or dropped per pass while making room
DEFAULT_BUDGET_BYTES = 512 * 1024 * 1024  # cheap gateways have 4-8 GB of flash: an eighth of it
DEFAULT_URGENT_RESERVE_BYTES = 8 * 1024 * 1024  # ~8000 events: weeks of falls and buttons

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    boot TEXT NOT NULL,
    seq INTEGER NOT NULL,
    lane INTEGER NOT NULL,
    channel TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    thinned INTEGER NOT NULL DEFAULT 0,
    UNIQUE (boot, seq)
);
CREATE INDEX IF NOT EXISTS outbox_lane ON outbox (lane, id);
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_t TEXT,
    last_t TEXT,
    readings INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    opened_at TEXT NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0
);
"""


class Lane(IntEnum):
    """Sending order: urgent before bulk."""

    URGENT = 0
    BULK = 1


LANES: dict[Channel, Lane] = {Channel.EVENTS: Lane.URGENT, Channel.READINGS: Lane.BULK}


def new_boot_id() -> str:
    """A fresh boot id for this process start."""
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True, slots=True)
class Budget:
    """How much disk the outbox may take, and how much of it only urgent items may use."""

    max_bytes: int = DEFAULT_BUDGET_BYTES
    urgent_reserve_bytes: int = DEFAULT_URGENT_RESERVE_BYTES

    def __post_init__(self) -> None:
        if not 0 <= self.urgent_reserve_bytes < self.max_bytes:
            raise OutboxError("the urgent reserve must be smaller than the budget")

    @property
    def bulk_max_bytes(self) -> int:
        """What readings may use at most."""
        return self.max_bytes - self.urgent_reserve_bytes


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One stored wire message."""

    boot: str
    seq: int
    lane: Lane
    channel: Channel
    payload: bytes
    created_at: datetime

    @property
    def key(self) -> tuple[str, int]:
        """(boot, seq): the message's identity on the wire."""
        return (self.boot, self.seq)


@dataclass(frozen=True, slots=True)
class Gap:
    """Readings dropped for want of room: the span they covered and how many there were."""

    id: int
    first_t: datetime | None
    last_t: datetime | None
    readings: int
    messages: int
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxUsage:
    """Items and bytes per lane, and what the budget policy has done so far (this process)."""

    urgent_items: int
    bulk_items: int
    urgent_bytes: int
    bulk_bytes: int
    thinned: int
    dropped: int


Encoder = Callable[[str, int], bytes]
"""Builds the encoded payload once (boot, seq) are known."""


def _size(payload: bytes) -> int:
    return len(payload) + ROW_OVERHEAD_BYTES


class Outbox:
    """A durable, ordered, bounded store of unacknowledged wire messages."""

    def __init__(self, path: Path, boot: str | None = None, budget: Budget | None = None) -> None:
        self.path = path
        self.boot = boot or new_boot_id()
        self.budget = budget or Budget()
        self._lock = threading.Lock()
        self._thinned = 0
        self._dropped = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            _upgrade(self._db)
            row = self._db.execute(
                "SELECT MAX(seq) FROM outbox WHERE boot = ?", (self.boot,)
            ).fetchone()
            self._bytes = {Lane.URGENT: 0, Lane.BULK: 0}
            self._items = {Lane.URGENT: 0, Lane.BULK: 0}
            for lane, n, size in self._db.execute(
                "SELECT lane, COUNT(*), COALESCE(SUM(size), 0) FROM outbox GROUP BY lane"
            ):
                self._items[Lane(lane)], self._bytes[Lane(lane)] = int(n), int(size)
        except sqlite3.Error as err:
            raise OutboxError(f"cannot open outbox {path}: {err}") from err
        self._next_seq = 0 if row[0] is None else int(row[0]) + 1

    def put(self, channel: Channel, encode: Encoder, created_at: datetime) -> OutboxItem:
        """Store one message; ``encode(boot, seq)`` makes its payload. On disk when this returns."""
        return self.put_many([(channel, encode)], created_at)[0]

    def put_many(
        self,
        messages: Iterable[tuple[Channel, Encoder]],
        created_at: datetime,
        reported_gaps: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Store several messages in one transaction (one fsync), making room by the budget policy.

        ``reported_gaps`` are gap records whose event is among ``messages``: they are marked
        reported in the same transaction.
        """
        created = created_at.astimezone(UTC)
        with self._lock:
            seq = self._next_seq
            items = []
            for channel, encode in messages:
                lane = LANES[channel]
                items.append(
                    OutboxItem(self.boot, seq, lane, channel, encode(self.boot, seq), created)
                )
                seq += 1
            new = {lane: sum(_size(i.payload) for i in items if i.lane is lane) for lane in Lane}
            saved = (dict(self._bytes), dict(self._items), self._thinned, self._dropped)
            try:
                with self._transaction():
                    self._make_room(new[Lane.URGENT], new[Lane.BULK], created)
                    self._db.executemany(
                        "INSERT INTO outbox (boot, seq, lane, channel, payload, created_at, size)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            (
                                i.boot,
                                i.seq,
                                int(i.lane),
                                i.channel.value,
                                i.payload,
                                created.isoformat(),
                                _size(i.payload),
                            )
                            for i in items
                        ],
                    )
                    self._db.executemany(
                        "UPDATE gaps SET reported = 1 WHERE id = ?", [(g,) for g in reported_gaps]
                    )
            except sqlite3.Error as err:
                self._bytes, self._items, self._thinned, self._dropped = saved
                raise OutboxError(f"cannot write outbox {self.path}: {err}") from err
            for lane in Lane:
                self._bytes[lane] += new[lane]
                self._items[lane] += sum(1 for i in items if i.lane is lane)
            self._next_seq = seq
            return items

    def _make_room(self, urgent: int, bulk: int, now: datetime) -> None:
        """Thin, then drop, the oldest readings until the new items fit (inside a transaction)."""
        b = self.budget
        # urgent items may take the whole budget; readings leave the reserve (or the events) free
        bulk_limit = b.max_bytes - max(b.urgent_reserve_bytes, self._bytes[Lane.URGENT] + urgent)
        while self._bytes[Lane.BULK] + bulk > bulk_limit:
            excess = self._bytes[Lane.BULK] + bulk - bulk_limit
            if not self._thin_oldest() and not self._drop_oldest(excess, now):
                if urgent or bulk:
                    log.warning(
                        "outbox.over_budget urgent_bytes=%d bulk_bytes=%d new=%d max=%d",
                        self._bytes[Lane.URGENT],
                        self._bytes[Lane.BULK],
                        urgent + bulk,
                        b.max_bytes,
                    )
                return

    def _thin_oldest(self) -> bool:
        rows = self._db.execute(
            "SELECT id, payload, size FROM outbox WHERE lane = ? AND thinned = 0 ORDER BY id LIMIT ?",
            (int(Lane.BULK), MAKE_ROOM_STEP),
        ).fetchall()
        for row_id, payload, size in rows:
            thin = thin_payload(bytes(payload))
            if thin is None:
                self._db.execute("UPDATE outbox SET thinned = 1 WHERE id = ?", (row_id,))
                continue
            self._db.execute(
                "UPDATE outbox SET payload = ?, size = ?, thinned = 1 WHERE id = ?",
                (thin, _size(thin), row_id),
            )
            self._bytes[Lane.BULK] += _size(thin) - int(size)
            self._thinned += 1
        if rows:
            log.info("outbox.thinned rows=%d bulk_bytes=%d", len(rows), self._bytes[Lane.BULK])
        return bool(rows)

    def _drop_oldest(self, excess: int, now: datetime) -> bool:
        """Drop the oldest readings messages that free ``excess`` bytes; record the gap."""
        candidates = self._db.execute(
            "SELECT id, payload, size FROM outbox WHERE lane = ? ORDER BY id LIMIT ?",
            (int(Lane.BULK), MAKE_ROOM_STEP),
        ).fetchall()
        rows, freed = [], 0
        for row in candidates:
            if freed >= excess:
                break
            rows.append(row)
            freed += int(row[2])
        if not rows:
            return False
        readings, first, last = 0, None, None
        for _, payload, _ in rows:
            n, lo, hi = readings_span(bytes(payload))
            readings += n
            first, last = _earliest(first, lo), _latest(last, hi)
        self._db.executemany("DELETE FROM outbox WHERE id = ?", [(r[0],) for r in rows])
        self._bytes[Lane.BULK] -= sum(int(r[2]) for r in rows)
        self._items[Lane.BULK] -= len(rows)
        self._dropped += len(rows)
        open_gap = self._db.execute(
            "SELECT id, first_t, last_t FROM gaps WHERE reported = 0 ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if open_gap is None:
            self._db.execute(
                "INSERT INTO gaps (first_t, last_t, readings, messages, opened_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (first, last, readings, len(rows), now.isoformat()),
            )
        else:
            gap_id, gap_first, gap_last = open_gap
            self._db.execute(
                "UPDATE gaps SET first_t = ?, last_t = ?, readings = readings + ?,"
                " messages = messages + ? WHERE id = ?",
                (_earliest(gap_first, first), _latest(gap_last, last), readings, len(rows), gap_id),
            )
        log.warning(
            "outbox.dropped messages=%d readings=%d first_t=%s last_t=%s",
            len(rows),
            readings,
            first,
            last,
        )
        return True

    def unreported_gaps(self) -> list[Gap]:
        """Gap records not yet put in the outbox as an event."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT id, first_t, last_t, readings, messages, opened_at FROM gaps"
                    " WHERE reported = 0 ORDER BY id"
                ).fetchall()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read outbox {self.path}: {err}") from err
        return [
            Gap(
                i,
                datetime.fromisoformat(f) if f else None,
                datetime.fromisoformat(t) if t else None,
                n,
                m,
                datetime.fromisoformat(o),
            )
            for i, f, t, n, m, o in rows
        ]

    def next_batch(
        self, limit: int, exclude: Collection[tuple[str, int]] = (), lane: Lane | None = None
    ) -> list[OutboxItem]:
        """Up to ``limit`` items (of ``lane``, or urgent first), oldest first, skipping ``exclude``."""
        if limit <= 0:
            return []
        where, params = ("", ()) if lane is None else (" WHERE lane = ?", (int(lane),))
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT boot, seq, lane, channel, payload, created_at FROM outbox"
                    + where
                    + " ORDER BY lane, id LIMIT ?",
                    (*params, limit + len(exclude)),
                ).fetchall()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read outbox {self.path}: {err}") from err
        items = [
            OutboxItem(b, s, Lane(ln), Channel(ch), bytes(p), datetime.fromisoformat(c))
            for b, s, ln, ch, p, c in rows
            if (b, s) not in exclude
        ]
        return items[:limit]

    def remove(self, boot: str, seqs: Iterable[int]) -> int:
        """Delete acknowledged items; returns how many were still there."""
        params = [(boot, s) for s in seqs]
        with self._lock:
            try:
                with self._transaction():
                    gone = [
                        row
                        for p in params
                        for row in self._db.execute(
                            "DELETE FROM outbox WHERE boot = ? AND seq = ? RETURNING lane, size", p
                        ).fetchall()
                    ]
            except sqlite3.Error as err:
                raise OutboxError(f"cannot write outbox {self.path}: {err}") from err
            for lane, size in gone:
                self._bytes[Lane(lane)] -= int(size)
                self._items[Lane(lane)] -= 1
            return len(gone)

    def depth(self) -> int:
        """How many items wait for an ack."""
        with self._lock:
            return self._items[Lane.URGENT] + self._items[Lane.BULK]

    def usage(self) -> OutboxUsage:
        """Items and bytes per lane and the budget policy's counters."""
        with self._lock:
            return OutboxUsage(
                self._items[Lane.URGENT],
                self._items[Lane.BULK],
                self._bytes[Lane.URGENT],
                self._bytes[Lane.BULK],
                self._thinned,
                self._dropped,
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


def _earliest(a: str | None, b: str | None) -> str | None:
    return min((x for x in (a, b) if x is not None), key=datetime.fromisoformat, default=None)


def _latest(a: str | None, b: str | None) -> str | None:
    return max((x for x in (a, b) if x is not None), key=datetime.fromisoformat, default=None)


def _upgrade(db: sqlite3.Connection) -> None:
    """Add the budget columns to an outbox written by an earlier version."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    if "size" not in columns:
        db.execute("ALTER TABLE outbox ADD COLUMN size INTEGER NOT NULL DEFAULT 0")
        db.execute("ALTER TABLE outbox ADD COLUMN thinned INTEGER NOT NULL DEFAULT 0")
        db.execute("UPDATE outbox SET size = length(payload) + ?", (ROW_OVERHEAD_BYTES,))


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error (the connection runs in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
