"""Registry queries and changes for stations, homes, residents, gateways and devices.

Functions take an ``AsyncSession`` and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devices.catalog import DEVICE_KINDS
from registry.errors import ConflictError, NotFoundError, RegistryError
from registry.models import Device, Gateway, Home, Resident, Station


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A device to pair: its wire id, catalog kind, room and (for wearables) its wearer."""

    key: str
    kind: str
    room: str = ""
    resident_id: int | None = None


@dataclass(frozen=True, slots=True)
class ResidentRef:
    """A resident's id and name."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class GatewayContext:
    """Where a gateway stands: its home, station, the station's time zone and the residents."""

    gateway_id: str
    home_id: int
    station_id: int
    station_timezone: str
    residents: tuple[ResidentRef, ...]
    wearers: tuple[tuple[str, int], ...] = ()  # (device key, resident id) of personal devices

    def resident_for(self, device_key: str) -> ResidentRef | None:
        """The resident a device's event is about: its wearer, else the home's first resident."""
        wearer = dict(self.wearers).get(device_key)
        for resident in self.residents:
            if resident.id == wearer:
                return resident
        return self.residents[0] if self.residents else None


async def _flush(session: AsyncSession, what: str) -> None:
    try:
        await session.flush()
    except IntegrityError as err:
        raise ConflictError(f"{what} breaks a uniqueness rule") from err


async def create_station(
    session: AsyncSession, *, name: str, code: str, timezone: str = "Asia/Shanghai"
) -> Station:
    """Add a care station; ConflictError when ``code`` is taken."""
    if await get_station_by_code(session, code) is not None:
        raise ConflictError(f"station code {code!r} is taken")
    station = Station(name=name, code=code, timezone=timezone)
    session.add(station)
    await _flush(session, f"station {code!r}")
    return station


async def get_station(session: AsyncSession, station_id: int) -> Station | None:
    """The station with ``station_id``, if any."""
    return await session.get(Station, station_id)


async def get_station_by_code(session: AsyncSession, code: str) -> Station | None:
    """The station with ``code``, if any."""
    return await session.scalar(select(Station).where(Station.code == code))


async def create_home(
    session: AsyncSession, *, station_id: int, label: str, address: str = ""
) -> Home:
    """Add a home to a station; NotFoundError when the station does not exist."""
    if await session.get(Station, station_id) is None:
        raise NotFoundError(f"no station {station_id}")
    home = Home(station_id=station_id, label=label, address=address)
    session.add(home)
    await _flush(session, "home")
    return home


async def get_home(session: AsyncSession, home_id: int) -> Home | None:
    """The home with ``home_id``, if any."""
    return await session.get(Home, home_id)


async def create_resident(
    session: AsyncSession,
    *,
    home_id: int,
    name: str,
    birth_year: int | None = None,
    risk_flags: Sequence[str] = (),
    care_level: str = "",
) -> Resident:
    """Add a resident to a home; risk flags are keys such as ``alone`` or ``dementia``."""
    if await session.get(Home, home_id) is None:
        raise NotFoundError(f"no home {home_id}")
    if any("," in flag for flag in risk_flags):
        raise RegistryError("a risk flag may not contain a comma")
    resident = Resident(
        home_id=home_id,
        name=name,
        birth_year=birth_year,
        risk_flags=",".join(risk_flags),
        care_level=care_level,
    )
    session.add(resident)
    await _flush(session, "resident")
    return resident


async def get_resident(session: AsyncSession, resident_id: int) -> Resident | None:
    """The resident with ``resident_id``, if any."""
    return await session.get(Resident, resident_id)


async def residents_of_home(session: AsyncSession, home_id: int) -> list[Resident]:
    """The residents of a home, in id order."""
    rows = await session.scalars(
        select(Resident).where(Resident.home_id == home_id).order_by(Resident.id)
    )
    return list(rows)


async def create_gateway(
    session: AsyncSession,
    *,
    gateway_id: str,
    home_id: int | None,
    created_at: datetime,
    devices: Sequence[DeviceSpec] = (),
    secret_hash: str = "",
) -> Gateway:
    """Register a gateway (optionally in a home) with its devices; ConflictError if the id exists."""
    if await session.get(Gateway, gateway_id) is not None:
        raise ConflictError(f"gateway {gateway_id!r} exists")
    if home_id is not None and await session.get(Home, home_id) is None:
        raise NotFoundError(f"no home {home_id}")
    gateway = Gateway(
        id=gateway_id, home_id=home_id, created_at=created_at, secret_hash=secret_hash
    )
    session.add(gateway)
    await _flush(session, f"gateway {gateway_id!r}")
    for spec in devices:
        await add_device(session, gateway_id, spec)
    return gateway


async def add_device(session: AsyncSession, gateway_id: str, spec: DeviceSpec) -> Device:
    """Pair a device with a gateway; the kind must be in the device catalog."""
    if spec.kind not in DEVICE_KINDS:
        raise RegistryError(f"unknown device kind {spec.kind!r}")
    device = Device(
        gateway_id=gateway_id,
        key=spec.key,
        kind=spec.kind,
        room=spec.room,
        resident_id=spec.resident_id,
    )
    session.add(device)
    await _flush(session, f"device {spec.key!r} of {gateway_id!r}")
    return device


async def get_gateway(session: AsyncSession, gateway_id: str) -> Gateway | None:
    """The gateway with ``gateway_id``, revoked or not."""
    return await session.get(Gateway, gateway_id)


async def devices_of(session: AsyncSession, gateway_id: str) -> list[Device]:
    """The devices paired with a gateway, by key."""
    rows = await session.scalars(
        select(Device).where(Device.gateway_id == gateway_id).order_by(Device.key)
    )
    return list(rows)


async def revoke_gateway(session: AsyncSession, gateway_id: str, at: datetime) -> None:
    """Revoke a gateway: it may no longer log in or deliver data."""
    gateway = await session.get(Gateway, gateway_id)
    if gateway is None:
        raise NotFoundError(f"no gateway {gateway_id!r}")
    if gateway.revoked_at is None:
        gateway.revoked_at = at
        await session.flush()


async def list_gateway_ids(session: AsyncSession) -> list[str]:
    """Ids of every gateway that is not revoked, sorted."""
    rows = await session.scalars(
        select(Gateway.id).where(Gateway.revoked_at.is_(None)).order_by(Gateway.id)
    )
    return list(rows)


async def is_known_gateway(session: AsyncSession, gateway_id: str) -> bool:
    """True when the gateway is registered and not revoked."""
    found = await session.scalar(
        select(Gateway.id).where(Gateway.id == gateway_id, Gateway.revoked_at.is_(None))
    )
    return found is not None


async def gateway_context(session: AsyncSession, gateway_id: str) -> GatewayContext | None:
    """The home, station and residents behind a gateway; None if unknown, revoked or homeless."""
    row = (
        await session.execute(
            select(Gateway.id, Home.id, Station.id, Station.timezone)
            .join(Home, Gateway.home_id == Home.id)
            .join(Station, Home.station_id == Station.id)
            .where(Gateway.id == gateway_id, Gateway.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    _, home_id, station_id, zone = row
    residents = await session.execute(
        select(Resident.id, Resident.name).where(Resident.home_id == home_id).order_by(Resident.id)
    )
    wearers = await session.execute(
        select(Device.key, Device.resident_id)
        .where(Device.gateway_id == gateway_id, Device.resident_id.is_not(None))
        .order_by(Device.key)
    )
    return GatewayContext(
        gateway_id=gateway_id,
        home_id=home_id,
        station_id=station_id,
        station_timezone=zone,
        residents=tuple(ResidentRef(rid, name) for rid, name in residents),
        wearers=tuple((key, rid) for key, rid in wearers if rid is not None),
    )


async def gateway_contexts(session: AsyncSession) -> list[GatewayContext]:
    """The context of every gateway that is in service (not revoked, in a home)."""
    contexts = []
    for gateway_id in await list_gateway_ids(session):
        context = await gateway_context(session, gateway_id)
        if context is not None:
            contexts.append(context)
    return contexts
