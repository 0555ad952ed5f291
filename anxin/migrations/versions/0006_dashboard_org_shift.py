"""Dashboard tables: organisation tree (org_units, station_places) and shift handover notes.

Models: dashboard.org.OrgUnit, dashboard.org.StationPlace, dashboard.shift.ShiftNote.

Revision ID: 0006_dashboard_org_shift
Revises: 0005_alerts_escalation
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_dashboard_org_shift"
down_revision: str | None = "0005_alerts_escalation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create org_units, station_places and shift_notes."""
    op.create_table(
        "org_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["org_units.id"], name=op.f("fk_org_units_parent_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_units")),
    )
    with op.batch_alter_table("org_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_units_parent_id"), ["parent_id"], unique=False)
    op.create_table(
        "station_places",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_station_places_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["org_units.id"], name=op.f("fk_station_places_street_id_org_units")
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_station_places")),
    )
    with op.batch_alter_table("station_places", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_station_places_street_id"), ["street_id"], unique=False
        )
    op.create_table(
        "shift_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_shift_notes_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_shift_notes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_notes")),
    )
    with op.batch_alter_table("shift_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shift_notes_station_id"), ["station_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shift_notes_written_at"), ["written_at"], unique=False)


def downgrade() -> None:
    """Drop shift_notes, station_places and org_units."""
    with op.batch_alter_table("shift_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shift_notes_written_at"))
        batch_op.drop_index(batch_op.f("ix_shift_notes_station_id"))
    op.drop_table("shift_notes")
    with op.batch_alter_table("station_places", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_places_street_id"))
    op.drop_table("station_places")
    with op.batch_alter_table("org_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_units_parent_id"))
    op.drop_table("org_units")
