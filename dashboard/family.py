"""The family portal: linked residents only, today's status in plain words, history, 好差评."""

from __future__ import annotations

import logging
import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alerts.views import AlertView
from dashboard import access, activity, i18n, ratings, residents
from dashboard.activity import Status
from dashboard.deps import (
    Ctx,
    FamilyForm,
    FamilyFormAlert,
    FamilyUser,
    PageZone,
    Session,
    Templates,
    record_reads,
)
from dashboard.pages import page_context
from dashboard.rows import alert_row

log = logging.getLogger(__name__)

FAMILY_HISTORY_LIMIT = 50  # a screenful of history for a relative

router = APIRouter(include_in_schema=False)


def words(status: Status, lang: str) -> str:
    """Today's status as one sentence in ``lang`` (room keys become place names)."""
    said = []
    for key, params in status.parts:
        filled = dict(params)
        if "place" in filled:
            filled["place"] = i18n.translate(lang, f"place.{filled['place']}")
        said.append(i18n.translate(lang, key, **filled))
    return i18n.translate(lang, "family.status.sep").join(said)


def handling(alert: AlertView, lang: str) -> str:
    """How the station handled an alert, in a few words."""
    if alert.acked_at is None and alert.resolved_at is None:
        return i18n.translate(lang, "family.open")
    answered = alert.acked_at or alert.resolved_at
    assert answered is not None  # for the type checker: one of them is set here
    minutes = max(1, math.ceil((answered - alert.raised_at).total_seconds() / 60))
    return i18n.translate(lang, "family.answered", minutes=minutes)


@router.get("/family", response_class=HTMLResponse)
async def family(
    request: Request,
    caller: FamilyUser,
    ctx: Ctx,
    session: Session,
    zone: PageZone,
    templates: Templates,
) -> Response:
    """A family member's relatives: today in plain words and their alert history, to rate."""
    scope = await access.scope_of(session, caller.user)
    people = await access.visible_residents(session, scope)
    await record_reads(ctx, caller.user, [p.id for p in people], request.url.path)
    now = ctx.clock.now()
    kits = await residents.home_kits(session, {p.home_id for p in people})
    today: dict[int, str] = {}
    for person in people:
        if ctx.store is not None:
            said = await activity.today_status(ctx.store, kits[person.home_id], now, zone)
            today[person.id] = words(said, caller.lang)
    views: list[AlertView] = []
    if scope.resident_ids:
        views = await ctx.alerts.list(resident_ids=scope.resident_ids, limit=FAMILY_HISTORY_LIMIT)
        views = [view for view in views if scope.allows_alert(view)]
    mine = await ratings.ratings_by(session, caller.user.id, [v.id for v in views])
    rows: list[dict[str, Any]] = []
    for view in views:
        row = alert_row(view, caller.lang, zone)
        row.update(handling=handling(view, caller.lang), rating=mine.get(view.id))
        rows.append(row)
    return templates.TemplateResponse(
        request,
        "family.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            residents=people,
            today=today,
            rows=rows,
            ratings=[r.value for r in ratings.Rating],
            comment_max=ratings.COMMENT_MAX,
        ),
    )


@router.post("/family/alerts/{alert_id}/rating")
async def rate_alert(
    caller: FamilyForm,
    alert: FamilyFormAlert,
    ctx: Ctx,
    session: Session,
    rating: Annotated[ratings.Rating, Form()],
    comment: Annotated[str, Form(max_length=ratings.COMMENT_MAX)] = "",
) -> Response:
    """Rate how a handled alert was dealt with (好差评); back to the family page."""
    if alert.state != "resolved":
        return Response("only handled alerts can be rated", status.HTTP_409_CONFLICT)
    await ratings.rate(session, alert.id, caller.user.id, rating, comment, ctx.clock.now())
    await session.commit()
    log.info("alert_rated alert_id=%d user_id=%d rating=%s", alert.id, caller.user.id, rating)
    return RedirectResponse(f"/family#alert-{alert.id}", status.HTTP_303_SEE_OTHER)
