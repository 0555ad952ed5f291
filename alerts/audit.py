"""Append-only, hash-chained audit log of alert actions and reads of residents' health data.

Each entry's hash is SHA-256 over the previous entry's hash and the entry as canonical JSON
(sorted keys, no spaces, UTF-8). ``seq`` is the primary key and counts 1, 2, 3 ...: two writers
appending at once collide on it and the loser retries, so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlertError, AlertStoreError
from alerts.models import AuditRow
from devices.clock import Clock

log = logging.getLogger(__name__)

GENESIS = "0" * 64
CHAIN_LOCK_KEY = 0x616E78696E  # "anxin": the advisory lock appenders queue on (PostgreSQL)
MAX_ATTEMPTS = 8  # appends race on seq; each loss means another append went in first
SYSTEM = "system"
VERIFY_BATCH = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit entry as read back."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of checking the chain: ok, how many entries, the first bad one and why."""

    ok: bool
    checked: int
    bad_seq: int | None = None
    reason: str = ""


def canonical(value: object) -> str:
    """Canonical JSON: sorted keys, no whitespace, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, data: str
) -> str:
    """The hash of one entry chained to ``prev_hash``."""
    body = canonical(
        {
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "data": data,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def actor_of(user_id: int | None) -> str:
    """``user:<id>`` for a person, ``system`` for the platform itself."""
    return SYSTEM if user_id is None else f"user:{user_id}"


async def append_entry(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    data: dict[str, Any] | None = None,
) -> int:
    """Append an entry inside the caller's transaction; IntegrityError if another append won.

    On PostgreSQL the appenders of all processes queue on a transaction-scoped advisory lock
    first: the chain is a serial resource, and without the queue every concurrent writer but one
    lost each round and retried (a dozen writers could give up). The append is the last step of
    every transaction that makes one, so the lock is never held while waiting for another.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
    last = (
        await session.execute(
            select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        )
    ).first()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    text = canonical(data or {})
    session.add(
        AuditRow(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            data=text,
            prev_hash=prev,
            hash=entry_hash(prev, seq, at, actor, action, subject, text),
        )
    )
    await session.flush()
    return seq


class AuditLog:
    """The audit log: append, record reads, list entries, verify the chain."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def append(
        self, actor: str, action: str, subject: str, data: dict[str, Any] | None = None
    ) -> int:
        """Append one entry in its own transaction; returns its seq."""
        for _ in range(MAX_ATTEMPTS):
            try:
                async with self._sessions() as session, session.begin():
                    return await append_entry(
                        session,
                        at=self._clock.now(),
                        actor=actor,
                        action=action,
                        subject=subject,
                        data=data,
                    )
            except IntegrityError:
                continue
            except SQLAlchemyError as err:
                raise AlertStoreError(f"audit log: {err}") from err
        raise AlertError(f"audit append lost {MAX_ATTEMPTS} races in a row")

    async def record_read(self, user_id: int, resident_id: int, what: str) -> int:
        """Record that a person read a resident's health data (``what``: page or API name)."""
        return await self.append(
            actor_of(user_id), "read", f"resident:{resident_id}", {"what": what}
        )

    async def entries(
        self, *, subject: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        """Entries after ``after_seq`` (of one subject if given), oldest first."""
        query = select(AuditRow).where(AuditRow.seq > after_seq)
        if subject is not None:
            query = query.where(AuditRow.subject == subject)
        query = query.order_by(AuditRow.seq).limit(limit)
        try:
            async with self._sessions() as session:
                rows = (await session.scalars(query)).all()
        except SQLAlchemyError as err:
            raise AlertStoreError(f"audit log: {err}") from err
        return [
            AuditEntry(
                r.seq, r.at, r.actor, r.action, r.subject, json.loads(r.data), r.prev_hash, r.hash
            )
            for r in rows
        ]

    async def verify(self) -> VerifyResult:
        """Walk the chain from the first entry: seq without gaps, links and hashes intact."""
        prev, expected, checked = GENESIS, 1, 0
        try:
            async with self._sessions() as session:
                while True:
                    rows = (
                        await session.scalars(
                            select(AuditRow)
                            .where(AuditRow.seq >= expected)
                            .order_by(AuditRow.seq)
                            .limit(VERIFY_BATCH)
                        )
                    ).all()
                    if not rows:
                        return VerifyResult(True, checked)
                    for row in rows:
                        problem = _check(row, expected, prev)
                        if problem:
                            log.error("audit_verify_failed seq=%d reason=%s", row.seq, problem)
                            return VerifyResult(False, checked, row.seq, problem)
                        prev, expected, checked = row.hash, expected + 1, checked + 1
        except SQLAlchemyError as err:
            raise AlertStoreError(f"audit log: {err}") from err


def _check(row: AuditRow, expected_seq: int, prev: str) -> str:
    if row.seq != expected_seq:
        return f"gap: expected seq {expected_seq}"
    if row.prev_hash != prev:
        return "prev_hash does not match the previous entry"
    recomputed = entry_hash(prev, row.seq, row.at, row.actor, row.action, row.subject, row.data)
    if recomputed != row.hash:
        return "hash does not match the entry"
    return ""
