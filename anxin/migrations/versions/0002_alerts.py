"""Alert tables: alerts (one open alert per fingerprint) and their evidence.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the alert tables."""
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("home_id", sa.Integer(), nullable=True),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evidence_count", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(["acked_by"], ["users.id"], name=op.f("fk_alerts_acked_by_users")),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], name=op.f("fk_alerts_home_id_homes")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_alerts_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_alerts_resolved_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_alerts_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_gateway_id"), ["gateway_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index("ix_alerts_state_raised", ["state", "raised_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_station_id"), ["station_id"], unique=False)
        batch_op.create_index(
            "uq_alerts_open_fingerprint",
            ["fingerprint"],
            unique=True,
            sqlite_where=sa.text("state != 'resolved'"),
            postgresql_where=sa.text("state != 'resolved'"),
        )

    op.create_table(
        "alert_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_evidence_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_evidence")),
        sa.UniqueConstraint("event_id", name=op.f("uq_alert_evidence_event_id")),
    )
    with op.batch_alter_table("alert_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_evidence_alert_id"), ["alert_id"], unique=False)


def downgrade() -> None:
    """Drop these tables."""
    op.drop_table("alert_evidence")
    op.drop_table("alerts")
