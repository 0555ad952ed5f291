"""Reading alerts back as views: one query joins the resident's name and the acknowledger's."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AlertState, Priority
from alerts.models import Alert, Contact, Delivery
from alerts.views import AlertView, DeliveryView
from registry.models import Resident, User


def _view_query() -> Select[Alert, str, str]:
    return (
        select(Alert, Resident.name, User.username)
        .outerjoin(Resident, Alert.resident_id == Resident.id)
        .outerjoin(User, Alert.acked_by == User.id)
        .execution_options(populate_existing=True)  # counters are bumped with UPDATE statements
    )


def _view(
    alert: Alert,
    resident_name: str | None,
    acked_by: str | None,
    deliveries: tuple[DeliveryView, ...] = (),
) -> AlertView:
    return AlertView(
        id=alert.id,
        kind=alert.kind,
        priority=alert.priority,
        state=alert.state,
        resident_id=alert.resident_id,
        resident_name=resident_name or "",
        home_id=alert.home_id,
        station_id=alert.station_id,
        gateway_id=alert.gateway_id,
        raised_at=alert.raised_at,
        acked_at=alert.acked_at,
        acked_by=acked_by,
        resolved_at=alert.resolved_at,
        outcome=alert.outcome,
        note=alert.note,
        evidence_count=alert.evidence_count,
        summary=alert.summary,
        next_escalation_at=alert.next_escalation_at,
        deliveries=deliveries,
    )


async def _deliveries(
    session: AsyncSession, alert_ids: Collection[int]
) -> dict[int, tuple[DeliveryView, ...]]:
    if not alert_ids:
        return {}
    rows = (
        await session.execute(
            select(Delivery, Contact.name, Contact.audience)
            .join(Contact, Delivery.contact_id == Contact.id)
            .where(Delivery.alert_id.in_(list(alert_ids)))
            .order_by(Delivery.created_at, Delivery.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    found: dict[int, list[DeliveryView]] = {}
    for d, name, audience in rows:
        found.setdefault(d.alert_id, []).append(
            DeliveryView(
                contact_id=d.contact_id,
                contact_name=name,
                audience=audience,
                tier=d.tier,
                attempt=d.attempt,
                status=d.status,
                channel=d.channel,
                tries=d.tries,
                created_at=d.created_at,
                next_try_at=d.next_try_at,
                sent_at=d.sent_at,
                last_error=d.last_error,
            )
        )
    return {k: tuple(v) for k, v in found.items()}


async def load_view(session: AsyncSession, alert_id: int) -> AlertView | None:
    """The view of one alert, if it exists."""
    row = (await session.execute(_view_query().where(Alert.id == alert_id))).first()
    if row is None:
        return None
    deliveries = await _deliveries(session, [alert_id])
    return _view(*row, deliveries.get(alert_id, ()))


async def list_views(
    session: AsyncSession,
    *,
    station_ids: Collection[int] | None,
    resident_ids: Collection[int] | None,
    states: Collection[str] | None,
    limit: int,
) -> list[AlertView]:
    """Alerts of these stations or residents (None: no filter), unresolved high first, newest next."""
    query = _view_query()
    scopes = []
    if station_ids is not None:
        scopes.append(Alert.station_id.in_(list(station_ids)))
    if resident_ids is not None:
        scopes.append(Alert.resident_id.in_(list(resident_ids)))
    if scopes:
        query = query.where(or_(*scopes))
    if states is not None:
        query = query.where(Alert.state.in_(list(states)))
    urgent = case(
        (and_(Alert.state != AlertState.RESOLVED.value, Alert.priority == Priority.HIGH.value), 0),
        else_=1,
    )
    query = query.order_by(urgent, Alert.raised_at.desc(), Alert.id.desc()).limit(limit)
    rows = (await session.execute(query)).all()
    deliveries = await _deliveries(session, [row[0].id for row in rows])
    return [_view(*row, deliveries.get(row[0].id, ())) for row in rows]


async def count_unresolved(session: AsyncSession) -> int:
    """How many alerts are open or acknowledged."""
    count = await session.scalar(
        select(func.count()).select_from(Alert).where(Alert.state != AlertState.RESOLVED.value)
    )
    return int(count or 0)
