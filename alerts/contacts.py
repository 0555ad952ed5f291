"""Who is told: contacts per station (and per resident for family), policies, quiet hours.

Functions take an ``AsyncSession`` and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.escalation import DEFAULT_POLICY, Policy, parse_offsets
from alerts.lifecycle import Priority
from alerts.models import Contact, EscalationPolicyRow
from registry.models import FamilyLink, User

AUDIENCES = ("staff", "manager", "family", "hotline", "installer")
PER_RESIDENT = ("family",)  # these audiences are told only about their own resident


@dataclass(frozen=True, slots=True)
class ContactSpec:
    """A contact to add: audience, order, language, apprise URLs (fallback order), preferences."""

    audience: str
    urls: tuple[str, ...]
    name: str = ""
    locale: str = "zh-CN"
    position: int = 0
    resident_id: int | None = None
    user_id: int | None = None
    quiet_start: str = ""  # "22:00" station time; quiet hours hold back all but high priority
    quiet_end: str = ""
    muted_kinds: tuple[str, ...] = ()  # alert kinds this person does not want (high still goes)


async def add_contact(session: AsyncSession, station_id: int, spec: ContactSpec) -> Contact:
    """Add a contact to a station; ValueError for an unknown audience or no URL."""
    if spec.audience not in AUDIENCES:
        raise ValueError(f"unknown audience {spec.audience!r}")
    if not spec.urls:
        raise ValueError("a contact needs at least one apprise URL")
    contact = Contact(
        station_id=station_id,
        resident_id=spec.resident_id,
        user_id=spec.user_id,
        audience=spec.audience,
        position=spec.position,
        name=spec.name,
        locale=spec.locale,
        urls="\n".join(spec.urls),
        quiet_start=spec.quiet_start,
        quiet_end=spec.quiet_end,
        muted_kinds=",".join(spec.muted_kinds),
        active=True,
    )
    session.add(contact)
    await session.flush()
    return contact


async def set_policy(session: AsyncSession, station_id: int, policy: Policy) -> None:
    """Store a station's escalation policy (replacing the one it had)."""
    row = await session.get(EscalationPolicyRow, station_id)
    if row is None:
        row = EscalationPolicyRow(station_id=station_id)
        session.add(row)
    row.high_offsets_s = ",".join(f"{v:g}" for v in policy.high_offsets_s)
    row.medium_offsets_s = ",".join(f"{v:g}" for v in policy.medium_offsets_s)
    row.low_offsets_s = ",".join(f"{v:g}" for v in policy.low_offsets_s)
    row.reminder_s = int(policy.reminder_s)
    row.max_reminders = policy.max_reminders
    row.technical_audiences = ",".join(policy.technical_audiences)
    await session.flush()


async def load_policy(session: AsyncSession, station_id: int | None) -> Policy:
    """A station's policy, or the default one."""
    row = None if station_id is None else await session.get(EscalationPolicyRow, station_id)
    if row is None:
        return DEFAULT_POLICY
    return Policy(
        high_offsets_s=parse_offsets(row.high_offsets_s),
        medium_offsets_s=parse_offsets(row.medium_offsets_s),
        low_offsets_s=parse_offsets(row.low_offsets_s),
        reminder_s=float(row.reminder_s),
        max_reminders=row.max_reminders,
        technical_audiences=tuple(a for a in row.technical_audiences.split(",") if a),
    )


async def recipients(
    session: AsyncSession,
    station_id: int | None,
    resident_id: int | None,
    audiences: Collection[str],
) -> Sequence[Contact]:
    """Active contacts of these audiences for an alert, in tier order then position.

    A contact that is a user's is told only while the user is active, and a family member's only
    while they are still linked to the resident: deactivating a person or removing a link in the
    admin pages stops their messages at once, with no contact rows to keep in step.
    """
    if station_id is None or not audiences:
        return []
    own_resident: ColumnElement[bool] = (
        Contact.resident_id == resident_id if resident_id is not None else false()
    )
    still_linked = exists().where(
        FamilyLink.user_id == Contact.user_id, FamilyLink.resident_id == Contact.resident_id
    )
    query = (
        select(Contact)
        .outerjoin(User, Contact.user_id == User.id)
        .where(
            Contact.station_id == station_id,
            Contact.active.is_(True),
            Contact.audience.in_(list(audiences)),
            or_(Contact.audience.not_in(PER_RESIDENT), own_resident),
            or_(Contact.resident_id.is_(None), own_resident),
            or_(Contact.user_id.is_(None), User.active.is_(True)),
            or_(Contact.user_id.is_(None), Contact.audience.not_in(PER_RESIDENT), still_linked),
        )
        .order_by(Contact.position, Contact.id)
    )
    found = (await session.scalars(query)).all()
    order = {a: i for i, a in enumerate(AUDIENCES)}
    return sorted(found, key=lambda c: (order.get(c.audience, 99), c.position, c.id))


MUTED = "muted"


def hold_until(
    *,
    priority: str,
    kind: str,
    quiet_start: str,
    quiet_end: str,
    muted_kinds: str,
    now: datetime,
    timezone: str,
) -> datetime | str | None:
    """None: send now; a time: hold until then (quiet hours); MUTED: not wanted.

    A high-priority alert is never held back and never muted.
    """
    if priority == Priority.HIGH.value:
        return None
    if kind in {k for k in muted_kinds.split(",") if k}:
        return MUTED
    if not quiet_start or not quiet_end:
        return None
    try:
        zone = ZoneInfo(timezone)
    except ZoneInfoNotFoundError:
        return None
    local = now.astimezone(zone)
    start, end = time.fromisoformat(quiet_start), time.fromisoformat(quiet_end)
    clock = local.time()
    inside = start <= clock < end if start <= end else (clock >= start or clock < end)
    if not inside:
        return None
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release.astimezone(now.tzinfo)
