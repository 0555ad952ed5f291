"""A resident's usual get-up time, as staff or family tell it: residents.usual_getup
(model: registry.models.Resident). The routine detectors use it until they have learned the
person's own nights.

Revision ID: 0010_resident_usual_getup
Revises: 0009_routine_baselines
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_resident_usual_getup"
down_revision: str | None = "0009_routine_baselines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add residents.usual_getup ("" for every resident so far: not known)."""
    with op.batch_alter_table("residents") as batch:
        batch.add_column(
            sa.Column("usual_getup", sa.String(length=5), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Drop residents.usual_getup."""
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("usual_getup")
