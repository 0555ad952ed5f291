"""The care station's residents board and resident page."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alerts.routine.baseline import STANDARD, WATCH_LEVELS, hour_of
from alerts.views import AlertView
from dashboard import access, activity, residents
from dashboard.access import ResidentSummary
from dashboard.context import DashboardContext
from dashboard.deps import (
    ConsoleForm,
    ConsoleUser,
    Ctx,
    PageResident,
    PageScope,
    PageZone,
    Session,
    Templates,
    record_list_read,
)
from dashboard.errors import PageNotFoundError
from dashboard.pages import page_context
from dashboard.residents import STATUSES, BoardRow
from dashboard.rows import alert_row, local_time
from devices.catalog import DEVICE_KINDS
from registry.models import Resident

log = logging.getLogger(__name__)

RESIDENT_HISTORY_LIMIT = 50  # alerts on a resident page
NOTES_MAX = 4000  # care notes, characters
BOARD_ALERT_LIMIT = 500  # unresolved alerts of one station: far more than a station ever has open

router = APIRouter(include_in_schema=False)


async def board_rows(
    ctx: DashboardContext, session: Session, people: list[ResidentSummary], now: datetime
) -> list[BoardRow]:
    """Each resident with their status and last activity, most urgent first."""
    if not people:
        return []
    kits = await residents.home_kits(session, {p.home_id for p in people})
    alerts: dict[int, list[AlertView]] = {}
    for view in await ctx.alerts.list(
        resident_ids={p.id for p in people}, states=residents.UNRESOLVED, limit=BOARD_ALERT_LIMIT
    ):
        if view.resident_id is not None:
            alerts.setdefault(view.resident_id, []).append(view)
    last: dict[str, datetime] = {}
    gateways = sorted({g for kit in kits.values() for g in kit.gateways})
    if ctx.store is not None and gateways:
        last = await ctx.store.last_activity(gateways, now)
    rows = []
    for person in people:
        moments = [last[g] for g in kits[person.home_id].gateways if g in last]
        latest = max(moments, default=None)
        mine = alerts.get(person.id, [])
        status = residents.classify(mine, latest, now)
        rows.append(BoardRow(person, status, latest, len(mine)))
    return sorted(rows, key=lambda r: (STATUSES.index(r.status), r.resident.name))


def care_levels(people: list[ResidentSummary]) -> list[str]:
    """The care levels in use, sorted."""
    return sorted({p.care_level for p in people if p.care_level})


@router.get("/residents", response_class=HTMLResponse)
async def board(
    request: Request,
    caller: ConsoleUser,
    scope: PageScope,
    zone: PageZone,
    ctx: Ctx,
    session: Session,
    templates: Templates,
    flag: Annotated[list[str] | None, Query()] = None,
    care_level: str = "",
) -> Response:
    """Every resident of the station with a traffic light, filtered by risk flags and care level."""
    people = await access.visible_residents(session, scope)
    flags = [f for f in flag or [] if f in residents.RISK_FLAGS]
    chosen = [p for p in people if residents.matches(p, flags, care_level)]
    rows = await board_rows(ctx, session, chosen, ctx.clock.now())
    await record_list_read(ctx, caller.user, [p.id for p in chosen], "/residents")
    return templates.TemplateResponse(
        request,
        "residents.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            rows=[{"row": r, "last_local": local_time(r.last_activity, zone)} for r in rows],
            flags=residents.RISK_FLAGS,
            chosen_flags=flags,
            care_levels=care_levels(people),
            care_level=care_level,
            counts={s: sum(1 for r in rows if r.status == s) for s in STATUSES},
        ),
    )


def _day(text: str | None, today: date) -> date:
    try:
        return date.fromisoformat(text) if text else today
    except ValueError:
        return today


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
async def resident_page(
    request: Request,
    caller: ConsoleUser,
    resident: PageResident,
    zone: PageZone,
    ctx: Ctx,
    session: Session,
    templates: Templates,
    day: str | None = None,
) -> Response:
    """A resident's day, trends, alerts, devices, contacts, notes and risk flags."""
    now = ctx.clock.now()
    today = now.astimezone(zone).date()
    shown = min(_day(day, today), today)
    start, end = activity.day_bounds(datetime.combine(shown, datetime.min.time(), zone), zone)
    kit = (await residents.home_kits(session, {resident.home_id}))[resident.home_id]
    lanes: list[activity.Lane] = []
    charts: dict[str, Any] = {}
    if ctx.store is not None:
        lanes = await activity.timeline(ctx.store, kit, start, end, now)
        charts = await activity.trends(ctx.store, kit, now)
    views = await ctx.alerts.list(resident_ids={resident.id}, limit=RESIDENT_HISTORY_LIMIT)
    rows = [alert_row(view, caller.lang, zone) for view in views]
    mine = [v for v in views if v.state in residents.UNRESOLVED]
    last = None
    if ctx.store is not None and kit.gateways:
        last = max((await ctx.store.last_activity(kit.gateways, now)).values(), default=None)
    devices = [
        {
            "health": health,
            "label": _kind_label(health.kind, caller.lang),
            "seen_local": local_time(health.last_seen, zone),
        }
        for health in await activity.device_health(ctx.store, kit, now)
    ]
    person = await session.get(Resident, resident.id)  # notes, usual get-up time
    if person is None:  # PageResident found it a moment ago
        raise PageNotFoundError(f"resident {resident.id}")
    age = None if resident.birth_year is None else today.year - resident.birth_year
    return templates.TemplateResponse(
        request,
        "resident.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            resident=resident,
            age=age,
            status=residents.classify(mine, last, now),
            last_local=local_time(last, zone),
            has_store=ctx.store is not None,
            lanes=lanes,
            day=shown.isoformat(),
            prev_day=(shown - timedelta(days=1)).isoformat(),
            next_day=(shown + timedelta(days=1)).isoformat() if shown < today else "",
            charts=charts,
            zone=zone.key,
            rows=rows,
            devices=devices,
            contacts=await residents.contacts_of(session, resident.id),
            notes=person.notes,
            usual_getup=person.usual_getup,
            watch=person.watch,
            watch_levels=list(WATCH_LEVELS),
            risk_flags=residents.RISK_FLAGS,
            notes_max=NOTES_MAX,
            routine=await residents.routine_of(
                session, resident.id, kit, caller.lang, zone, now, person.watch, person.usual_getup
            ),
        ),
    )


def _kind_label(kind: str, lang: str) -> str:
    row = DEVICE_KINDS.get(kind)
    if row is None:
        return kind
    return row.label_zh if lang == "zh-CN" else row.label_en


@router.post("/residents/{resident_id}/profile")
async def edit_profile(
    caller: ConsoleForm,
    resident: PageResident,
    ctx: Ctx,
    session: Session,
    flags: Annotated[list[str] | None, Form()] = None,
    care_level: Annotated[str, Form(max_length=32)] = "",
    notes: Annotated[str, Form(max_length=NOTES_MAX)] = "",
    usual_getup: Annotated[str, Form(max_length=5)] = "",
    watch: Annotated[str, Form(max_length=16)] = STANDARD,
) -> Response:
    """Staff set a resident's risk flags (失智易走失 turns on the night-exit alert), care level,
    care notes, usual get-up time and how closely the routine detectors watch; the routine
    monitor reads them at its next check."""
    chosen = [flag for flag in residents.RISK_FLAGS if flag in set(flags or ())]
    unknown = sorted(set(flags or ()) - set(residents.RISK_FLAGS))
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown flag {unknown[0]!r}")
    getup = usual_getup.strip()
    try:
        if getup:
            hour_of(getup)
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from err
    if watch not in WATCH_LEVELS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"watch must be one of {', '.join(WATCH_LEVELS)}, not {watch!r}",
        )
    row = await session.get(Resident, resident.id)
    if row is None:  # PageResident found it a moment ago
        raise PageNotFoundError(f"resident {resident.id}")
    row.risk_flags, row.care_level, row.notes = ",".join(chosen), care_level.strip(), notes.strip()
    row.usual_getup, row.watch = getup, watch
    await session.commit()
    # after the commit: an entry never claims a change that was rolled back
    data = {"flags": chosen, "care_level": row.care_level, "notes_chars": len(row.notes),
            "usual_getup": getup, "watch": watch}  # fmt: skip
    if ctx.audit is not None:
        await ctx.audit.append(f"user:{caller.user.id}", "resident_profile_changed",
                               f"resident:{resident.id}", data)  # fmt: skip
    log.info("resident.profile_changed resident=%d data=%s by=%s", resident.id, data,
             caller.user.username)  # fmt: skip
    return RedirectResponse(f"/residents/{resident.id}#profile", status.HTTP_303_SEE_OTHER)
