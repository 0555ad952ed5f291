"""Users can be deactivated: users.active (model: registry.models.User).

Revision ID: 0007_users_active
Revises: 0006_dashboard_org_shift
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_users_active"
down_revision: str | None = "0006_dashboard_org_shift"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.active, true for everyone who exists."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    """Drop users.active."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("active")
