"""Operators' view of ingest's quarantine: every rejected message with its reason (admin only).

No message is dropped silently: what ingest refused (bad JSON, schema, range, unknown gateway or
measurement, clock) is kept with its reason, and operators see it here and with
``anxin quarantine list|counts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel

from dashboard.deps import Ctx, require_roles
from registry.models import Role

router = APIRouter(prefix="/api/v1/quarantine", tags=["quarantine"])

PAYLOAD_PREVIEW_BYTES = 2_048  # enough to read what a gateway sent; the rest stays in the store
Operator = Depends(require_roles(Role.ADMIN))


class QuarantinedOut(BaseModel):
    """One rejected message as kept."""

    reason: str
    topic: str
    detail: str
    size: int
    received_at: datetime
    payload_preview: str


@router.get("", dependencies=[Operator])
async def recent(
    ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1_000)] = 100
) -> list[QuarantinedOut]:
    """The newest rejected messages, newest first."""
    if ctx.quarantine is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no quarantine configured")
    return [
        QuarantinedOut(
            reason=m.reason,
            topic=m.topic,
            detail=m.detail,
            size=m.size,
            received_at=m.received_at,
            payload_preview=m.payload[:PAYLOAD_PREVIEW_BYTES].decode(errors="replace"),
        )
        for m in await ctx.quarantine.recent(limit)
    ]


@router.get("/counts", dependencies=[Operator])
async def counts(ctx: Ctx) -> dict[str, int]:
    """How many messages were rejected, per reason."""
    if ctx.quarantine is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no quarantine configured")
    return await ctx.quarantine.counts()
