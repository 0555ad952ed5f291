"""Station KPIs through the API: time to acknowledge and resolve, alerts per resident, false alarms.

``GET /api/v1/kpis?week=YYYY-Www`` — one entry per station the caller manages (a manager: their
station; an admin: every station), for one ISO week in the station's time zone.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from dashboard import weekly
from dashboard.deps import Ctx, CurrentUser, Session, require_roles
from registry.models import Home, Resident, Role, Station

router = APIRouter(prefix="/api/v1", tags=["kpis"])

FALSE_ALARM = "false_alarm"
KPI_ALERT_LIMIT = 20_000  # a station's alerts of recent weeks; the week is cut from them


class StationKpis(BaseModel):
    """One station's week."""

    station_id: int
    station_name: str
    week: str
    alerts: int
    unresolved: int
    residents: int
    alerts_per_resident: float | None
    ack_median_s: float | None
    ack_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None
    resolved: int
    false_alarm_rate: float | None  # share of resolved alerts whose outcome was a false alarm
    test_alarms_received: int


@router.get("/kpis", dependencies=[Depends(require_roles(Role.ADMIN, Role.MANAGER))])
async def kpis(
    user: CurrentUser,
    ctx: Ctx,
    session: Session,
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$")] = None,
) -> list[StationKpis]:
    """KPIs per station the caller manages, for ``week`` (default: this week)."""
    query = select(Station).order_by(Station.id)
    if user.role is not Role.ADMIN:
        query = query.where(Station.id == user.station_id)
    out: list[StationKpis] = []
    for station in await session.scalars(query):
        zone = ZoneInfo(station.timezone)
        monday = weekly.parse_week(week, ctx.clock.now().astimezone(zone).date())
        start, end = weekly.week_bounds(monday, zone)
        views = await ctx.alerts.list(station_ids=[station.id], limit=KPI_ALERT_LIMIT)
        f = weekly.figures(views, start, end)
        in_week = [v for v in views if start <= v.raised_at < end and v.kind != weekly.TEST_KIND]
        resolved = [v for v in in_week if v.state == "resolved"]
        people = await session.scalar(
            select(func.count(Resident.id))
            .join(Home, Home.id == Resident.home_id)
            .where(Home.station_id == station.id)
        )
        residents = int(people or 0)
        out.append(
            StationKpis(
                station_id=station.id, station_name=station.name, week=weekly.iso_week(monday),
                alerts=len(in_week), unresolved=f.unresolved, residents=residents,
                alerts_per_resident=len(in_week) / residents if residents else None,
                ack_median_s=f.ack_median_s, ack_p90_s=f.ack_p90_s,
                resolve_median_s=f.resolve_median_s, resolve_p90_s=f.resolve_p90_s,
                resolved=len(resolved),
                false_alarm_rate=(
                    sum(1 for v in resolved if v.outcome == FALSE_ALARM) / len(resolved)
                    if resolved else None
                ),
                test_alarms_received=f.tests_received,
            )
        )  # fmt: skip
    return out
