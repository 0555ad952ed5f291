"""What the dashboard needs of the audit log (issue 6's ``alerts.audit.AuditLog`` fits it).

Every read of a resident's health data is recorded through ``record_read``; admins page through
the entries and check the hash chain. Until the composition root passes an audit log, reads
are not recorded (the dashboard says so in its docs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol


class AuditEntryLike(Protocol):
    """One entry as read back."""

    @property
    def seq(self) -> int:
        """Position in the chain, from 1."""
        ...

    @property
    def at(self) -> datetime:
        """When it was written (UTC)."""
        ...

    @property
    def actor(self) -> str:
        """``user:<id>`` or ``system``."""
        ...

    @property
    def action(self) -> str:
        """What was done (``read``, ``acknowledge`` ...)."""
        ...

    @property
    def subject(self) -> str:
        """What it was done to (``resident:3``, ``alert:12``)."""
        ...

    @property
    def data(self) -> Mapping[str, Any]:
        """Details."""
        ...

    @property
    def hash(self) -> str:
        """This entry's link in the chain."""
        ...


class VerifyLike(Protocol):
    """The outcome of checking the chain."""

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        ...

    @property
    def checked(self) -> int:
        """How many entries were checked."""
        ...

    @property
    def bad_seq(self) -> int | None:
        """The first broken entry, if any."""
        ...

    @property
    def reason(self) -> str:
        """Why it is broken."""
        ...


class AuditTrail(Protocol):
    """The append-only, hash-chained audit log as the dashboard uses it."""

    async def record_read(self, user_id: int, resident_id: int, what: str) -> int:
        """Record that a person read a resident's health data; returns the entry's seq."""
        ...

    async def append(
        self, actor: str, action: str, subject: str, data: dict[str, Any] | None = None
    ) -> int:
        """Append one entry (a list read: one entry naming every resident shown)."""
        ...

    async def entries(
        self, *, subject: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> Sequence[AuditEntryLike]:
        """Entries after ``after_seq``, oldest first."""
        ...

    async def verify(self) -> VerifyLike:
        """Walk the chain and report whether it is intact."""
        ...
