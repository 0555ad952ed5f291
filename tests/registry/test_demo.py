"""The demo seed: what the simulator expects, idempotent, growing with the home count."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.simulator import HOME_DEVICES
from registry.demo import DEMO_USERS, STATION_NAME, demo_gateway_id, seed_demo
from registry.models import Device, FamilyLink, Gateway, Home, Resident, Station, User
from registry.people import authenticate, visible_resident_ids
from registry.repository import get_station_by_code

NOW = datetime(2025, 3, 1, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


async def _counts(session: AsyncSession) -> dict[str, int]:
    return {
        model.__tablename__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Station, Home, Resident, Gateway, Device, User, FamilyLink)
    }


async def test_seed_is_idempotent_and_grows(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        fleet = await seed_demo(session, 3, NOW)
    assert [(g.gateway_id, g.number) for g in fleet.gateways] == [
        ("demo-gw-0001", 1),
        ("demo-gw-0002", 2),
        ("demo-gw-0003", 3),
    ]
    async with sessions() as session:
        before = await _counts(session)
    assert before == {
        "stations": 1,
        "homes": 3,
        "residents": 3,
        "gateways": 3,
        "devices": 3 * len(HOME_DEVICES),
        "users": len(DEMO_USERS),
        "family_links": 1,
    }
    async with sessions() as session, session.begin():
        again = await seed_demo(session, 3, NOW)
    assert again == fleet
    async with sessions() as session:
        assert await _counts(session) == before
    async with sessions() as session, session.begin():
        grown = await seed_demo(session, 5, NOW)
    assert grown.gateways[:3] == fleet.gateways
    assert grown.gateways[4].gateway_id == demo_gateway_id(5) == "demo-gw-0005"
    async with sessions() as session:
        after = await _counts(session)
    assert (after["homes"], after["devices"], after["users"]) == (5, 5 * len(HOME_DEVICES), 5)


async def test_demo_homes_people_and_devices(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        fleet = await seed_demo(session, 6, NOW)
    async with sessions() as session:
        station = await get_station_by_code(session, "demo")
        assert station is not None
        assert station.name == STATION_NAME
        residents = list(await session.scalars(select(Resident).order_by(Resident.id)))
        assert all(1930 <= (r.birth_year or 0) <= 1950 for r in residents)
        assert all(len(r.name) >= 2 and not r.name.isascii() for r in residents)
        assert "dementia" in residents[0].risk_flags.split(",")
        devices = list(
            await session.scalars(select(Device).where(Device.gateway_id == "demo-gw-0002"))
        )
        assert {(d.key, d.kind, d.room) for d in devices} == set(HOME_DEVICES)
        wearable = next(d for d in devices if d.kind == "wearable")
        assert wearable.resident_id == fleet.gateways[1].resident_id
        for username, role, _, _ in DEMO_USERS:
            user = await authenticate(session, username, "demo")
            assert user is not None, username
            assert user.role == role.value
        family = await authenticate(session, "family", "demo")
        staff = await authenticate(session, "station", "demo")
        installer = await authenticate(session, "installer", "demo")
        assert family is not None
        assert staff is not None
        assert installer is not None
        assert await visible_resident_ids(session, family) == {fleet.gateways[0].resident_id}
        assert await visible_resident_ids(session, staff) == {g.resident_id for g in fleet.gateways}
        assert await visible_resident_ids(session, installer) == set()
        assert await authenticate(session, "station", "wrong") is None
