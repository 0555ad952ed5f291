"""Admin pages: organisation tree, stations, users and roles, resident–family links, audit log."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dashboard import i18n, org
from dashboard.context import DashboardContext
from dashboard.deps import (
    MAX_ID,
    AdminForm,
    AdminUser,
    Ctx,
    PageCaller,
    PageZone,
    Session,
    Templates,
)
from dashboard.pages import page_context
from dashboard.rows import local_time
from registry.errors import RegistryError, SelfLockoutError
from registry.models import FamilyLink, Resident, Role, Station, User
from registry.people import change_role, create_user, link_family, set_active, unlink_family
from registry.repository import create_station

log = logging.getLogger(__name__)

ERRORS = ("conflict", "org", "timezone", "self")  # ?error= keys the admin page explains
AUDIT_PAGE = 100
PASSWORD_MIN = 10

router = APIRouter(include_in_schema=False)
FormId = Annotated[int, Form(ge=1, le=MAX_ID)]


def _back(error: str = "", anchor: str = "") -> RedirectResponse:
    query = f"?error={error}" if error in ERRORS else ""
    return RedirectResponse(f"/admin{query}{anchor}", status.HTTP_303_SEE_OTHER)


async def _changed(
    session: AsyncSession,
    ctx: DashboardContext,
    caller: PageCaller,
    action: str,
    subject: str,
    data: dict[str, Any],
    anchor: str,
) -> RedirectResponse:
    """Commit an admin change, then audit and log it, and go back to the page at ``anchor``."""
    await session.commit()
    # after the commit: an entry never claims a change that was rolled back
    if ctx.audit is not None:
        await ctx.audit.append(f"user:{caller.user.id}", action, subject, data)
    log.info("admin.%s subject=%s data=%s by=%s", action, subject, data, caller.user.username)
    return _back(anchor=anchor)


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(
    request: Request,
    caller: AdminUser,
    session: Session,
    templates: Templates,
    error: str = "",
) -> Response:
    """Everything an administrator keeps up to date, on one page."""
    stations = list(await session.scalars(select(Station).order_by(Station.name)))
    users = list(await session.scalars(select(User).order_by(User.role, User.username)))
    people = list(await session.scalars(select(Resident).order_by(Resident.name)))
    links = (
        await session.execute(
            select(FamilyLink, User.username, Resident.name)
            .join(User, User.id == FamilyLink.user_id)
            .join(Resident, Resident.id == FamilyLink.resident_id)
            .order_by(Resident.name, User.username)
        )
    ).all()
    return templates.TemplateResponse(
        request,
        "admin.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            error=i18n.translate(caller.lang, f"admin.error.{error}") if error in ERRORS else "",
            tree=await org.tree(session),
            levels=[level.value for level in org.Level],
            stations=stations,
            station_names={s.id: s.name for s in stations},
            users=users,
            roles=[role.value for role in Role],
            families=[u for u in users if u.role == Role.FAMILY.value],
            residents=people,
            links=[
                (link.user_id, link.resident_id, link.relation, username, name)
                for link, username, name in links
            ],
        ),
    )


@router.post("/admin/org")
async def add_org_unit(
    caller: AdminForm,
    session: Session,
    ctx: Ctx,
    level: Annotated[org.Level, Form()],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    parent_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Add a city, district or street."""
    try:
        unit_id = await org.add_unit(session, level, name.strip(), parent_id)
    except org.OrgError:
        return _back("org", "#tree")
    return await _changed(
        session, ctx, caller, "org_unit_added", f"org:{unit_id}",
        {"level": level.value, "name": name.strip(), "parent_id": parent_id}, "#tree",
    )  # fmt: skip


@router.post("/admin/org/place")
async def place_station(
    caller: AdminForm, session: Session, ctx: Ctx, station_id: FormId, street_id: FormId
) -> Response:
    """Put a station under a street."""
    try:
        await org.place_station(session, station_id, street_id)
    except org.OrgError:
        return _back("org", "#tree")
    return await _changed(
        session, ctx, caller, "station_placed", f"station:{station_id}",
        {"street_id": street_id}, "#tree",
    )  # fmt: skip


@router.post("/admin/stations")
async def add_station(
    caller: AdminForm,
    session: Session,
    ctx: Ctx,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    code: Annotated[str, Form(min_length=1, max_length=64)],
    timezone: Annotated[str, Form(max_length=64)] = "Asia/Shanghai",
) -> Response:
    """Add a care station."""
    if timezone not in available_timezones():
        return _back("timezone", "#stations")
    try:
        station = await create_station(
            session, name=name.strip(), code=code.strip(), timezone=timezone
        )
    except RegistryError:
        return _back("conflict", "#stations")
    return await _changed(
        session, ctx, caller, "station_added", f"station:{station.id}",
        {"name": name.strip(), "code": code.strip(), "timezone": timezone}, "#stations",
    )  # fmt: skip


@router.post("/admin/users")
async def add_user(
    caller: AdminForm,
    session: Session,
    ctx: Ctx,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=PASSWORD_MIN, max_length=256)],
    role: Annotated[Role, Form()],
    display_name: Annotated[str, Form(max_length=200)] = "",
    station_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Add a person with a role (staff and managers belong to a station)."""
    try:
        user = await create_user(
            session,
            username=username.strip(),
            password=password,
            role=role,
            station_id=station_id,
            display_name=display_name.strip(),
        )
    except RegistryError:
        return _back("conflict", "#users")
    return await _changed(
        session, ctx, caller, "user_added", f"user:{user.id}",
        {"username": user.username, "role": role.value, "station_id": station_id}, "#users",
    )  # fmt: skip


@router.post("/admin/links")
async def add_link(
    caller: AdminForm,
    session: Session,
    ctx: Ctx,
    user_id: FormId,
    resident_id: FormId,
    relation: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Let a family member see a resident."""
    try:
        await link_family(
            session, user_id=user_id, resident_id=resident_id, relation=relation.strip()
        )
    except RegistryError:
        return _back("conflict", "#links")
    return await _changed(
        session, ctx, caller, "family_linked", f"resident:{resident_id}",
        {"user_id": user_id, "relation": relation.strip()}, "#links",
    )  # fmt: skip


@router.post("/admin/users/active")
async def set_user_active(
    caller: AdminForm,
    session: Session,
    ctx: Ctx,
    user_id: FormId,
    active: Annotated[bool, Form()],
) -> Response:
    """Deactivate a person who left (their sessions and tokens stop working at once), or undo it."""
    try:
        user = await set_active(session, user_id=user_id, active=active, actor_id=caller.user.id)
    except SelfLockoutError:
        return _back("self", "#users")
    except RegistryError:
        return _back("conflict", "#users")
    action = "user_reactivated" if active else "user_deactivated"
    return await _changed(
        session, ctx, caller, action, f"user:{user_id}", {"username": user.username}, "#users"
    )


@router.post("/admin/users/role")
async def set_user_role(
    caller: AdminForm,
    session: Session,
    ctx: Ctx,
    user_id: FormId,
    role: Annotated[Role, Form()],
    station_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Give a person another role (and station); an admin cannot change their own."""
    before = await session.get(User, user_id)
    old_role = None if before is None else before.role
    try:
        user = await change_role(
            session, user_id=user_id, role=role, actor_id=caller.user.id, station_id=station_id
        )
    except SelfLockoutError:
        return _back("self", "#users")
    except RegistryError:
        return _back("conflict", "#users")
    return await _changed(
        session, ctx, caller, "role_changed", f"user:{user_id}",
        {"username": user.username, "from": old_role, "to": role.value,
         "station_id": user.station_id},
        "#users",
    )  # fmt: skip


@router.post("/admin/links/remove")
async def remove_link(
    caller: AdminForm, session: Session, ctx: Ctx, user_id: FormId, resident_id: FormId
) -> Response:
    """Stop a family member seeing a resident (pages, API and the live stream, at once)."""
    try:
        await unlink_family(session, user_id=user_id, resident_id=resident_id)
    except RegistryError:
        return _back("conflict", "#links")
    return await _changed(
        session, ctx, caller, "family_unlinked", f"resident:{resident_id}",
        {"user_id": user_id}, "#links",
    )  # fmt: skip


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit_log(
    request: Request,
    caller: AdminUser,
    ctx: Ctx,
    zone: PageZone,
    templates: Templates,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    subject: str = "",
    verify: bool = False,
) -> Response:
    """The audit log, a page at a time, with the chain check on request."""
    entries: list[dict[str, Any]] = []
    checked = None
    if ctx.audit is not None:
        rows = await ctx.audit.entries(
            subject=subject or None, after_seq=max(0, after), limit=AUDIT_PAGE
        )
        entries = [
            {
                "seq": e.seq,
                "at": local_time(e.at, zone),
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "data": dict(e.data),
                "hash": e.hash[:12],
            }
            for e in rows
        ]
        if verify:
            checked = await ctx.audit.verify()
    return templates.TemplateResponse(
        request,
        "audit.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            connected=ctx.audit is not None,
            entries=entries,
            subject=subject,
            after=after,
            next_after=entries[-1]["seq"] if len(entries) == AUDIT_PAGE else None,
            checked=checked,
        ),
    )
