"""Who is signed in and what they may see: small queries against the registry tables."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.views import AlertView
from registry.models import FamilyLink, Home, Resident, Role, Station, User

DEFAULT_TIMEZONE = "Asia/Shanghai"  # for users without a station (admin, family): the design's home
STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.STAFF})
HEALTH_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.STAFF, Role.FAMILY})


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user as the dashboard needs them."""

    id: int
    username: str
    display_name: str
    role: Role
    station_id: int | None
    locale: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class Scope:
    """What health data a user may see: everything, some stations' or some residents'."""

    everything: bool
    station_ids: frozenset[int]
    resident_ids: frozenset[int]

    def allows_alert(self, alert: AlertView) -> bool:
        """True when the alert belongs to this scope."""
        if self.everything:
            return True
        if alert.station_id is not None and alert.station_id in self.station_ids:
            return True
        return alert.resident_id is not None and alert.resident_id in self.resident_ids


@dataclass(frozen=True, slots=True)
class ResidentSummary:
    """A resident with the home and station they belong to."""

    id: int
    name: str
    home_id: int
    home_label: str
    station_id: int
    birth_year: int | None
    care_level: str
    risk_flags: tuple[str, ...]


def _principal(user: User) -> Principal:
    return Principal(
        id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        role=Role(user.role),
        station_id=user.station_id,
        locale=user.locale,
        password_hash=user.password_hash,
    )


async def find_user(session: AsyncSession, username: str) -> Principal | None:
    """The active user with ``username`` (surrounding blanks ignored), if any."""
    user = await session.scalar(
        select(User).where(User.username == username.strip(), User.active.is_(True))
    )
    return None if user is None else _principal(user)


async def get_user(session: AsyncSession, user_id: int) -> Principal | None:
    """The user with ``user_id``, if they still exist and are active (checked on every request)."""
    user = await session.get(User, user_id)
    return None if user is None or not user.active else _principal(user)


async def scope_of(session: AsyncSession, user: Principal) -> Scope:
    """The health-data scope of ``user`` (installers: nothing)."""
    if user.role is Role.ADMIN:
        return Scope(True, frozenset(), frozenset())
    if user.role in (Role.MANAGER, Role.STAFF):
        stations = frozenset() if user.station_id is None else frozenset({user.station_id})
        return Scope(False, stations, frozenset())
    if user.role is Role.FAMILY:
        linked = await session.scalars(
            select(FamilyLink.resident_id).where(FamilyLink.user_id == user.id)
        )
        return Scope(False, frozenset(), frozenset(linked))
    return Scope(False, frozenset(), frozenset())


async def visible_residents(session: AsyncSession, scope: Scope) -> list[ResidentSummary]:
    """The residents in ``scope``, by name."""
    query = select(Resident, Home).join(Home, Resident.home_id == Home.id)
    if not scope.everything:
        query = query.where(
            Home.station_id.in_(scope.station_ids) | Resident.id.in_(scope.resident_ids)
        )
    rows = (await session.execute(query.order_by(Resident.name, Resident.id))).all()
    return [
        ResidentSummary(
            id=resident.id,
            name=resident.name,
            home_id=home.id,
            home_label=home.label,
            station_id=home.station_id,
            birth_year=resident.birth_year,
            care_level=resident.care_level,
            risk_flags=tuple(flag for flag in resident.risk_flags.split(",") if flag),
        )
        for resident, home in rows
    ]


async def timezone_of(session: AsyncSession, user: Principal) -> str:
    """The time zone a user's screens show times in: their station's, else DEFAULT_TIMEZONE."""
    if user.station_id is None:
        return DEFAULT_TIMEZONE
    zone = await session.scalar(select(Station.timezone).where(Station.id == user.station_id))
    return zone or DEFAULT_TIMEZONE
