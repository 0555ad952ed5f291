"""The JSON API under /api/v1 (OpenAPI at /docs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from fastapi.security import OAuth2PasswordRequestForm

from alerts.errors import AlertNotFoundError, AlertStateError
from dashboard import access, ratings, tokens
from dashboard.access import Scope
from dashboard.deps import (
    AlertHandler,
    CallerScope,
    Ctx,
    CurrentUser,
    FamilyMember,
    HealthReader,
    Lang,
    Session,
    Templates,
    VisibleAlert,
    VisibleResident,
    VisibleResidents,
    Zone,
    record_list_read,
)
from dashboard.detectors import banner_lines
from dashboard.errors import LoginLockedError
from dashboard.login import Authenticator
from dashboard.rows import row_renderer
from dashboard.schemas import (
    AlertOut,
    MeOut,
    RatingIn,
    RatingOut,
    ResidentOut,
    ResolveIn,
    TokenOut,
)
from dashboard.stream import SSE_MEDIA_TYPE, alert_events
from registry.models import Role

API_TOKEN_TTL = timedelta(hours=1)  # short: API clients can sign in again
ALERT_STATES = ("open", "acknowledged", "resolved")

router = APIRouter(prefix="/api/v1")


def client_address(request: Request) -> str:
    """The peer address of a request (no proxy headers are trusted here)."""
    return request.client.host if request.client else "unknown"


def get_authenticator(request: Request) -> Authenticator:
    """The app's authenticator (holds the login rate limit)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


Auth = Annotated[Authenticator, Depends(get_authenticator)]


@router.post("/auth/token", tags=["auth"])
async def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    ctx: Ctx,
    session: Session,
    auth: Auth,
) -> TokenOut:
    """OAuth2 password flow: a bearer token for the API."""
    now = ctx.auth_clock.now()
    try:
        user = await auth.authenticate(
            session, form.username, form.password, client_address(request), now
        )
    except LoginLockedError as err:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins",
            headers={"Retry-After": str(err.retry_after_s)},
        ) from err
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = tokens.issue(ctx.secret_key, tokens.API_PURPOSE, user.id, now, API_TOKEN_TTL)
    return TokenOut(access_token=token, expires_in=int(API_TOKEN_TTL.total_seconds()))


@router.get("/me", tags=["auth"])
async def me(user: CurrentUser) -> MeOut:
    """The signed-in user."""
    return MeOut.of(user)


@router.get("/alerts", tags=["alerts"])
async def list_alerts(
    scope: CallerScope,
    user: HealthReader,
    ctx: Ctx,
    state: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[AlertOut]:
    """The alerts the caller may see: unresolved high priority first, then newest."""
    if state and not set(state) <= set(ALERT_STATES):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"state must be in {ALERT_STATES}"
        )
    if not scope.everything and not scope.station_ids and not scope.resident_ids:
        return []
    views = await ctx.alerts.list(
        station_ids=None if scope.everything else scope.station_ids or None,
        resident_ids=None if scope.everything else scope.resident_ids or None,
        states=state or None,
        limit=limit,
    )
    shown = [view for view in views if scope.allows_alert(view)]
    await record_list_read(
        ctx, user, [v.resident_id for v in shown if v.resident_id], "GET /api/v1/alerts"
    )
    return [AlertOut.of(view) for view in shown]


@router.get("/alerts/stream", tags=["alerts"], response_class=StreamingResponse)
async def stream_alerts(
    request: Request,
    user: HealthReader,
    ctx: Ctx,
    lang: Lang,
    zone: Zone,
    templates: Templates,
) -> StreamingResponse:
    """Server-sent events: every change to an alert the caller may see, with a heartbeat."""
    render = row_renderer(templates, lang, zone, ctx.clock.now)

    async def current_scope() -> Scope | None:
        # Read afresh (own session: the request's is gone while the body streams).
        async with ctx.sessions() as session:
            now = await access.get_user(session, user.id)
            if now is None or now.role not in access.HEALTH_ROLES:
                return None
            return await access.scope_of(session, now)

    def banner() -> list[str]:
        return banner_lines(lang, ctx.detector_problems, zone)

    staff = user.role != Role.FAMILY.value  # the banner asks the station to act, not the family
    return StreamingResponse(
        alert_events(request, ctx.feed, current_scope, render, banner if staff else None),
        media_type=SSE_MEDIA_TYPE,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/alerts/{alert_id}", tags=["alerts"])
async def get_alert(alert: VisibleAlert) -> AlertOut:
    """One alert the caller may see (404 otherwise)."""
    return AlertOut.of(alert)


@router.post("/alerts/{alert_id}/ack", tags=["alerts"])
async def acknowledge_alert(user: AlertHandler, alert: VisibleAlert, ctx: Ctx) -> AlertOut:
    """Acknowledge an alert (idempotent); staff, managers and admins only."""
    try:
        view = await ctx.alerts.acknowledge(alert.id, user.id)
    except AlertNotFoundError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert") from err
    except AlertStateError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
    return AlertOut.of(view)


@router.post("/alerts/{alert_id}/resolve", tags=["alerts"])
async def resolve_alert(
    user: AlertHandler, alert: VisibleAlert, body: ResolveIn, ctx: Ctx
) -> AlertOut:
    """Resolve an alert with an outcome and a note; staff, managers and admins only."""
    try:
        view = await ctx.alerts.resolve(alert.id, user.id, body.outcome, body.note)
    except AlertNotFoundError as err:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert") from err
    except AlertStateError as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from err
    return AlertOut.of(view)


@router.put(
    "/alerts/{alert_id}/rating",
    tags=["alerts"],
    responses={409: {"description": "not handled yet"}},
)
async def rate_alert(
    user: FamilyMember, alert: VisibleAlert, body: RatingIn, ctx: Ctx, session: Session
) -> RatingOut:
    """Rate how a handled alert of a linked resident was dealt with (好差评); family only."""
    if alert.state != "resolved":
        raise HTTPException(status.HTTP_409_CONFLICT, "only handled alerts can be rated")
    view = await ratings.rate(
        session, alert.id, user.id, body.rating, body.comment, ctx.clock.now()
    )
    await session.commit()
    return RatingOut.of(view)


@router.get("/residents", tags=["residents"])
async def list_residents(residents: VisibleResidents) -> list[ResidentOut]:
    """The residents the caller may see."""
    return [ResidentOut.of(resident) for resident in residents]


@router.get("/residents/{resident_id}", tags=["residents"])
async def get_resident(resident: VisibleResident) -> ResidentOut:
    """One resident the caller may see (404 otherwise)."""
    return ResidentOut.of(resident)
