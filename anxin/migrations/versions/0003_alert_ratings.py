"""Family ratings (好差评) of handled alerts: alert_ratings (model: dashboard.ratings.AlertRating).

Revision ID: 0003_alert_ratings
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_alert_ratings"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create alert_ratings."""
    op.create_table(
        "alert_ratings",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_ratings_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_alert_ratings_user_id_users")
        ),
        sa.PrimaryKeyConstraint("alert_id", "user_id", name=op.f("pk_alert_ratings")),
    )


def downgrade() -> None:
    """Drop alert_ratings."""
    op.drop_table("alert_ratings")
