"""How closely the routine detectors watch a resident, as the station chooses it:
residents.watch (close | standard | relaxed; model: registry.models.Resident, levels:
alerts.routine.baseline.WATCH_LEVELS).

Revision ID: 0011_resident_watch
Revises: 0010_resident_usual_getup
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_resident_watch"
down_revision: str | None = "0010_resident_usual_getup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add residents.watch ("standard" for every resident so far: as they were watched)."""
    with op.batch_alter_table("residents") as batch:
        batch.add_column(
            sa.Column("watch", sa.String(length=16), nullable=False, server_default="standard")
        )


def downgrade() -> None:
    """Drop residents.watch."""
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("watch")
