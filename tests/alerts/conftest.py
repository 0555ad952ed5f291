"""Fixtures of the alerts tests: a migrated database per backend with one seeded home."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.feed import AlertFeed
from alerts.service import AlertService
from devices.clock import ManualClock
from devices.values import Event
from registry.models import Role
from registry.people import create_user
from registry.repository import (
    DeviceSpec,
    create_gateway,
    create_home,
    create_resident,
    create_station,
)
from tests.registry.databases import database_url, sessions

__all__ = ["database_url", "sessions"]

START = datetime(2025, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
_ids = itertools.count(1)


@dataclass
class Home:
    """The seeded home and the service under test."""

    service: AlertService
    feed: AlertFeed
    clock: ManualClock
    sessions: async_sessionmaker[AsyncSession]
    station_id: int
    home_id: int
    resident_id: int
    wearer_id: int
    staff_id: int

    def event(
        self, kind: str = "fall", *, event_id: str | None = None, device: str = "wear-1"
    ) -> Event:
        """An urgent event of gateway gw-1 as ingest would hand it over."""
        now = self.clock.now()
        return Event(
            event_id=event_id or f"evt-{next(_ids):08d}",
            gateway="gw-1",
            device=device,
            kind=kind,
            time=now,
            received_at=now,
            data={},
        )


@pytest.fixture
async def home(sessions: async_sessionmaker[AsyncSession]) -> Home:
    """A station with one home (two residents, the second wears wear-1), gateway gw-1, a staff user."""
    async with sessions() as session, session.begin():
        station = await create_station(session, name="东城驿站", code="east")
        home = await create_home(session, station_id=station.id, label="3-402")
        first = await create_resident(session, home_id=home.id, name="王秀英", birth_year=1938)
        wearer = await create_resident(session, home_id=home.id, name="李德明", birth_year=1935)
        await create_gateway(
            session,
            gateway_id="gw-1",
            home_id=home.id,
            created_at=START,
            devices=[
                DeviceSpec("pir-hallway", "pir", "hallway"),
                DeviceSpec("wear-1", "wearable", "", wearer.id),
            ],
        )
        staff = await create_user(
            session, username="duty", password="pw", role=Role.STAFF, station_id=station.id
        )
        ids = (station.id, home.id, first.id, wearer.id, staff.id)
    feed = AlertFeed()
    clock = ManualClock(START)
    return Home(AlertService(sessions, feed, clock), feed, clock, sessions, *ids)
