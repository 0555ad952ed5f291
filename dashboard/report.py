"""The weekly station report page (/reports/weekly?week=YYYY-Www): printable, PDF via the browser."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from alerts.models import TestAlarmRow
from dashboard import access, i18n, ratings, residents, weekly
from dashboard.deps import Ctx, PageScope, PageZone, ReportUser, Session, Templates
from dashboard.pages import page_context
from dashboard.rows import local_time
from registry.models import Gateway, Home, Station

REPORT_ALERT_LIMIT = 5000  # a station's alerts of a week and the weeks before: ample
router = APIRouter(include_in_schema=False)


def _duration(lang: str, seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return i18n.translate(lang, "report.seconds", value=round(seconds))
    return i18n.translate(lang, "report.minutes", value=round(seconds / 60, 1))


@router.get("/reports/weekly", response_class=HTMLResponse)
async def weekly_report(
    request: Request,
    caller: ReportUser,
    scope: PageScope,
    zone: PageZone,
    ctx: Ctx,
    session: Session,
    templates: Templates,
    week: str | None = None,
) -> Response:
    """A week of the station: alerts, response times, test alarms, residents whose routine changes."""
    now = ctx.clock.now()
    monday = weekly.parse_week(week, now.astimezone(zone).date())
    start, end = weekly.week_bounds(monday, zone)
    stations = None if scope.everything else scope.station_ids
    views = await ctx.alerts.list(station_ids=stations, limit=REPORT_ALERT_LIMIT)
    views = [v for v in views if scope.allows_alert(v)]
    figures = weekly.figures(views, start, end)
    in_week = [v for v in views if start <= v.raised_at < end]
    rated = await ratings.rating_counts(session, [v.id for v in in_week])

    tests_query = (
        select(TestAlarmRow, Home.label)
        .join(Gateway, Gateway.id == TestAlarmRow.gateway_id)
        .join(Home, Home.id == Gateway.home_id)
        .where(TestAlarmRow.sent_at >= start, TestAlarmRow.sent_at < end)
    )
    if stations is not None:
        tests_query = tests_query.where(Home.station_id.in_(stations))
    tests = (await session.execute(tests_query.order_by(TestAlarmRow.sent_at))).all()
    test_counts = Counter(row.result for row, _ in tests)

    people = await access.visible_residents(session, scope)
    routine_alerts = Counter(
        v.resident_id for v in in_week if v.kind in weekly.ROUTINE_KINDS and v.resident_id
    )
    changes: list[dict[str, Any]] = []
    if ctx.store is not None and people:
        kits = await residents.home_kits(session, {p.home_id for p in people})
        first = start - timedelta(weeks=weekly.BASELINE_WEEKS)
        for person in people:
            counts = await weekly.weekly_activity(
                ctx.store, kits[person.home_id], first, weekly.BASELINE_WEEKS + 1
            )
            found = weekly.routine_change(person.id, counts, routine_alerts[person.id])
            if found is not None:
                changes.append({"resident": person, "change": found})
    names_query = select(Station.name).order_by(Station.name)
    if stations is not None:
        names_query = names_query.where(Station.id.in_(stations))
    station_names = list(await session.scalars(names_query))
    lang = caller.lang
    return templates.TemplateResponse(
        request,
        "report.html",
        page_context(
            request,
            lang,
            user=caller.user,
            csrf=caller.csrf,
            week=weekly.iso_week(monday),
            prev_week=weekly.iso_week(monday - timedelta(days=7)),
            next_week=weekly.iso_week(monday + timedelta(days=7)),
            start=monday.isoformat(),
            end=(monday + timedelta(days=6)).isoformat(),
            stations=station_names,
            f=figures,
            ack_median=_duration(lang, figures.ack_median_s),
            ack_p90=_duration(lang, figures.ack_p90_s),
            resolve_median=_duration(lang, figures.resolve_median_s),
            resolve_p90=_duration(lang, figures.resolve_p90_s),
            by_kind=[(i18n.label(lang, "kind", k), n) for k, n in figures.by_kind],
            by_priority=[(i18n.label(lang, "priority", p), n) for p, n in figures.by_priority],
            rated=rated,
            tests=[
                {
                    "home": label,
                    "gateway": row.gateway_id,
                    "sent": local_time(row.sent_at, zone),
                    "result": row.result,
                }
                for row, label in tests
            ],
            test_counts=test_counts,
            changes=changes,
            generated=local_time(now, zone),
        ),
    )
