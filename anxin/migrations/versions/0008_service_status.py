"""Services report that they run, and which detectors do not: service_status
(model: alerts.models.ServiceStatusRow).

Revision ID: 0008_service_status
Revises: 0007_users_active
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_service_status"
down_revision: str | None = "0007_users_active"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create service_status."""
    op.create_table(
        "service_status",
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("beat", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("service", name=op.f("pk_service_status")),
    )


def downgrade() -> None:
    """Drop service_status."""
    op.drop_table("service_status")
