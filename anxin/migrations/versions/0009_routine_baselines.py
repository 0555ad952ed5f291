"""What the routine monitor learned of each resident and its last check, for the console:
routine_baselines (model: alerts.models.RoutineBaselineRow).

Revision ID: 0009_routine_baselines
Revises: 0008_service_status
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_routine_baselines"
down_revision: str | None = "0008_service_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create routine_baselines."""
    op.create_table(
        "routine_baselines",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("min_days", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("bathroom", sa.String(length=16), nullable=False),
        sa.Column("getup_limit", sa.String(length=5), nullable=True),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("situation", sa.String(length=16), nullable=True),
        sa.Column("quiet_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alarm_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_routine_baselines_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_routine_baselines")),
    )


def downgrade() -> None:
    """Drop routine_baselines."""
    op.drop_table("routine_baselines")
