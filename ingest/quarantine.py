"""Quarantine: every rejected message or reading is kept with its reason, never dropped silently."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from ingest.errors import StoreError
from ingest.sqlite_store import open_sqlite, transaction, translate
from ingest.store import from_ns, to_ns

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_KEPT_PAYLOAD_BYTES = 16_384  # enough to read what went wrong; a 1 MiB flood stays small


class RejectReason(StrEnum):
    """Why ingest refused something (the codec's reasons plus ingest's own)."""

    JSON = "json"
    SCHEMA = "schema"
    TOPIC = "topic"
    GATEWAY_MISMATCH = "gateway_mismatch"
    SIZE = "size"
    RANGE = "range"
    UNKNOWN_MEASUREMENT = "unknown_measurement"
    UNKNOWN_GATEWAY = "unknown_gateway"


@dataclass(frozen=True, slots=True)
class QuarantinedMessage:
    """One rejected message (or one rejected reading of a message) as it was kept."""

    reason: str
    topic: str
    payload: bytes  # at most MAX_KEPT_PAYLOAD_BYTES of what arrived
    size: int  # the size of what arrived, before truncation
    detail: str
    received_at: datetime


class Quarantine(Protocol):
    """Where rejected messages go, with their reason, for people to inspect."""

    async def put(
        self, reason: str, topic: str, payload: bytes, received_at: datetime, detail: str = ""
    ) -> None:
        """Keep one rejected message durably (payload truncated to a limit)."""
        ...

    async def put_many(self, items: Sequence[QuarantinedMessage]) -> None:
        """Keep several rejected items in one durable write."""
        ...

    async def recent(self, limit: int) -> list[QuarantinedMessage]:
        """The latest ``limit`` items, newest first."""
        ...

    async def counts(self) -> dict[str, int]:
        """Reason -> how many items were quarantined for it."""
        ...

    async def close(self) -> None:
        """Release resources."""
        ...


def quarantined(
    reason: str, topic: str, payload: bytes, received_at: datetime, detail: str = ""
) -> QuarantinedMessage:
    """A QuarantinedMessage with the payload truncated to MAX_KEPT_PAYLOAD_BYTES."""
    return QuarantinedMessage(
        reason, topic, payload[:MAX_KEPT_PAYLOAD_BYTES], len(payload), detail, received_at
    )


_SCHEMA = """CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT, reason TEXT NOT NULL, topic TEXT NOT NULL,
    payload BLOB NOT NULL, size INTEGER NOT NULL, detail TEXT NOT NULL, rx INTEGER NOT NULL
)"""


class SQLiteQuarantine:
    """Quarantine in a SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.Lock()

    @classmethod
    async def open(cls, path: Path) -> SQLiteQuarantine:
        """Open (and create if needed) the quarantine at ``path``."""

        def open_sync() -> SQLiteQuarantine:
            try:
                conn = open_sqlite(path)
                conn.execute(_SCHEMA)
            except sqlite3.Error as err:
                raise translate(err) from err
            return cls(conn)

        return await asyncio.to_thread(open_sync)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                if self._conn is None:
                    raise StoreError("quarantine is closed")
                try:
                    return fn(self._conn)
                except sqlite3.Error as err:
                    raise translate(err) from err

        return await asyncio.to_thread(call)

    async def put(
        self, reason: str, topic: str, payload: bytes, received_at: datetime, detail: str = ""
    ) -> None:
        """Keep one rejected message durably (payload truncated to a limit)."""
        await self.put_many([quarantined(reason, topic, payload, received_at, detail)])

    async def put_many(self, items: Sequence[QuarantinedMessage]) -> None:
        """Keep several rejected items in one durable write."""
        rows = [
            (
                i.reason,
                i.topic,
                i.payload[:MAX_KEPT_PAYLOAD_BYTES],
                i.size,
                i.detail,
                to_ns(i.received_at),
            )
            for i in items
        ]

        def write(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.executemany(
                    "INSERT INTO quarantine (reason, topic, payload, size, detail, rx)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )

        if rows:
            await self._run(write)

    async def recent(self, limit: int) -> list[QuarantinedMessage]:
        """The latest ``limit`` items, newest first."""

        def query(conn: sqlite3.Connection) -> list[tuple[str, str, bytes, int, str, int]]:
            return conn.execute(
                "SELECT reason, topic, payload, size, detail, rx FROM quarantine"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()

        return [
            QuarantinedMessage(reason, topic, bytes(payload), size, detail, from_ns(rx))
            for reason, topic, payload, size, detail, rx in await self._run(query)
        ]

    async def counts(self) -> dict[str, int]:
        """Reason -> how many items were quarantined for it."""

        def query(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            return conn.execute(
                "SELECT reason, COUNT(*) FROM quarantine GROUP BY reason"
            ).fetchall()

        return dict(await self._run(query))

    async def close(self) -> None:
        """Close the connection (idempotent)."""

        def close() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(close)
