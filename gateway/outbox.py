"""The on-disk outbox: every wire message waits here, with its fixed (boot, seq), until ingest acks it.

SQLite in WAL mode with ``synchronous=FULL``: a ``put`` that returned is on disk and survives a
kill -9 or a power cut. Sequence numbers are assigned at enqueue and grow strictly within a boot;
a process start is a new boot (``new_boot_id``). Items of earlier boots keep their (boot, seq)
and payload bytes for ever, so ingest recognises a redelivery. Urgent items (events) come out
before bulk items (readings); within a lane, oldest first.

Calls block on the disk: async callers run them with ``asyncio.to_thread``. One lock serialises
them, so the outbox may be shared by threads.
"""

from __future__ import annotations

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

BUSY_TIMEOUT_S = (
    10.0  # another process (a second agent by mistake) holding the lock this long is a fault
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    boot TEXT NOT NULL,
    seq INTEGER NOT NULL,
    lane INTEGER NOT NULL,
    channel TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (boot, seq)
);
CREATE INDEX IF NOT EXISTS outbox_lane ON outbox (lane, id);
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


Encoder = Callable[[str, int], bytes]
"""Builds the encoded payload once (boot, seq) are known."""


class Outbox:
    """A durable, ordered store of unacknowledged wire messages."""

    def __init__(self, path: Path, boot: str | None = None) -> None:
        self.path = path
        self.boot = boot or new_boot_id()
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute(
                "SELECT MAX(seq) FROM outbox WHERE boot = ?", (self.boot,)
            ).fetchone()
        except sqlite3.Error as err:
            raise OutboxError(f"cannot open outbox {path}: {err}") from err
        self._next_seq = 0 if row[0] is None else int(row[0]) + 1

    def put(self, channel: Channel, encode: Encoder, created_at: datetime) -> OutboxItem:
        """Store one message; ``encode(boot, seq)`` makes its payload. On disk when this returns."""
        return self.put_many([(channel, encode)], created_at)[0]

    def put_many(
        self, messages: Iterable[tuple[Channel, Encoder]], created_at: datetime
    ) -> list[OutboxItem]:
        """Store several messages in one transaction (one fsync)."""
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
            try:
                with self._transaction():
                    self._db.executemany(
                        "INSERT INTO outbox (boot, seq, lane, channel, payload, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (
                                i.boot,
                                i.seq,
                                int(i.lane),
                                i.channel.value,
                                i.payload,
                                created.isoformat(),
                            )
                            for i in items
                        ],
                    )
            except sqlite3.Error as err:
                raise OutboxError(f"cannot write outbox {self.path}: {err}") from err
            self._next_seq = seq
            return items

    def next_batch(self, limit: int, exclude: Collection[tuple[str, int]] = ()) -> list[OutboxItem]:
        """Up to ``limit`` items, urgent lane first then oldest first, skipping ``exclude`` keys."""
        if limit <= 0:
            return []
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT boot, seq, lane, channel, payload, created_at FROM outbox"
                    " ORDER BY lane, id LIMIT ?",
                    (limit + len(exclude),),
                ).fetchall()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read outbox {self.path}: {err}") from err
        items = [
            OutboxItem(b, s, Lane(lane), Channel(ch), bytes(p), datetime.fromisoformat(c))
            for b, s, lane, ch, p, c in rows
            if (b, s) not in exclude
        ]
        return items[:limit]

    def remove(self, boot: str, seqs: Iterable[int]) -> int:
        """Delete acknowledged items; returns how many were still there."""
        params = [(boot, s) for s in seqs]
        with self._lock:
            try:
                with self._transaction():
                    before = self._db.total_changes
                    self._db.executemany("DELETE FROM outbox WHERE boot = ? AND seq = ?", params)
                    return self._db.total_changes - before
            except sqlite3.Error as err:
                raise OutboxError(f"cannot write outbox {self.path}: {err}") from err

    def depth(self) -> int:
        """How many items wait for an ack."""
        with self._lock:
            try:
                row = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read outbox {self.path}: {err}") from err
        return int(row[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


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
