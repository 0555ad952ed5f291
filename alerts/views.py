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


@dataclass(frozen=True, slots=True)
class AlertChange:
    """One change to an alert, published on the feed after it was committed."""

    action: str  # "raised" | "evidence" | "acknowledged" | "resolved"
    alert: AlertView
