"""Family members choose how they are told: channels (apprise URLs), quiet hours, muted kinds.

One ``alert_contacts`` row per (family member, linked resident), audience ``family``; the
escalation scheduler reads it. Quiet hours and muted kinds never hold back a high-priority alert
(the scheduler's rule), and the page says so.
"""

from __future__ import annotations

import importlib
import logging
import re
import warnings
from typing import Annotated

import apprise
from fastapi import APIRouter, Form, HTTPException, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from alerts.models import Contact
from dashboard import access
from dashboard.deps import MAX_ID, FamilyForm, FamilyUser, Session, Templates
from dashboard.pages import page_context
from registry.models import Home, Resident

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

# kinds a relative may mute; high-priority kinds (fall, call button, no sign of life) always go
MUTABLE_KINDS = ("pre_alert", "missed_meal", "inactivity", "not_up", "bathroom_stay", "night_exit")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_URLS = 5


def _valid_url(url: str) -> bool:
    # apprise's e-mail plugin imports imghdr (deprecated since 3.11): load it once, quietly
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
        importlib.import_module("imghdr")
        return bool(apprise.Apprise().add(url))


async def _mine(session: Session, user_id: int, resident_id: int) -> Contact | None:
    return await session.scalar(
        select(Contact).where(
            Contact.user_id == user_id,
            Contact.resident_id == resident_id,
            Contact.audience == "family",
        )
    )


@router.get("/family/notifications", response_class=HTMLResponse)
async def settings_page(
    request: Request, caller: FamilyUser, session: Session, templates: Templates
) -> Response:
    """The caller's channels and quiet hours, one card per linked relative."""
    scope = await access.scope_of(session, caller.user)
    people = await access.visible_residents(session, scope)
    cards = []
    for person in people:
        contact = await _mine(session, caller.user.id, person.id)
        cards.append(
            {
                "resident": person,
                "urls": (contact.urls if contact else ""),
                "quiet_start": contact.quiet_start if contact else "",
                "quiet_end": contact.quiet_end if contact else "",
                "muted": set((contact.muted_kinds if contact else "").split(",")) - {""},
            }
        )
    return templates.TemplateResponse(
        request,
        "family_notify.html",
        page_context(
            request, caller.lang, user=caller.user, csrf=caller.csrf, cards=cards,
            kinds=MUTABLE_KINDS, saved=request.query_params.get("saved"),
        ),
    )  # fmt: skip


@router.post("/family/notifications/{resident_id}")
async def save(
    caller: FamilyForm,
    session: Session,
    resident_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    urls: Annotated[str, Form(max_length=4_000)] = "",
    quiet_start: Annotated[str, Form(max_length=5)] = "",
    quiet_end: Annotated[str, Form(max_length=5)] = "",
    muted: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Save the caller's settings for one linked relative (404 for anyone else's relative)."""
    scope = await access.scope_of(session, caller.user)
    if resident_id not in scope.resident_ids:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such resident")
    lines = [u.strip() for u in urls.splitlines() if u.strip()]
    if len(lines) > MAX_URLS or not all(_valid_url(u) for u in lines):
        return Response(
            "each line must be one apprise URL (at most 5)", status.HTTP_400_BAD_REQUEST
        )
    if (quiet_start or quiet_end) and not (HHMM.match(quiet_start) and HHMM.match(quiet_end)):
        return Response("quiet hours are HH:MM to HH:MM", status.HTTP_400_BAD_REQUEST)
    kinds = sorted(set(muted or ()) & set(MUTABLE_KINDS))
    resident = await session.get(Resident, resident_id)
    home = await session.get(Home, resident.home_id) if resident else None
    if home is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such resident")
    contact = await _mine(session, caller.user.id, resident_id)
    if contact is None:
        contact = Contact(
            station_id=home.station_id, resident_id=resident_id, user_id=caller.user.id,
            audience="family", name=caller.user.display_name or caller.user.username,
        )  # fmt: skip
        session.add(contact)
    contact.urls = "\n".join(lines)
    contact.active = bool(lines)
    contact.quiet_start, contact.quiet_end = quiet_start, quiet_end
    contact.muted_kinds = ",".join(kinds)
    contact.locale = caller.lang
    await session.commit()
    log.info(
        "family_channels_saved user_id=%d resident_id=%d urls=%d",
        caller.user.id,
        resident_id,
        len(lines),
    )
    return RedirectResponse("/family/notifications?saved=1", status.HTTP_303_SEE_OTHER)
