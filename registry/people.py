"""People who log in, family links, and what health data each person may see."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import ConflictError, NotFoundError, SelfLockoutError
from registry.models import FamilyLink, Home, Resident, Role, Station, User
from registry.passwords import hash_password, verify_password

# Verified against when the username is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$RM0wIcsnGiwTjrCG6eyfhg$"
    "Krffx30lKxuLpmfZcee3zRvMpVKr2U4YOjKrSsBgm3A"
)


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: Role,
    station_id: int | None = None,
    display_name: str = "",
    locale: str = "zh-CN",
) -> User:
    """Add a person; staff and managers must belong to a station; ConflictError on a taken name."""
    if role in (Role.STAFF, Role.MANAGER) and station_id is None:
        raise ConflictError(f"a {role.value} must belong to a station")
    if station_id is not None and await session.get(Station, station_id) is None:
        raise NotFoundError(f"no station {station_id}")
    if await get_user_by_username(session, username) is not None:
        raise ConflictError(f"username {username!r} is taken")
    user = User(
        username=username,
        password_hash=await asyncio.to_thread(hash_password, password),
        display_name=display_name,
        role=role.value,
        station_id=station_id,
        locale=locale,
    )
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    """The user with ``user_id``, if any."""
    return await session.get(User, user_id)


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    """The user with ``username``, if any."""
    return await session.scalar(select(User).where(User.username == username))


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user when ``password`` is theirs; None otherwise (same work for unknown names)."""
    user = await get_user_by_username(session, username.strip())
    stored = user.password_hash if user is not None else _DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, stored, password)
    return user if ok and user is not None and user.active else None


async def set_active(session: AsyncSession, *, user_id: int, active: bool, actor_id: int) -> User:
    """Deactivate (the person left) or reactivate a user; nobody may deactivate themselves."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    if user_id == actor_id and not active:
        raise SelfLockoutError("you cannot deactivate yourself")
    user.active = active
    await session.flush()
    return user


async def change_role(
    session: AsyncSession,
    *,
    user_id: int,
    role: Role,
    actor_id: int,
    station_id: int | None = None,
) -> User:
    """Give a user another role (and station, if given); nobody may change their own role.

    Staff and managers must end up with a station; a family member keeps their role while they
    still have resident links, so that a later change back does not silently restore them.
    """
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    if user_id == actor_id and role.value != user.role:
        raise SelfLockoutError("you cannot change your own role")
    if station_id is not None and await session.get(Station, station_id) is None:
        raise NotFoundError(f"no station {station_id}")
    new_station = station_id if station_id is not None else user.station_id
    if role in (Role.STAFF, Role.MANAGER) and new_station is None:
        raise ConflictError(f"a {role.value} must belong to a station")
    if user.role == Role.FAMILY.value and role is not Role.FAMILY:
        linked = await session.scalar(
            select(FamilyLink.user_id).where(FamilyLink.user_id == user_id)
        )
        if linked is not None:
            raise ConflictError(f"user {user_id} still has family links")
    user.role = role.value
    user.station_id = new_station
    await session.flush()
    return user


async def link_family(
    session: AsyncSession, *, user_id: int, resident_id: int, relation: str = ""
) -> FamilyLink:
    """Let a family member see a resident; returns the existing link if there is one."""
    user = await session.get(User, user_id)
    if user is None or user.role != Role.FAMILY.value:
        raise ConflictError(f"user {user_id} is not a family member")
    if await session.get(Resident, resident_id) is None:
        raise NotFoundError(f"no resident {resident_id}")
    link = await session.get(FamilyLink, (user_id, resident_id))
    if link is None:
        link = FamilyLink(user_id=user_id, resident_id=resident_id, relation=relation)
        session.add(link)
        await session.flush()
    return link


async def unlink_family(session: AsyncSession, *, user_id: int, resident_id: int) -> FamilyLink:
    """Stop a family member seeing a resident; returns the removed link (NotFoundError if none)."""
    link = await session.get(FamilyLink, (user_id, resident_id))
    if link is None:
        raise NotFoundError(f"user {user_id} is not linked to resident {resident_id}")
    await session.delete(link)
    await session.flush()
    return link


async def visible_resident_ids(session: AsyncSession, user: User) -> set[int] | None:
    """Residents whose health data ``user`` may see: None means all (admin).

    Staff and managers see the residents of their station's homes, family members the residents
    they are linked to, installers nobody.
    """
    role = Role(user.role)
    if role is Role.ADMIN:
        return None
    if role in (Role.STAFF, Role.MANAGER):
        if user.station_id is None:
            return set()
        rows = await session.scalars(
            select(Resident.id)
            .join(Home, Resident.home_id == Home.id)
            .where(Home.station_id == user.station_id)
        )
        return set(rows)
    if role is Role.FAMILY:
        rows = await session.scalars(
            select(FamilyLink.resident_id).where(FamilyLink.user_id == user.id)
        )
        return set(rows)
    return set()
