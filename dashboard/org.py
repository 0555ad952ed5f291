"""The organisation tree (city → district → street → care station) kept by the dashboard.

The registry knows stations only; the admin pages place each station under a street of a
district of a city. Tables: ``org_units`` (city, district, street, each under its parent) and
``station_places`` (the street a station belongs to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.errors import DashboardError
from registry.db import Base
from registry.models import Station


class Level(StrEnum):
    """A level of the tree above the care stations."""

    CITY = "city"
    DISTRICT = "district"
    STREET = "street"  # 街道


PARENT_LEVEL = {Level.CITY: None, Level.DISTRICT: Level.CITY, Level.STREET: Level.DISTRICT}


class OrgError(DashboardError):
    """A unit was put under the wrong kind of parent, or a parent does not exist."""


class OrgUnit(Base):
    """A city, district or street."""

    __tablename__ = "org_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))  # Level
    name: Mapped[str] = mapped_column(String(200))


class StationPlace(Base):
    """The street a care station belongs to."""

    __tablename__ = "station_places"
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)


@dataclass
class Node:
    """A unit of the tree with its children and, for streets, their stations."""

    id: int
    level: str
    name: str
    children: list[Node] = field(default_factory=list)
    stations: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Tree:
    """The cities, and the stations not placed under a street yet."""

    cities: list[Node]
    unplaced: list[tuple[int, str]]
    streets: list[tuple[int, str]]  # (id, "city / district / street") for the place-station form


async def add_unit(session: AsyncSession, level: Level, name: str, parent_id: int | None) -> int:
    """Add a city (no parent), district (under a city) or street (under a district)."""
    expected = PARENT_LEVEL[level]
    if expected is None:
        if parent_id is not None:
            raise OrgError("a city has no parent")
    else:
        parent = None if parent_id is None else await session.get(OrgUnit, parent_id)
        if parent is None or parent.level != expected.value:
            raise OrgError(f"a {level.value} belongs under a {expected.value}")
    unit = OrgUnit(level=level.value, name=name, parent_id=parent_id)
    session.add(unit)
    await session.flush()
    return unit.id


async def place_station(session: AsyncSession, station_id: int, street_id: int) -> None:
    """Put a station under a street (moving it if it was placed elsewhere)."""
    street = await session.get(OrgUnit, street_id)
    if street is None or street.level != Level.STREET.value:
        raise OrgError("stations belong under a street")
    if await session.get(Station, station_id) is None:
        raise OrgError(f"no station {station_id}")
    place = await session.get(StationPlace, station_id)
    if place is None:
        session.add(StationPlace(station_id=station_id, street_id=street_id))
    else:
        place.street_id = street_id
    await session.flush()


async def tree(session: AsyncSession) -> Tree:
    """The whole tree, by name at every level."""
    units = list(await session.scalars(select(OrgUnit).order_by(OrgUnit.name, OrgUnit.id)))
    nodes = {u.id: Node(u.id, u.level, u.name) for u in units}
    cities = []
    for unit in units:
        if unit.parent_id is None:
            cities.append(nodes[unit.id])
        elif unit.parent_id in nodes:
            nodes[unit.parent_id].children.append(nodes[unit.id])
    placed = {p.station_id: p.street_id for p in await session.scalars(select(StationPlace))}
    unplaced = []
    for station in await session.scalars(select(Station).order_by(Station.name)):
        street = placed.get(station.id)
        if street in nodes:
            nodes[street].stations.append((station.id, station.name))
        else:
            unplaced.append((station.id, station.name))
    streets = [
        (street.id, f"{city.name} / {district.name} / {street.name}")
        for city in cities
        for district in city.children
        for street in district.children
    ]
    return Tree(cities, unplaced, streets)
