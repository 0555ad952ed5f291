"""好差评: a family member's rating of how the station handled an alert (table ``alert_ratings``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime

COMMENT_MAX = 500  # a sentence or two about the handling


class Rating(StrEnum):
    """好评 or 差评."""

    GOOD = "good"
    BAD = "bad"


class AlertRating(Base):
    """One family member's rating of one handled alert (they may change it)."""

    __tablename__ = "alert_ratings"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True, slots=True)
class RatingView:
    """A rating as pages show it."""

    alert_id: int
    rating: Rating
    comment: str
    rated_at: datetime


async def rate(
    session: AsyncSession, alert_id: int, user_id: int, rating: Rating, comment: str, now: datetime
) -> RatingView:
    """Record (or replace) ``user_id``'s rating of ``alert_id``; the caller commits."""
    row = await session.get(AlertRating, (alert_id, user_id))
    if row is None:
        row = AlertRating(alert_id=alert_id, user_id=user_id)
        session.add(row)
    row.rating, row.comment, row.rated_at = rating.value, comment, now
    await session.flush()
    return RatingView(alert_id, rating, comment, now)


async def ratings_by(
    session: AsyncSession, user_id: int, alert_ids: Collection[int]
) -> dict[int, RatingView]:
    """Alert id -> ``user_id``'s rating, for the alerts they rated."""
    if not alert_ids:
        return {}
    rows = await session.scalars(
        select(AlertRating).where(
            AlertRating.user_id == user_id, AlertRating.alert_id.in_(alert_ids)
        )
    )
    return {
        r.alert_id: RatingView(r.alert_id, Rating(r.rating), r.comment, r.rated_at) for r in rows
    }


async def rating_counts(session: AsyncSession, alert_ids: Collection[int]) -> dict[str, int]:
    """How many good and bad ratings these alerts got."""
    counts = {rating.value: 0 for rating in Rating}
    if alert_ids:
        rows = await session.execute(
            select(AlertRating.rating, func.count())
            .where(AlertRating.alert_id.in_(alert_ids))
            .group_by(AlertRating.rating)
        )
        counts.update({rating: int(n) for rating, n in rows})
    return counts
