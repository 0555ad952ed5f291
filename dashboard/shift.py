"""Shift handover (交接班): open and acknowledged alerts, residents in attention, notes of the shift."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from dashboard import access, residents
from dashboard.board import board_rows
from dashboard.deps import ConsoleForm, ConsoleUser, Ctx, PageScope, PageZone, Session, Templates
from dashboard.pages import CONSOLE_STATES, page_context
from dashboard.rows import alert_row, local_time
from registry.db import Base, UTCDateTime

log = logging.getLogger(__name__)

SHIFT = timedelta(hours=12)  # a care-station shift: what the next shift needs to hear about
NOTE_MAX = 2000
HANDOVER_ALERT_LIMIT = 500

router = APIRouter(include_in_schema=False)


class ShiftNote(Base):
    """A note written for the next shift of a station."""

    __tablename__ = "shift_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200), default="")


async def notes_since(
    session: AsyncSession, station_ids: frozenset[int] | None, since: datetime
) -> list[ShiftNote]:
    """Notes written since ``since`` for these stations (None: every station), newest first."""
    query = select(ShiftNote).where(ShiftNote.written_at >= since)
    if station_ids is not None:
        query = query.where(ShiftNote.station_id.in_(station_ids))
    return list(await session.scalars(query.order_by(ShiftNote.written_at.desc())))


@router.get("/handover", response_class=HTMLResponse)
async def handover(
    request: Request,
    caller: ConsoleUser,
    scope: PageScope,
    zone: PageZone,
    ctx: Ctx,
    session: Session,
    templates: Templates,
) -> Response:
    """What the next shift must know: alerts still open, residents to watch, the shift's notes."""
    now = ctx.clock.now()
    stations = None if scope.everything else scope.station_ids
    views = []
    if scope.everything or scope.station_ids:
        views = await ctx.alerts.list(station_ids=stations, limit=HANDOVER_ALERT_LIMIT)
    views = [v for v in views if scope.allows_alert(v)]
    open_rows = [alert_row(v, caller.lang, zone) for v in views if v.state in CONSOLE_STATES]
    handled = [
        alert_row(v, caller.lang, zone)
        for v in views
        if v.resolved_at is not None and now - v.resolved_at <= SHIFT
    ]
    people = await access.visible_residents(session, scope)
    watch = [r for r in await board_rows(ctx, session, people, now) if r.status != residents.FINE]
    notes: list[dict[str, Any]] = [
        {"author": n.author, "at": local_time(n.written_at, zone), "text": n.text}
        for n in await notes_since(session, stations, now - SHIFT)
    ]
    return templates.TemplateResponse(
        request,
        "handover.html",
        page_context(
            request,
            caller.lang,
            user=caller.user,
            csrf=caller.csrf,
            open_rows=open_rows,
            handled=handled,
            watch=[{"row": r, "last_local": local_time(r.last_activity, zone)} for r in watch],
            notes=notes,
            hours=int(SHIFT.total_seconds() // 3600),
            now_local=local_time(now, zone),
            note_max=NOTE_MAX,
        ),
    )


@router.post("/handover/notes")
async def add_note(
    caller: ConsoleForm,
    ctx: Ctx,
    session: Session,
    text: Annotated[str, Form(min_length=1, max_length=NOTE_MAX)],
) -> Response:
    """Write a note for the next shift of the caller's station."""
    session.add(
        ShiftNote(
            station_id=caller.user.station_id,
            user_id=caller.user.id,
            written_at=ctx.clock.now(),
            text=text.strip(),
            author=caller.user.display_name,
        )
    )
    await session.commit()
    log.info("handover.note_added user_id=%d station_id=%s", caller.user.id, caller.user.station_id)
    return RedirectResponse("/handover#notes", status.HTTP_303_SEE_OTHER)
