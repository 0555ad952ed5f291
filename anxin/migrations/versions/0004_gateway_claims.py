"""Gateway claim codes for provisioning: gateway_claims (model: registry.provisioning.GatewayClaim).

Revision ID: 0004_gateway_claims
Revises: 0003_alert_ratings
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_gateway_claims"
down_revision: str | None = "0003_alert_ratings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create gateway_claims."""
    op.create_table(
        "gateway_claims",
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.id"], name=op.f("fk_gateway_claims_gateway_id_gateways")
        ),
        sa.PrimaryKeyConstraint("code_sha256", name=op.f("pk_gateway_claims")),
    )
    op.create_index(
        op.f("ix_gateway_claims_gateway_id"), "gateway_claims", ["gateway_id"], unique=False
    )


def downgrade() -> None:
    """Drop gateway_claims."""
    op.drop_index(op.f("ix_gateway_claims_gateway_id"), table_name="gateway_claims")
    op.drop_table("gateway_claims")
