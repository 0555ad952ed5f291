"""The demo fleet: one care station, N homes with a resident, a gateway and the simulator's devices.

Idempotent: seeding again with the same count changes nothing, a higher count adds homes. The
caller commits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from devices.simulator import HOME_DEVICES
from registry.models import Resident, Role, Station
from registry.people import create_user, get_user_by_username, link_family
from registry.repository import (
    DeviceSpec,
    create_gateway,
    create_home,
    create_resident,
    create_station,
    get_gateway,
    get_station_by_code,
    residents_of_home,
)

STATION_CODE = "demo"
STATION_NAME = "安心演示驿站"
DEMO_PASSWORD = "demo"  # printed in the banner of `anxin up --demo`; never for a real deployment
DEMO_USERS: tuple[tuple[str, Role, bool, str], ...] = (
    # username, role, belongs to the demo station, display name
    ("station", Role.STAFF, True, "值班员 小张"),
    ("manager", Role.MANAGER, True, "站长 李红"),
    ("family", Role.FAMILY, False, "家属 王磊"),
    ("installer", Role.INSTALLER, False, "安装员 赵强"),
    ("admin", Role.ADMIN, False, "管理员"),
)
RISK_FLAGS = ("alone", "aged", "disabled", "dementia")
DEMENTIA_HOME = 1  # the seed number of the home whose resident has dementia (the family's relative)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = (
    "秀英", "桂英", "玉兰", "淑珍", "凤英", "德明", "国强", "建华", "志明", "文秀",
    "丽华", "振华", "桂兰", "玉珍", "福生", "长顺", "慧敏", "素芬", "金凤", "宝山",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoGateway:
    """A demo home's gateway and its seed number (1-based)."""

    gateway_id: str
    number: int
    home_id: int
    resident_id: int


@dataclass(frozen=True, slots=True)
class DemoFleet:
    """What the demo seed holds: the station and one gateway per home."""

    station_id: int
    gateways: tuple[DemoGateway, ...]


def demo_gateway_id(number: int) -> str:
    """The gateway id of demo home ``number``: ``demo-gw-0001`` ..."""
    return f"demo-gw-{number:04d}"


def _person(number: int) -> tuple[str, int, tuple[str, ...]]:
    """A plausible name, birth year and risk flags for home ``number`` (deterministic)."""
    rng = random.Random(number)
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    birth_year = rng.randint(1930, 1950)
    flags = [flag for flag in RISK_FLAGS[:3] if rng.random() < 0.35]
    if number == DEMENTIA_HOME:
        flags = ["alone", "dementia"]
    if birth_year <= 1940 and "aged" not in flags:
        flags.append("aged")
    return name, birth_year, tuple(flags)


async def _station(session: AsyncSession) -> Station:
    station = await get_station_by_code(session, STATION_CODE)
    if station is None:
        station = await create_station(
            session, name=STATION_NAME, code=STATION_CODE, timezone="Asia/Shanghai"
        )
    return station


async def _home(session: AsyncSession, station: Station, number: int, now: datetime) -> DemoGateway:
    gateway_id = demo_gateway_id(number)
    gateway = await get_gateway(session, gateway_id)
    if gateway is not None and gateway.home_id is not None:
        residents = await residents_of_home(session, gateway.home_id)
        return DemoGateway(gateway_id, number, gateway.home_id, residents[0].id)
    name, birth_year, flags = _person(number)
    home = await create_home(
        session,
        station_id=station.id,
        label=f"演示家庭 {number:03d}",
        address=f"安心社区 {1 + (number - 1) // 24}号楼 {1 + (number - 1) % 24:02d}室",
    )
    resident: Resident = await create_resident(
        session, home_id=home.id, name=name, birth_year=birth_year, risk_flags=flags
    )
    devices = [
        DeviceSpec(key, kind, room, resident.id if kind == "wearable" else None)
        for key, kind, room in HOME_DEVICES
    ]
    await create_gateway(
        session, gateway_id=gateway_id, home_id=home.id, created_at=now, devices=devices
    )
    return DemoGateway(gateway_id, number, home.id, resident.id)


async def seed_demo(session: AsyncSession, homes: int, now: datetime | None = None) -> DemoFleet:
    """Ensure the demo station, ``homes`` homes and the demo users (password ``demo``) exist."""
    if homes < 1:
        raise ValueError("the demo needs at least one home")
    created = now or datetime.now(UTC)
    station = await _station(session)
    gateways = tuple([await _home(session, station, n, created) for n in range(1, homes + 1)])
    for username, role, at_station, display in DEMO_USERS:
        if await get_user_by_username(session, username) is None:
            await create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                station_id=station.id if at_station else None,
                display_name=display,
            )
    family = await get_user_by_username(session, "family")
    if family is not None and family.role == Role.FAMILY.value:
        await link_family(
            session, user_id=family.id, resident_id=gateways[0].resident_id, relation="child"
        )
    return DemoFleet(station.id, gateways)
