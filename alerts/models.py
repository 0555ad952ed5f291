"""Alert tables: one row per episode and the events that are its evidence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime

OPEN_ONLY = text("state != 'resolved'")


class Alert(Base):
    """One alert episode; at most one unresolved alert per fingerprint (partial unique index)."""

    __tablename__ = "alerts"
    __table_args__ = (
        # two concurrent creators of the same episode: the second insert fails and attaches instead
        Index(
            "uq_alerts_open_fingerprint",
            "fingerprint",
            unique=True,
            sqlite_where=OPEN_ONLY,
            postgresql_where=OPEN_ONLY,
        ),
        Index("ix_alerts_state_raised", "state", "raised_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id"), index=True, default=None
    )
    home_id: Mapped[int | None] = mapped_column(ForeignKey("homes.id"), default=None)
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id"), index=True, default=None
    )
    gateway_id: Mapped[str] = mapped_column(String(64), index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    acked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    evidence_count: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(String(400), default="")


class AlertEvidence(Base):
    """An event attached to an alert; ``event_id`` is unique so a redelivery never counts twice."""

    __tablename__ = "alert_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
