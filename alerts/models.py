"""Alert tables: episodes, evidence, escalation, contacts, the delivery outbox, audit, tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
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
    # when the escalation scheduler must look at this alert next; NULL once acknowledged/resolved
    next_escalation_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), index=True, default=None
    )


class AlertEvidence(Base):
    """An event attached to an alert; ``event_id`` is unique so a redelivery never counts twice."""

    __tablename__ = "alert_evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime] = mapped_column(UTCDateTime())


class EscalationPolicyRow(Base):
    """A station's escalation policy; stations without a row use alerts.escalation.DEFAULT_POLICY."""

    __tablename__ = "escalation_policies"
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    high_offsets_s: Mapped[str] = mapped_column(String(100))  # "0,60,180,600": tier 1..4
    medium_offsets_s: Mapped[str] = mapped_column(String(100))
    low_offsets_s: Mapped[str] = mapped_column(String(100))
    reminder_s: Mapped[int] = mapped_column()
    max_reminders: Mapped[int] = mapped_column()
    technical_audiences: Mapped[str] = mapped_column(String(100))  # "installer,staff"


class Contact(Base):
    """Someone to notify: audience (staff, manager, family, hotline, installer), apprise URLs."""

    __tablename__ = "alert_contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    audience: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)  # order within the audience
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    urls: Mapped[str] = mapped_column(Text, default="")  # apprise URLs, one a line, fallback order
    quiet_start: Mapped[str] = mapped_column(String(5), default="")  # "22:00" station time
    quiet_end: Mapped[str] = mapped_column(String(5), default="")
    muted_kinds: Mapped[str] = mapped_column(String(200), default="")  # comma-separated kinds
    active: Mapped[bool] = mapped_column(default=True)


class EscalationStep(Base):
    """One escalation step taken (tier, attempt 0 = first message, n = n-th reminder); never twice."""

    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("alert_id", "tier", "attempt"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    tier: Mapped[int] = mapped_column()
    attempt: Mapped[int] = mapped_column()
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    """The durable outbox: one message to one contact; ``key`` makes each one exist once."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_status_next", "status", "next_try_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # alert:tier:attempt:contact
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("alert_contacts.id"))
    tier: Mapped[int] = mapped_column()
    attempt: Mapped[int] = mapped_column()
    channel: Mapped[int] = mapped_column(default=0)  # index into the contact's URLs
    title: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # DeliveryStatus
    tries: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str] = mapped_column(String(400), default="")


class AuditRow(Base):
    """One audit entry; ``hash`` covers the entry and ``prev_hash`` (the chain)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 1, 2, 3 ... no gaps
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))  # "user:7" or "system"
    action: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(120))  # "alert:12", "resident:3"
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class TestAlarmRow(Base):
    """One end-to-end test of a call button / wearable: command sent, answer expected by a deadline."""

    __tablename__ = "test_alarms"
    __test__ = False  # not a pytest class
    id: Mapped[int] = mapped_column(primary_key=True)
    command_id: Mapped[str] = mapped_column(String(64), unique=True)
    gateway_id: Mapped[str] = mapped_column(String(64), index=True)
    device_key: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    result: Mapped[str] = mapped_column(String(16))  # pending | passed | failed


class ServiceStatusRow(Base):
    """What a service reports about itself for other processes (``alerts.service_status``)."""

    __tablename__ = "service_status"
    service: Mapped[str] = mapped_column(String(32), primary_key=True)  # "alerts"
    beat: Mapped[int] = mapped_column(default=0)  # grows with every report: readers see it move
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())  # on the service's clock
    problems: Mapped[str] = mapped_column(Text, default="[]")  # detectors not running, as JSON


BATHROOM_WATCHED, BATHROOM_OFF, BATHROOM_NO_SENSOR = "watched", "off", "no_sensor"
BATHROOM_RULE = (BATHROOM_WATCHED, BATHROOM_OFF, BATHROOM_NO_SENSOR)  # routine_baselines.bathroom


class RoutineBaselineRow(Base):
    """What the routine monitor last learned of a resident, for the console
    (``alerts.routine.monitor``; the console runs in another process in a split deployment)."""

    __tablename__ = "routine_baselines"
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    days: Mapped[int] = mapped_column(default=0)  # complete days learned from
    min_days: Mapped[int] = mapped_column(default=7)  # days needed for a personal baseline
    ready: Mapped[bool] = mapped_column(default=False)  # False: conservative defaults apply
    bathroom: Mapped[str] = mapped_column(String(16))  # one of BATHROOM_RULE
    getup_limit: Mapped[str | None] = mapped_column(String(5), default=None)  # local HH:MM
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # the last check, as it changes: awake / asleep / not_up / away, quiet since, and when an
    # inactivity alarm comes if nothing moves (awake only)
    situation: Mapped[str | None] = mapped_column(String(16), default=None)
    quiet_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    alarm_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
