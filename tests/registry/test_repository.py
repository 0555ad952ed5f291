"""Registry repositories against SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.errors import ConflictError, NotFoundError, RegistryError
from registry.models import Role
from registry.people import (
    authenticate,
    create_user,
    get_user_by_username,
    link_family,
    visible_resident_ids,
)
from registry.repository import (
    DeviceSpec,
    create_gateway,
    create_home,
    create_resident,
    create_station,
    devices_of,
    gateway_context,
    gateway_contexts,
    is_known_gateway,
    list_gateway_ids,
    revoke_gateway,
)

NOW = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


async def _two_stations(sessions: Sessions) -> dict[str, int]:
    """Station A with a home of two residents and gateway gw-a; station B with one resident."""
    ids: dict[str, int] = {}
    async with sessions() as session, session.begin():
        a = await create_station(session, name="东城驿站", code="a")
        b = await create_station(session, name="West", code="b", timezone="Europe/Berlin")
        home_a = await create_home(session, station_id=a.id, label="1-101")
        home_b = await create_home(session, station_id=b.id, label="2-202")
        wang = await create_resident(
            session, home_id=home_a.id, name="王秀英", birth_year=1938, risk_flags=["alone"]
        )
        li = await create_resident(session, home_id=home_a.id, name="李德明", birth_year=1936)
        anna = await create_resident(session, home_id=home_b.id, name="Anna")
        await create_gateway(
            session,
            gateway_id="gw-a",
            home_id=home_a.id,
            created_at=NOW,
            devices=[
                DeviceSpec("pir-bedroom", "pir", "bedroom"),
                DeviceSpec("wear-li", "wearable", "", li.id),
            ],
        )
        await create_gateway(session, gateway_id="gw-b", home_id=home_b.id, created_at=NOW)
        await create_gateway(session, gateway_id="gw-spare", home_id=None, created_at=NOW)
        ids.update(
            station_a=a.id, station_b=b.id, home_a=home_a.id, wang=wang.id, li=li.id, anna=anna.id
        )
    return ids


async def test_gateway_context_names_home_station_and_residents(sessions: Sessions) -> None:
    ids = await _two_stations(sessions)
    async with sessions() as session:
        context = await gateway_context(session, "gw-a")
        assert context is not None
        assert (context.home_id, context.station_id) == (ids["home_a"], ids["station_a"])
        assert context.station_timezone == "Asia/Shanghai"
        assert [r.name for r in context.residents] == ["王秀英", "李德明"]
        assert context.resident_for("wear-li").id == ids["li"]  # type: ignore[union-attr]
        assert context.resident_for("pir-bedroom").id == ids["wang"]  # type: ignore[union-attr]
        assert await gateway_context(session, "gw-spare") is None  # in no home yet
        assert await gateway_context(session, "nope") is None
        assert [d.key for d in await devices_of(session, "gw-a")] == ["pir-bedroom", "wear-li"]
        assert {c.gateway_id for c in await gateway_contexts(session)} == {"gw-a", "gw-b"}


async def test_revoked_gateways_are_unknown(sessions: Sessions) -> None:
    await _two_stations(sessions)
    async with sessions() as session, session.begin():
        assert await list_gateway_ids(session) == ["gw-a", "gw-b", "gw-spare"]
        assert await is_known_gateway(session, "gw-b")
        await revoke_gateway(session, "gw-b", NOW)
    async with sessions() as session:
        assert not await is_known_gateway(session, "gw-b")
        assert not await is_known_gateway(session, "never-registered")
        assert await list_gateway_ids(session) == ["gw-a", "gw-spare"]
        assert await gateway_context(session, "gw-b") is None


async def test_conflicts_and_missing_parents_are_refused(sessions: Sessions) -> None:
    ids = await _two_stations(sessions)
    async with sessions() as session:
        with pytest.raises(ConflictError):
            await create_station(session, name="again", code="a")
        with pytest.raises(ConflictError):
            await create_gateway(session, gateway_id="gw-a", home_id=None, created_at=NOW)
        with pytest.raises(NotFoundError):
            await create_home(session, station_id=999_999, label="x")
        with pytest.raises(RegistryError):
            await create_gateway(
                session,
                gateway_id="gw-c",
                home_id=ids["home_a"],
                created_at=NOW,
                devices=[DeviceSpec("x", "toaster")],
            )
    async with sessions() as session:
        with pytest.raises(ConflictError):
            await create_gateway(
                session,
                gateway_id="gw-d",
                home_id=ids["home_a"],
                created_at=NOW,
                devices=[DeviceSpec("pir", "pir"), DeviceSpec("pir", "pir")],
            )


async def test_authenticate(sessions: Sessions) -> None:
    ids = await _two_stations(sessions)
    async with sessions() as session, session.begin():
        await create_user(
            session,
            username="staff",
            password="s3cret!",
            role=Role.STAFF,
            station_id=ids["station_a"],
        )
        with pytest.raises(ConflictError):
            await create_user(session, username="staff", password="x", role=Role.ADMIN)
        with pytest.raises(ConflictError):
            await create_user(session, username="lost", password="x", role=Role.STAFF)
    async with sessions() as session:
        user = await authenticate(session, " staff ", "s3cret!")
        assert user is not None
        assert user.username == "staff"
        assert await authenticate(session, "staff", "wrong") is None
        assert await authenticate(session, "nobody", "s3cret!") is None
        stored = await get_user_by_username(session, "staff")
        assert stored is not None
        assert "s3cret!" not in stored.password_hash
        assert stored.password_hash.startswith("$argon2id$")


async def test_visible_resident_ids_by_role(sessions: Sessions) -> None:
    ids = await _two_stations(sessions)
    users = {}
    async with sessions() as session, session.begin():
        for name, role, station in (
            ("admin", Role.ADMIN, None),
            ("staff_a", Role.STAFF, ids["station_a"]),
            ("manager_b", Role.MANAGER, ids["station_b"]),
            ("family", Role.FAMILY, None),
            ("installer", Role.INSTALLER, None),
        ):
            users[name] = await create_user(
                session, username=name, password="pw", role=role, station_id=station
            )
        await link_family(session, user_id=users["family"].id, resident_id=ids["anna"])
        await link_family(session, user_id=users["family"].id, resident_id=ids["anna"])  # no-op
        with pytest.raises(ConflictError):
            await link_family(session, user_id=users["installer"].id, resident_id=ids["anna"])
    async with sessions() as session:
        assert await visible_resident_ids(session, users["admin"]) is None
        assert await visible_resident_ids(session, users["staff_a"]) == {ids["wang"], ids["li"]}
        assert await visible_resident_ids(session, users["manager_b"]) == {ids["anna"]}
        assert await visible_resident_ids(session, users["family"]) == {ids["anna"]}
        assert await visible_resident_ids(session, users["installer"]) == set()
