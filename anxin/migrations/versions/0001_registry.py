"""Registry tables: stations, homes, residents, gateways, devices, users, family links.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the registry tables."""
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
        sa.UniqueConstraint("code", name=op.f("uq_stations_code")),
    )

    op.create_table(
        "homes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_homes_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_homes")),
    )
    with op.batch_alter_table("homes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_homes_station_id"), ["station_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("notify_url", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_users_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )

    op.create_table(
        "gateways",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("home_id", sa.Integer(), nullable=True),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], name=op.f("fk_gateways_home_id_homes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
    )
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateways_home_id"), ["home_id"], unique=False)

    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("home_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("risk_flags", sa.String(length=200), nullable=False),
        sa.Column("care_level", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], name=op.f("fk_residents_home_id_homes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_residents_home_id"), ["home_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("room", sa.String(length=32), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.id"], name=op.f("fk_devices_gateway_id_gateways")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_devices_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("gateway_id", "key", name=op.f("uq_devices_gateway_id")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_gateway_id"), ["gateway_id"], unique=False)

    op.create_table(
        "family_links",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_family_links_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_family_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "resident_id", name=op.f("pk_family_links")),
    )
    with op.batch_alter_table("family_links", schema=None) as batch_op:
        batch_op.create_index("ix_family_links_resident", ["resident_id"], unique=False)


def downgrade() -> None:
    """Drop these tables."""
    op.drop_table("family_links")
    op.drop_table("devices")
    op.drop_table("residents")
    op.drop_table("gateways")
    op.drop_table("users")
    op.drop_table("homes")
    op.drop_table("stations")
