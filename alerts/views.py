"""What callers see of an alert and of a change to one (frozen values, no ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as pages, the API and notifications show it."""

    id: int
    kind: str  # "fall" | "call_button" | "inactivity" | "pre_alert" | "test_alarm" ...
    priority: str  # "high" | "medium" | "low" | "technical"
    state: str  # "open" | "acknowledged" | "resolved"
    resident_id: int | None
    resident_name: str
    home_id: int | None
    station_id: int | None
    gateway_id: str
    raised_at: datetime
    acked_at: datetime | None
    acked_by: str | None  # username
    resolved_at: datetime | None
    outcome: str | None
    note: str
    evidence_count: int
    summary: str
    next_escalation_at: datetime | None = None  # when the next tier or reminder goes out
    deliveries: tuple[DeliveryView, ...] = ()  # every notification of this alert, oldest first


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One notification of an alert and how far it got (shown on the alert)."""

    contact_id: int
    contact_name: str
    audience: str  # "staff" | "manager" | "family" | "hotline" | "installer"
    tier: int
    attempt: int  # 0 first message, n the n-th reminder
    status: str  # alerts.outbox.DeliveryStatus
    channel: int  # which of the contact's URLs (0 first; more means fallback)
    tries: int
    created_at: datetime
    next_try_at: datetime
    sent_at: datetime | None
    last_error: str


@dataclass(frozen=True, slots=True)
class AlertChange:
    """One change to an alert, published on the feed after it was committed."""

    action: str  # "raised" | "evidence" | "acknowledged" | "resolved"
    alert: AlertView
