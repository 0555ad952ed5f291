"""HTTP provisioning API: an installer registers a gateway; the gateway claims its identity.

``POST /api/v1/provisioning/gateways`` (installer or admin) registers a gateway and answers its
one-time claim code, also as a QR code (SVG text and PNG, base64). ``POST
/api/v1/provisioning/claim`` (no login: the code is the credential) exchanges the code, once,
before it expires, for the gateway's id, broker URL, CA certificate and broker password, and
creates the broker account (Mosquitto dynamic security, or the registry for the embedded
broker). The composition root puts a ``ProvisioningSettings`` on ``app.state.provisioning``.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from dashboard.access import Principal
from dashboard.deps import MAX_ID, Ctx, Session, require_roles
from devices.payloads import GatewayId
from registry.broker_accounts import BrokerAccountError, BrokerAccounts
from registry.errors import ConflictError, NotFoundError
from registry.models import Role
from registry.provisioning import CLAIM_TTL, ClaimRefused, add_gateway, redeem_claim

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/provisioning", tags=["provisioning"])


@dataclass(frozen=True, slots=True)
class ProvisioningSettings:
    """What a claimed gateway is told, and where its broker account is made."""

    broker_url: str  # mqtts://host:8883 in production
    ca_pem: str | None  # the CA that signed the broker's certificate; None for plain mqtt://
    accounts: BrokerAccounts
    claim_ttl: timedelta = CLAIM_TTL


def get_settings(request: Request) -> ProvisioningSettings:
    """The provisioning settings of the app (503 when the platform did not configure them)."""
    settings: ProvisioningSettings | None = getattr(request.app.state, "provisioning", None)
    if settings is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "provisioning is not configured")
    return settings


Settings = Annotated[ProvisioningSettings, Depends(get_settings)]
Installer = Annotated[Principal, Depends(require_roles(Role.INSTALLER, Role.ADMIN))]


class NewGateway(BaseModel):
    """A gateway to register."""

    gateway_id: GatewayId
    home_id: int | None = Field(default=None, ge=1, le=MAX_ID)  # 32-bit ids in PostgreSQL


class ClaimCode(BaseModel):
    """A claim code and its QR forms."""

    gateway_id: str
    code: str
    expires_at: datetime
    qr_svg: str
    qr_png_base64: str


class ClaimRequest(BaseModel):
    """What a gateway sends to claim its identity."""

    code: str = Field(min_length=8, max_length=64)


class GatewayIdentity(BaseModel):
    """What a gateway gets for its claim code (keep it secret: it holds the broker password)."""

    gateway_id: str
    broker_url: str
    ca_cert: str | None
    username: str
    password: str


def qr_forms(code: str) -> tuple[str, str]:
    """The claim code as an SVG document and as base64 PNG."""
    qr = segno.make(code, error="m")
    svg, png = io.BytesIO(), io.BytesIO()
    qr.save(svg, kind="svg", scale=4)
    qr.save(png, kind="png", scale=4)
    return svg.getvalue().decode(), base64.b64encode(png.getvalue()).decode()


@router.post("/gateways", status_code=status.HTTP_201_CREATED)
async def create_gateway(
    body: NewGateway, user: Installer, session: Session, ctx: Ctx, settings: Settings
) -> ClaimCode:
    """Register a gateway and issue its one-time claim code."""
    try:
        issued = await add_gateway(
            session,
            gateway_id=body.gateway_id,
            home_id=body.home_id,
            now=ctx.clock.now(),
            ttl=settings.claim_ttl,
        )
    except ConflictError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
    except NotFoundError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from err
    await session.commit()
    log.info("provisioning.gateway_added gw=%s by=%s", issued.gateway_id, user.username)
    svg, png = qr_forms(issued.code)
    return ClaimCode(
        gateway_id=issued.gateway_id,
        code=issued.code,
        expires_at=issued.expires_at,
        qr_svg=svg,
        qr_png_base64=png,
    )


@router.post("/claim")
async def claim(
    body: ClaimRequest, session: Session, ctx: Ctx, settings: Settings
) -> GatewayIdentity:
    """Exchange a claim code for the gateway's identity and broker login (once)."""
    try:
        login = await redeem_claim(session, body.code, ctx.clock.now())
        await settings.accounts.create_gateway(login.gateway_id, login.password)
    except ClaimRefused as err:
        log.warning("provisioning.claim_refused reason=%s", err)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "claim code refused") from err
    except BrokerAccountError as err:
        log.error("provisioning.broker_account_failed error=%s", err)  # noqa: TRY400
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "broker unavailable") from err
    await session.commit()
    log.info("provisioning.claimed gw=%s", login.gateway_id)
    return GatewayIdentity(
        gateway_id=login.gateway_id,
        broker_url=settings.broker_url,
        ca_cert=settings.ca_pem,
        username=login.gateway_id,
        password=login.password,
    )
