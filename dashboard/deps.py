"""FastAPI dependencies: the one place where callers are identified and roles and objects checked."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, HTTPException, Path, Request, status
from fastapi.security import OAuth2PasswordBearer
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import AlertNotFoundError
from alerts.views import AlertView
from dashboard import access, homes, i18n, tokens
from dashboard.access import HEALTH_ROLES, Principal, ResidentSummary, Scope
from dashboard.context import DashboardContext
from dashboard.errors import (
    LoginRequiredError,
    PageForbiddenError,
    PageNotFoundError,
    TokenError,
)
from registry.models import Role

SESSION_COOKIE = "anxin_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL; larger ones would be a server error

AlertId = Annotated[int, Path(ge=1, le=MAX_ID)]
ResidentId = Annotated[int, Path(ge=1, le=MAX_ID)]
HomeId = Annotated[int, Path(ge=1, le=MAX_ID)]

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_ctx(request: Request) -> DashboardContext:
    """The context the app was created with."""
    ctx: DashboardContext = request.app.state.ctx
    return ctx


Ctx = Annotated[DashboardContext, Depends(get_ctx)]


def get_templates(request: Request) -> Jinja2Templates:
    """The app's templates."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


Templates = Annotated[Jinja2Templates, Depends(get_templates)]


async def get_session(ctx: Ctx) -> AsyncIterator[AsyncSession]:
    """A database session for one request."""
    async with ctx.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


def get_lang(request: Request) -> str:
    """The language of this request (``lang`` cookie, Accept-Language, default zh-CN)."""
    return i18n.negotiate(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )


Lang = Annotated[str, Depends(get_lang)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified caller: the user, and the session id when they came with the session cookie."""

    user: Principal
    session_id: str | None


async def get_caller(
    request: Request, ctx: Ctx, session: Session, token: Annotated[str | None, Depends(bearer)]
) -> Caller:
    """Identify the caller by bearer token or by session cookie (then unsafe methods need CSRF)."""
    now = ctx.auth_clock.now()
    session_id: str | None = None
    try:
        if token is not None:
            claims = tokens.verify(ctx.secret_key, tokens.API_PURPOSE, token, now)
        elif cookie := request.cookies.get(SESSION_COOKIE):
            claims = tokens.verify(ctx.secret_key, tokens.SESSION_PURPOSE, cookie, now)
            session_id = claims.session_id
        else:
            raise _unauthorized("not authenticated")
    except TokenError as err:
        raise _unauthorized("invalid or expired credentials") from err
    if (
        session_id is not None
        and request.method not in SAFE_METHODS
        and not tokens.csrf_ok(ctx.secret_key, session_id, request.headers.get(CSRF_HEADER, ""))
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    user = await access.get_user(session, claims.user_id)
    if user is None:
        raise _unauthorized("user no longer exists or is deactivated")
    return Caller(user, session_id)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_current_user(caller: CurrentCaller) -> Principal:
    """The signed-in user."""
    return caller.user


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "your role may not do this")
        return user

    return check


HealthReader = Annotated[Principal, Depends(require_roles(*HEALTH_ROLES))]
AlertHandler = Annotated[Principal, Depends(require_roles(*access.STAFF_ROLES))]


async def get_scope(user: HealthReader, session: Session) -> Scope:
    """The health-data scope of the caller (installers never get here: 403)."""
    return await access.scope_of(session, user)


CallerScope = Annotated[Scope, Depends(get_scope)]


async def get_visible_residents(scope: CallerScope, session: Session) -> list[ResidentSummary]:
    """The residents the caller may see."""
    return await access.visible_residents(session, scope)


VisibleResidents = Annotated[list[ResidentSummary], Depends(get_visible_residents)]


async def visible_resident_ids(residents: VisibleResidents) -> frozenset[int]:
    """The ids of the residents the caller may see."""
    return frozenset(resident.id for resident in residents)


VisibleResidentIds = Annotated[frozenset[int], Depends(visible_resident_ids)]


async def record_reads(
    ctx: DashboardContext, user: Principal, resident_ids: Iterable[int], what: str
) -> None:
    """Write one audit entry per resident whose health data ``user`` reads (when audited)."""
    if ctx.audit is not None:
        for resident_id in resident_ids:
            await ctx.audit.record_read(user.id, resident_id, what)


async def record_list_read(
    ctx: DashboardContext, user: Principal, resident_ids: Iterable[int], what: str
) -> None:
    """One audit entry for a list that shows several residents' data (console, board, API)."""
    shown = sorted({r for r in resident_ids if r is not None})
    if ctx.audit is not None and shown:
        await ctx.audit.append(
            f"user:{user.id}", "read", "residents", {"what": what, "residents": shown}
        )


async def get_visible_resident(
    request: Request,
    resident_id: ResidentId,
    residents: VisibleResidents,
    user: HealthReader,
    ctx: Ctx,
) -> ResidentSummary:
    """The resident ``resident_id`` if the caller may see them (audited); 404 alike otherwise."""
    for resident in residents:
        if resident.id == resident_id:
            await record_reads(ctx, user, [resident.id], request.url.path)
            return resident
    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such resident")


VisibleResident = Annotated[ResidentSummary, Depends(get_visible_resident)]


async def get_visible_alert(alert_id: AlertId, scope: CallerScope, ctx: Ctx) -> AlertView:
    """The alert ``alert_id`` if the caller may see it; 404 alike when missing or not theirs."""
    try:
        alert = await ctx.alerts.get(alert_id)
    except AlertNotFoundError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert") from err
    if not scope.allows_alert(alert):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    return alert


VisibleAlert = Annotated[AlertView, Depends(get_visible_alert)]


async def get_zone(user: CurrentUser, session: Session) -> ZoneInfo:
    """The time zone the caller's screens show times in."""
    return ZoneInfo(await access.timezone_of(session, user))


Zone = Annotated[ZoneInfo, Depends(get_zone)]


@dataclass(frozen=True, slots=True)
class PageCaller:
    """A signed-in user on a web page, with what the page needs to render."""

    user: Principal
    csrf: str
    lang: str


async def get_page_caller(request: Request, ctx: Ctx, session: Session, lang: Lang) -> PageCaller:
    """The user behind the session cookie; LoginRequiredError (redirect to /login) otherwise."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise LoginRequiredError("no session")
    try:
        claims = tokens.verify(ctx.secret_key, tokens.SESSION_PURPOSE, cookie, ctx.auth_clock.now())
    except TokenError as err:
        raise LoginRequiredError(str(err)) from err
    user = await access.get_user(session, claims.user_id)
    if user is None:
        raise LoginRequiredError("user no longer exists or is deactivated")
    return PageCaller(user, tokens.csrf_for(ctx.secret_key, claims.session_id), lang)


PageUser = Annotated[PageCaller, Depends(get_page_caller)]


def require_page_roles(*roles: Role) -> Callable[[PageCaller], Awaitable[PageCaller]]:
    """A page dependency that lets only ``roles`` through (a 403 page otherwise)."""
    allowed = frozenset(roles)

    async def check(caller: PageUser) -> PageCaller:
        if caller.user.role not in allowed:
            raise PageForbiddenError(caller.user.role)
        return caller

    return check


ConsoleUser = Annotated[PageCaller, Depends(require_page_roles(*access.STAFF_ROLES))]
FamilyUser = Annotated[PageCaller, Depends(require_page_roles(Role.FAMILY))]


async def get_page_scope(caller: PageUser, session: Session) -> Scope:
    """The health-data scope of the signed-in page user."""
    return await access.scope_of(session, caller.user)


PageScope = Annotated[Scope, Depends(get_page_scope)]


async def get_page_resident(
    request: Request,
    resident_id: ResidentId,
    caller: ConsoleUser,
    scope: PageScope,
    session: Session,
    ctx: Ctx,
) -> ResidentSummary:
    """A resident of the staff member's scope (audited); a 404 page alike when missing or not theirs."""
    for resident in await access.visible_residents(session, scope):
        if resident.id == resident_id:
            await record_reads(ctx, caller.user, [resident.id], request.url.path)
            return resident
    raise PageNotFoundError(f"resident {resident_id} user={caller.user.id}")


PageResident = Annotated[ResidentSummary, Depends(get_page_resident)]


async def get_page_zone(caller: PageUser, session: Session) -> ZoneInfo:
    """The time zone of the page user's screens."""
    return ZoneInfo(await access.timezone_of(session, caller.user))


PageZone = Annotated[ZoneInfo, Depends(get_page_zone)]


async def check_form_csrf(caller: PageUser, csrf: Annotated[str, Form()]) -> PageCaller:
    """A page form post: its ``csrf`` field must match the session (403 otherwise)."""
    if not hmac.compare_digest(caller.csrf, csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return caller


FormCaller = Annotated[PageCaller, Depends(check_form_csrf)]


def require_form_roles(*roles: Role) -> Callable[[PageCaller], Awaitable[PageCaller]]:
    """A form-post dependency: CSRF-checked and only ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(caller: FormCaller) -> PageCaller:
        if caller.user.role not in allowed:
            raise PageForbiddenError(caller.user.role)
        return caller

    return check


FamilyForm = Annotated[PageCaller, Depends(require_form_roles(Role.FAMILY))]


async def get_family_form_alert(
    alert_id: AlertId, caller: FamilyForm, session: Session, ctx: Ctx
) -> AlertView:
    """An alert of a resident linked to the family member posting the form (404 page otherwise)."""
    scope = await access.scope_of(session, caller.user)
    try:
        alert = await ctx.alerts.get(alert_id)
    except AlertNotFoundError as err:
        raise PageNotFoundError(f"alert {alert_id}") from err
    if not scope.allows_alert(alert):
        raise PageNotFoundError(f"alert {alert_id} user={caller.user.id}")
    return alert


FamilyFormAlert = Annotated[AlertView, Depends(get_family_form_alert)]
FamilyMember = Annotated[Principal, Depends(require_roles(Role.FAMILY))]


InstallerUser = Annotated[PageCaller, Depends(require_page_roles(Role.INSTALLER, Role.ADMIN))]
InstallerForm = Annotated[PageCaller, Depends(require_form_roles(Role.INSTALLER, Role.ADMIN))]
ConsoleForm = Annotated[PageCaller, Depends(require_form_roles(*access.STAFF_ROLES))]
ReportUser = Annotated[PageCaller, Depends(require_page_roles(Role.ADMIN, Role.MANAGER))]
AdminUser = Annotated[PageCaller, Depends(require_page_roles(Role.ADMIN))]
AdminForm = Annotated[PageCaller, Depends(require_form_roles(Role.ADMIN))]


async def get_install_home(
    home_id: HomeId, caller: InstallerUser, session: Session
) -> homes.HomeSummary:
    """A home the installer may work in (their station's, or any for admins); a 404 page otherwise."""
    found = await homes.homes_for(session, caller.user, home_id)
    if not found:
        raise PageNotFoundError(f"home {home_id} user={caller.user.id}")
    return found[0]


InstallHome = Annotated[homes.HomeSummary, Depends(get_install_home)]
