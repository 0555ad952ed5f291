"""Server-rendered pages: login, logout, language switch, the care console, the welcome page."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dashboard import access, i18n, tokens
from dashboard.access import STAFF_ROLES
from dashboard.api import Auth, client_address
from dashboard.deps import (
    SESSION_COOKIE,
    ConsoleUser,
    Ctx,
    Lang,
    PageUser,
    Session,
    Templates,
    record_list_read,
)
from dashboard.detectors import banner_lines
from dashboard.errors import LoginLockedError, TokenError
from dashboard.rows import OUTCOMES, row_renderer
from registry.models import Role

log = logging.getLogger(__name__)

SESSION_TTL = timedelta(hours=12)  # one care-station shift
LOGIN_NONCE_COOKIE = "anxin_login"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
CONSOLE_STATES = ("open", "acknowledged")

router = APIRouter(include_in_schema=False)


def page_context(request: Request, lang: str, **extra: Any) -> dict[str, Any]:
    """What every template needs: the request, the language and its translator."""
    return {
        "request": request,
        "lang": lang,
        "t": partial(i18n.translate, lang),
        "other_lang": "en" if lang == "zh-CN" else "zh-CN",
        **extra,
    }


def _local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _home_of(role: Role) -> str:
    if role in STAFF_ROLES:
        return "/console"
    if role is Role.FAMILY:
        return "/family"
    if role is Role.INSTALLER:
        return "/install"
    return "/welcome"


@router.get("/")
async def root(caller: PageUser) -> RedirectResponse:
    """Send each role to its page."""
    return RedirectResponse(_home_of(caller.user.role), status.HTTP_303_SEE_OTHER)


@router.get("/lang/{code}")
async def switch_language(code: str, ctx: Ctx, next: str | None = None) -> RedirectResponse:
    """Remember the chosen language in a cookie and go back."""
    response = RedirectResponse(_local_path(next), status.HTTP_303_SEE_OTHER)
    chosen = i18n.normalise(code)
    if chosen is not None:
        response.set_cookie(
            i18n.LANG_COOKIE,
            chosen,
            max_age=LANG_COOKIE_MAX_AGE,
            samesite="lax",
            secure=ctx.secure_cookies,
        )
    return response


def _login_page(
    request: Request,
    templates: Templates,
    ctx: Ctx,
    lang: str,
    error: str = "",
    username: str = "",
    status_code: int = status.HTTP_200_OK,
) -> Response:
    nonce = secrets.token_urlsafe(16)
    response = templates.TemplateResponse(
        request,
        "login.html",
        page_context(
            request,
            lang,
            csrf=tokens.csrf_for(ctx.secret_key, f"login:{nonce}"),
            error=error,
            username=username,
            next=_local_path(request.query_params.get("next"), ""),
        ),
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_NONCE_COOKIE,
        nonce,
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, templates: Templates, ctx: Ctx, lang: Lang) -> Response:
    """The sign-in form (with a CSRF token bound to a cookie nonce)."""
    return _login_page(request, templates, ctx, lang)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    templates: Templates,
    ctx: Ctx,
    lang: Lang,
    session: Session,
    auth: Auth,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the credentials and set the session cookie (HttpOnly, SameSite=Lax)."""
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE, "")
    if not nonce or not tokens.csrf_ok(ctx.secret_key, f"login:{nonce}", csrf):
        return _login_page(
            request, templates, ctx, lang, i18n.translate(lang, "login.csrf"), username, 400
        )
    now = ctx.auth_clock.now()
    try:
        user = await auth.authenticate(session, username, password, client_address(request), now)
    except LoginLockedError as err:
        minutes = max(1, -(-err.retry_after_s // 60))
        message = i18n.translate(lang, "login.locked", minutes=minutes)
        return _login_page(request, templates, ctx, lang, message, username, 429)
    if user is None:
        message = i18n.translate(lang, "login.failed")
        return _login_page(request, templates, ctx, lang, message, username, 401)
    cookie = tokens.issue(ctx.secret_key, tokens.SESSION_PURPOSE, user.id, now, SESSION_TTL)
    response = RedirectResponse(_local_path(next, _home_of(user.role)), status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookies,
    )
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, ctx: Ctx, csrf: Annotated[str, Form()]) -> RedirectResponse:
    """Forget the session cookie (CSRF-checked so another site cannot sign people out)."""
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    try:
        claims = tokens.verify(ctx.secret_key, tokens.SESSION_PURPOSE, cookie, ctx.auth_clock.now())
    except TokenError:
        response.delete_cookie(SESSION_COOKIE)
        return response
    if tokens.csrf_ok(ctx.secret_key, claims.session_id, csrf):
        response.delete_cookie(SESSION_COOKIE)
        log.info("logout user_id=%d", claims.user_id)
    return response


@router.get("/console", response_class=HTMLResponse)
async def console(
    request: Request, caller: ConsoleUser, ctx: Ctx, session: Session, templates: Templates
) -> Response:
    """The live care-station console: open and acknowledged alerts, high priority first."""
    scope = await access.scope_of(session, caller.user)
    zone = ZoneInfo(await access.timezone_of(session, caller.user))
    rows: list[dict[str, Any]] = []
    if scope.everything or scope.station_ids:
        views = await ctx.alerts.list(
            station_ids=None if scope.everything else scope.station_ids, states=CONSOLE_STATES
        )
        render = row_renderer(templates, caller.lang, zone, ctx.clock.now)
        shown = [view for view in views if scope.allows_alert(view)]
        await record_list_read(
            ctx, caller.user, [v.resident_id for v in shown if v.resident_id], "/console"
        )
        rows = [render(view) for view in shown]
    strings = {
        key: i18n.translate(caller.lang, key)
        for key in ("console.live", "console.offline", "action.failed", "console.escalates")
    }
    strings.update({f"state.{s}": i18n.label(caller.lang, "state", s) for s in CONSOLE_STATES})
    return templates.TemplateResponse(
        request,
        "console.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            rows=rows,
            outcomes=OUTCOMES,
            strings=strings,
            detector_lines=banner_lines(caller.lang, ctx.detector_problems, zone),
        ),
    )


@router.get("/welcome", response_class=HTMLResponse)
async def welcome(request: Request, caller: PageUser, templates: Templates) -> Response:
    """The landing page of roles that have no page of their own yet (installers)."""
    role = i18n.label(caller.lang, "role", caller.user.role.value)
    return templates.TemplateResponse(
        request,
        "message.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            title=i18n.translate(caller.lang, "home.title"),
            text=i18n.translate(caller.lang, "home.no_page", role=role),
        ),
    )
