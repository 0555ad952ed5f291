"""Gateway provisioning: one-time, expiring claim codes exchanged for a gateway's broker login.

An installer registers a gateway and gets a claim code (shown as text and QR). The gateway, once,
before the code expires, exchanges it for its identity and a fresh broker password; only the
argon2 hash of the password is kept (``Gateway.secret_hash``, which the embedded broker checks)
and only the SHA-256 of the code (a database leak gives neither). Revoking a gateway ends its
login. Functions take an ``AsyncSession`` and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime
from registry.errors import NotFoundError, RegistryError
from registry.models import Gateway
from registry.passwords import hash_password
from registry.repository import create_gateway, revoke_gateway

CLAIM_TTL = timedelta(hours=24)  # an installer sets up the gateway the same day
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper
CODE_GROUPS, CODE_GROUP_LEN = 4, 4  # 16 symbols of 5 bits: 80 bits, out of reach of guessing
PASSWORD_BYTES = 32


class ClaimRefused(RegistryError):
    """The claim code is unknown, already used, expired, or its gateway was revoked."""


class GatewayClaim(Base):
    """A claim code (by its SHA-256) for a gateway; ``used_at`` is set on the one exchange."""

    __tablename__ = "gateway_claims"
    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(ForeignKey("gateways.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


@dataclass(frozen=True, slots=True)
class ClaimIssued:
    """A new claim code for a gateway (the code is shown once, never stored)."""

    gateway_id: str
    code: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class GatewayLogin:
    """What a claim code is exchanged for: the gateway's id and its new broker password."""

    gateway_id: str
    password: str


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    """A gateway as ``anxin gateway list`` shows it."""

    gateway_id: str
    home_id: int | None
    created_at: datetime
    claimed: bool
    revoked_at: datetime | None


def new_claim_code() -> str:
    """A random code like ``K7QM-2XHP-9RTA-WC4E``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LEN))
    return "-".join(raw[i : i + CODE_GROUP_LEN] for i in range(0, len(raw), CODE_GROUP_LEN))


def _digest(code: str) -> str:
    normal = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode()).hexdigest()


async def add_gateway(
    session: AsyncSession,
    *,
    gateway_id: str,
    home_id: int | None,
    now: datetime,
    ttl: timedelta = CLAIM_TTL,
) -> ClaimIssued:
    """Register a gateway that cannot log in yet, and issue its claim code."""
    await create_gateway(session, gateway_id=gateway_id, home_id=home_id, created_at=now)
    return await issue_claim(session, gateway_id, now, ttl)


async def issue_claim(
    session: AsyncSession, gateway_id: str, now: datetime, ttl: timedelta = CLAIM_TTL
) -> ClaimIssued:
    """A new claim code for an existing, unrevoked gateway (e.g. a replaced box)."""
    gateway = await session.get(Gateway, gateway_id)
    if gateway is None:
        raise NotFoundError(f"no gateway {gateway_id!r}")
    if gateway.revoked_at is not None:
        raise ClaimRefused(f"gateway {gateway_id!r} is revoked")
    code = new_claim_code()
    claim = GatewayClaim(
        code_sha256=_digest(code), gateway_id=gateway_id, created_at=now, expires_at=now + ttl
    )
    session.add(claim)
    await session.flush()
    return ClaimIssued(gateway_id, code, claim.expires_at)


async def redeem_claim(session: AsyncSession, code: str, now: datetime) -> GatewayLogin:
    """Exchange a claim code, once, for a fresh broker password; ClaimRefused otherwise."""
    claim = await session.scalar(
        select(GatewayClaim).where(GatewayClaim.code_sha256 == _digest(code)).with_for_update()
    )
    if claim is None:
        raise ClaimRefused("unknown claim code")
    if claim.used_at is not None:
        raise ClaimRefused("claim code already used")
    if now >= claim.expires_at:
        raise ClaimRefused("claim code expired")
    gateway = await session.get(Gateway, claim.gateway_id)
    if gateway is None or gateway.revoked_at is not None:
        raise ClaimRefused("gateway revoked")
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    gateway.secret_hash = await asyncio.to_thread(hash_password, password)
    claim.used_at = now
    await session.flush()
    return GatewayLogin(gateway.id, password)


async def revoke(session: AsyncSession, gateway_id: str, now: datetime) -> None:
    """Revoke a gateway: its login and any open claim code stop working."""
    await revoke_gateway(session, gateway_id, now)
    gateway = await session.get(Gateway, gateway_id)
    assert gateway is not None
    gateway.secret_hash = ""
    await session.flush()


async def list_gateways(session: AsyncSession) -> list[GatewayInfo]:
    """Every gateway, revoked or not, by id."""
    rows = await session.scalars(select(Gateway).order_by(Gateway.id))
    return [
        GatewayInfo(g.id, g.home_id, g.created_at, bool(g.secret_hash), g.revoked_at) for g in rows
    ]
