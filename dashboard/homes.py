"""Homes, stations and paired devices as the installer app needs them (no health data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dashboard.access import Principal
from devices.payloads import StatusMessage
from ingest.store import ReadingStore
from registry.models import Device, Gateway, Home, Resident, Role, Station

SIGNAL_LOOKBACK = timedelta(hours=1)  # a paired device reports linkquality at least this often
BATTERY_LOOKBACK = timedelta(days=2)  # batteries report rarely


@dataclass(frozen=True, slots=True)
class StationRef:
    """A station's id and name."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class HomeSummary:
    """A home with its station, residents' names and gateways."""

    id: int
    label: str
    address: str
    station: StationRef
    residents: tuple[tuple[int, str], ...]
    gateways: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceSignal:
    """A paired device with its latest signal quality and battery level (None: not heard yet)."""

    gateway_id: str
    key: str
    kind: str
    room: str
    signal: float | None
    battery: float | None
    last_seen: datetime | None


def _station_filter(user: Principal) -> int | None:
    """Installers bound to a station see its homes only; admins and unbound installers all."""
    return user.station_id if user.role is Role.INSTALLER else None


async def stations_for(session: AsyncSession, user: Principal) -> list[StationRef]:
    """The stations a user may create homes in."""
    query = select(Station).order_by(Station.name)
    bound = _station_filter(user)
    if bound is not None:
        query = query.where(Station.id == bound)
    return [StationRef(s.id, s.name) for s in await session.scalars(query)]


async def homes_for(
    session: AsyncSession, user: Principal, home_id: int | None = None
) -> list[HomeSummary]:
    """The homes a user may install in (one if ``home_id``), by label."""
    query = select(Home, Station).join(Station, Home.station_id == Station.id)
    bound = _station_filter(user)
    if bound is not None:
        query = query.where(Home.station_id == bound)
    if home_id is not None:
        query = query.where(Home.id == home_id)
    rows = (await session.execute(query.order_by(Home.label, Home.id))).all()
    ids = [home.id for home, _ in rows]
    people: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
    for r in await session.scalars(select(Resident).where(Resident.home_id.in_(ids))):
        people[r.home_id].append((r.id, r.name))
    gateways: dict[int, list[str]] = {i: [] for i in ids}
    query_gw = select(Gateway).where(Gateway.home_id.in_(ids), Gateway.revoked_at.is_(None))
    for g in await session.scalars(query_gw.order_by(Gateway.id)):
        if g.home_id is not None:
            gateways[g.home_id].append(g.id)
    return [
        HomeSummary(
            home.id,
            home.label,
            home.address,
            StationRef(station.id, station.name),
            tuple(people[home.id]),
            tuple(gateways[home.id]),
        )
        for home, station in rows
    ]


async def device_signals(
    session: AsyncSession, store: ReadingStore | None, gateways: Sequence[str], now: datetime
) -> list[DeviceSignal]:
    """The devices paired with ``gateways``, by room, with their latest linkquality and battery."""
    if not gateways:
        return []
    devices = await session.scalars(
        select(Device).where(Device.gateway_id.in_(gateways)).order_by(Device.room, Device.key)
    )
    seen: dict[str, datetime] = {}
    if store is not None:
        for gateway in gateways:
            seen.update(await store.last_seen(gateway))
    found = []
    for device in devices:
        signal = battery = None
        if store is not None:
            signal = await _latest(store, device, "linkquality", now - SIGNAL_LOOKBACK, now)
            battery = await _latest(store, device, "battery", now - BATTERY_LOOKBACK, now)
        found.append(
            DeviceSignal(
                device.gateway_id,
                device.key,
                device.kind,
                device.room,
                signal,
                battery,
                seen.get(device.key),
            )
        )
    return found


async def _latest(
    store: ReadingStore, device: Device, measurement: str, since: datetime, now: datetime
) -> float | None:
    readings = await store.recent_readings(device.gateway_id, device.key, measurement, since, now)
    return readings[-1].value if readings else None


def gateway_states(
    statuses: dict[str, StatusMessage] | None, gateways: Sequence[str]
) -> dict[str, str]:
    """Gateway id -> ``online``, ``offline`` or ``unknown`` (never heard from)."""
    known = statuses or {}
    return {g: known[g].state.value if g in known else "unknown" for g in gateways}
