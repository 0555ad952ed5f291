"""Residents as the station sees them: their homes' gateways and devices, contacts, and status."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.models import BATHROOM_OFF, RoutineBaselineRow
from alerts.routine.baseline import STANDARD, WATCH_LEVELS, default_limits, watch_of
from alerts.routine.timeline import hour_text
from alerts.views import AlertView
from dashboard import coverage
from dashboard.access import ResidentSummary
from dashboard.i18n import translate
from registry.models import Device, FamilyLink, Gateway, User

FINE, ATTENTION, ALERT, NO_DATA = "fine", "attention", "alert", "no_data"
STATUSES = (ALERT, ATTENTION, NO_DATA, FINE)  # the board's order: most urgent first
RISK_FLAGS = ("alone", "aged", "disabled", "dementia")  # 独居, 高龄, 失能, 失智
UNRESOLVED = ("open", "acknowledged")
URGENT_PRIORITIES = frozenset({"high", "medium"})
# Quiet for longer than a usual afternoon nap plus a walk: worth a look, not yet an alarm.
ATTENTION_AFTER = timedelta(hours=4)
# No sign of activity for a day: the sensors or the gateway are likely down (or nobody is home).
NO_DATA_AFTER = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A paired device of a resident's home."""

    gateway_id: str
    key: str
    kind: str
    room: str
    resident_id: int | None


@dataclass(frozen=True, slots=True)
class HomeKit:
    """A home's live gateways and their devices."""

    gateways: tuple[str, ...]
    devices: tuple[DeviceInfo, ...]

    def rooms(self) -> dict[str, str]:
        """Device key -> room, for devices placed in a room."""
        return {d.key: d.room for d in self.devices if d.room}

    def of_kind(self, *kinds: str) -> tuple[DeviceInfo, ...]:
        """The devices of these kinds."""
        return tuple(d for d in self.devices if d.kind in kinds)


@dataclass(frozen=True, slots=True)
class Contact:
    """A family member linked to a resident."""

    name: str
    phone: str
    relation: str


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One resident on the board: status, last activity and unresolved alerts."""

    resident: ResidentSummary
    status: str
    last_activity: datetime | None
    unresolved: int


async def home_kits(session: AsyncSession, home_ids: Collection[int]) -> dict[int, HomeKit]:
    """Home id -> its gateways (not revoked) and their devices."""
    if not home_ids:
        return {}
    rows = (
        await session.execute(
            select(Gateway.home_id, Gateway.id, Device)
            .outerjoin(Device, Device.gateway_id == Gateway.id)
            .where(Gateway.home_id.in_(home_ids), Gateway.revoked_at.is_(None))
            .order_by(Gateway.id, Device.key)
        )
    ).all()
    gateways: dict[int, list[str]] = {home: [] for home in home_ids}
    devices: dict[int, list[DeviceInfo]] = {home: [] for home in home_ids}
    for home_id, gateway_id, device in rows:
        if home_id is None:  # excluded by the query; narrows the type
            continue
        if gateway_id not in gateways[home_id]:
            gateways[home_id].append(gateway_id)
        if device is not None:
            devices[home_id].append(
                DeviceInfo(gateway_id, device.key, device.kind, device.room, device.resident_id)
            )
    return {home: HomeKit(tuple(gateways[home]), tuple(devices[home])) for home in home_ids}


async def contacts_of(session: AsyncSession, resident_id: int) -> list[Contact]:
    """The family members linked to a resident, by name."""
    rows = (
        await session.execute(
            select(User, FamilyLink.relation)
            .join(FamilyLink, FamilyLink.user_id == User.id)
            .where(FamilyLink.resident_id == resident_id)
            .order_by(User.display_name, User.id)
        )
    ).all()
    return [
        Contact(user.display_name or user.username, user.phone, relation) for user, relation in rows
    ]


async def routine_of(
    session: AsyncSession,
    resident_id: int,
    kit: HomeKit,
    lang: str,
    zone: ZoneInfo,
    now: datetime,
    watch: str = STANDARD,
    usual_getup: str = "",
) -> list[str]:
    """What the routine detectors know of the resident, in words: the last check (quiet since
    when, and when an alarm comes if nothing moves), a personal baseline or the defaults still
    (written by the routine monitor), rules that are off in this home, and what its sensors
    cannot tell apart (``dashboard.coverage``), and a watch level other than the standard one."""
    row = await session.get(RoutineBaselineRow, resident_id)
    if row is None:
        lines = [not_learned(lang, watch, usual_getup)]
    else:
        lines = situation_words(row, lang, zone, now)
        if row.ready:
            getup = row.getup_limit or "—"
            lines.append(translate(lang, "routine.personal", days=row.days, getup=getup))
        else:
            lines.append(translate(lang, "routine.learning", days=row.days, needed=row.min_days))
        if row.bathroom == BATHROOM_OFF:
            lines.append(translate(lang, "routine.bathroom_off"))
    if watch != STANDARD:
        lines.append(translate(lang, "routine.watch", level=translate(lang, f"watch.{watch}")))
    gaps = coverage.gaps((d.kind, d.room) for d in kit.devices)
    return lines + [translate(lang, key) for key in gaps]


def not_learned(lang: str, watch: str, usual_getup: str) -> str:
    """Before the routine monitor's first fit: the defaults that apply, at this resident's watch
    level and usual get-up time (the same ``default_limits`` the monitor will fit with)."""
    level = watch_of(watch if watch in WATCH_LEVELS else STANDARD)
    try:
        limits = default_limits(level, usual_getup)
    except ValueError:  # the form checks it; the monitor falls back alike
        limits = default_limits(level)
    return translate(
        lang,
        "routine.not_learned",
        active=_hours(lang, limits.active_s),
        resting=_hours(lang, limits.resting_s),
        getup=hour_text(limits.not_up_hour),
    )


def _hours(lang: str, seconds: float) -> str:
    hours, minutes = divmod(round(seconds / 60.0), 60)
    if minutes:
        return translate(lang, "duration.hours_minutes", hours=hours, minutes=minutes)
    return translate(lang, "duration.hours", hours=hours)


def situation_words(row: RoutineBaselineRow, lang: str, zone: ZoneInfo, now: datetime) -> list[str]:
    """The routine monitor's last check in words (nothing before its first check)."""
    if row.situation is None or row.quiet_since is None:
        return []
    since = _clock(row.quiet_since, zone, now)
    if row.situation == "awake" and row.alarm_at is not None:
        return [
            translate(lang, "routine.now_awake", since=since, alarm=_clock(row.alarm_at, zone, now))
        ]
    if row.situation in ("asleep", "not_up", "away"):
        return [translate(lang, f"routine.now_{row.situation}", since=since)]
    return []


def _clock(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """``HH:MM`` in the station's zone, with the date in front when it is not today there."""
    local = moment.astimezone(zone)
    today = now.astimezone(zone).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")


def classify(alerts: Sequence[AlertView], last_activity: datetime | None, now: datetime) -> str:
    """A resident's traffic light from their unresolved alerts and last sign of activity."""
    unresolved = [a for a in alerts if a.state in UNRESOLVED]
    if any(a.priority in URGENT_PRIORITIES for a in unresolved):
        return ALERT
    if last_activity is None or now - last_activity > NO_DATA_AFTER:
        return NO_DATA
    if unresolved or now - last_activity > ATTENTION_AFTER:
        return ATTENTION
    return FINE


def matches(resident: ResidentSummary, flags: Collection[str], care_level: str) -> bool:
    """True when the resident has every flag asked for and the care level (if one is asked for)."""
    if care_level and resident.care_level != care_level:
        return False
    return set(flags) <= set(resident.risk_flags)
