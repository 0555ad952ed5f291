"""HTTP request and response schemas of the JSON API (pydantic lives only at this edge)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from alerts.service import Outcome
from alerts.views import AlertView
from dashboard.access import Principal, ResidentSummary
from dashboard.ratings import COMMENT_MAX, Rating, RatingView
from registry.models import Role

NOTE_MAX = 2000  # a handover note, not an essay


class TokenOut(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    """The signed-in user."""

    id: int
    username: str
    display_name: str
    role: Role
    station_id: int | None
    locale: str

    @classmethod
    def of(cls, user: Principal) -> MeOut:
        """The schema of a principal."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            station_id=user.station_id,
            locale=user.locale,
        )


class DeliveryOut(BaseModel):
    """One notification of an alert and how far it got."""

    model_config = ConfigDict(from_attributes=True)

    contact_name: str
    audience: str
    tier: int
    attempt: int
    status: str
    sent_at: datetime | None


class AlertOut(BaseModel):
    """One alert as a caller sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    priority: str
    state: str
    resident_id: int | None
    resident_name: str
    home_id: int | None
    station_id: int | None
    gateway_id: str
    raised_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    resolved_at: datetime | None
    outcome: str | None
    note: str
    evidence_count: int
    summary: str
    next_escalation_at: datetime | None = None  # when the next tier or reminder goes out
    deliveries: list[DeliveryOut] = Field(default_factory=list)

    @classmethod
    def of(cls, view: AlertView) -> AlertOut:
        """The schema of an alert view."""
        return cls.model_validate(view)


class ResolveIn(BaseModel):
    """How an alert ended."""

    outcome: Outcome
    note: str = Field(default="", max_length=NOTE_MAX)


class ResidentOut(BaseModel):
    """A resident the caller may see."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    home_id: int
    home_label: str
    station_id: int
    birth_year: int | None
    care_level: str
    risk_flags: list[str]

    @classmethod
    def of(cls, resident: ResidentSummary) -> ResidentOut:
        """The schema of a resident summary."""
        return cls.model_validate(resident)


class HealthOut(BaseModel):
    """Readiness of the platform behind the dashboard; ``degraded``: ready, but some detector is
    not running (``problems`` says which, since when and why)."""

    status: str
    problems: list[dict[str, object]] = []


class RatingIn(BaseModel):
    """A family member's rating of how an alert was handled (好差评)."""

    rating: Rating
    comment: str = Field(default="", max_length=COMMENT_MAX)


class RatingOut(BaseModel):
    """A recorded rating."""

    alert_id: int
    rating: Rating
    comment: str
    rated_at: datetime

    @classmethod
    def of(cls, view: RatingView) -> RatingOut:
        """The schema of a rating view."""
        return cls(
            alert_id=view.alert_id, rating=view.rating, comment=view.comment, rated_at=view.rated_at
        )
