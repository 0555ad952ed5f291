"""A seeded registry, the real alerts service and the dashboard app, per test."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.audit import AuditLog
from alerts.detector_health import DetectorProblem
from alerts.feed import AlertFeed
from alerts.service import AlertService, Outcome
from alerts.views import AlertView
from anxin.migrate import upgrade
from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.provisioning_api import ProvisioningSettings
from devices.clock import ManualClock
from devices.payloads import CommandMessage, StatusMessage
from devices.values import Event, Reading
from ingest.quarantine import SQLiteQuarantine
from ingest.sqlite_store import SQLiteStore
from registry.broker_accounts import RegistryOnlyAccounts
from registry.db import make_async_engine, make_sessionmaker
from registry.models import Device, FamilyLink, Gateway, Home, Resident, Role, Station, User
from registry.passwords import hash_password

PASSWORD = "correct horse battery"
BROKER_URL = "mqtt://127.0.0.1:1883"  # what claimed gateways are told in tests without a broker
START = datetime(2025, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
_event_ids = itertools.count(1)
# (kind, room) of the fixed sensors in every seeded home; device keys are gw-<code>-<kind>-<room>
HOME_SENSORS = (
    ("pir", "kitchen"),
    ("pir", "bedroom"),
    ("bed", "bedroom"),
    ("door", "hallway"),
    ("toilet", "bathroom"),
)


def local(hour: int, minute: int = 0, day: int = 1) -> datetime:
    """A Shanghai wall-clock time on March ``day`` 2025 (day 0: February 28) as UTC."""
    return datetime(2025, 3, 1, tzinfo=UTC) + timedelta(
        days=day - 1, hours=hour - 8, minutes=minute
    )


def urgent(gateway: str, kind: str, now: datetime) -> Event:
    """An urgent event of ``gateway``'s wearable at ``now``, as the alert engine hands it over."""
    return Event(
        event_id=f"evt{next(_event_ids):08d}",
        gateway=gateway,
        device=f"{gateway}-wear",
        kind=kind,
        time=now,
        received_at=now,
        data={},
    )


@dataclass
class World:
    """Two stations with one home and resident each, users of every role, the real services."""

    app: FastAPI
    ctx: DashboardContext
    clock: ManualClock
    sessions: async_sessionmaker[AsyncSession]
    ids: dict[str, int] = field(default_factory=dict)
    ready: list[bool] = field(default_factory=lambda: [True])
    store: SQLiteStore | None = None
    statuses: dict[str, StatusMessage] = field(default_factory=dict)  # retained gateway status
    commands: list[tuple[str, CommandMessage]] = field(default_factory=list)  # sent downlink
    problems: list[DetectorProblem] = field(default_factory=list)  # detectors not running

    async def readings(
        self, gateway: str, device: str, measurement: str, *points: tuple[datetime, float]
    ) -> None:
        """Store readings the way ingest would."""
        assert self.store is not None
        await self.store.write_readings(
            [Reading(gateway, device, measurement, value, at, at) for at, value in points]
        )

    async def raise_alert(self, gateway: str, kind: str = "fall") -> AlertView:
        """Raise an alert the way ingest would: an urgent event from the wearable."""
        view = await self.ctx.alerts.raise_from_event(urgent(gateway, kind, self.clock.now()))
        assert view is not None
        return view

    async def handle(self, alert_id: int, username: str, outcome: str = "handled_at_home") -> None:
        """Acknowledge and resolve an alert as ``username`` (high priority latches until acked)."""
        await self.ctx.alerts.acknowledge(alert_id, self.ids[username])
        await self.ctx.alerts.resolve(alert_id, self.ids[username], Outcome(outcome), "")


async def seed(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> dict[str, int]:
    """Stations A and B, a home, a resident, a gateway and a wearable each, and the users."""
    password_hash = hash_password(PASSWORD)
    ids: dict[str, int] = {}
    async with sessions() as session, session.begin():
        for code, name, resident in (("a", "东城驿站", "王秀英"), ("b", "West Station", "Li Wei")):
            station = Station(name=name, code=f"st-{code}", timezone="Asia/Shanghai")
            home = Home(station=station, label=f"home {code}", address="")
            person = Resident(home=home, name=resident, birth_year=1940)
            gateway = Gateway(id=f"gw-{code}", home=home, created_at=clock.now())
            session.add_all([station, home, person, gateway])
            await session.flush()
            session.add(
                Device(
                    gateway_id=gateway.id,
                    key=f"gw-{code}-wear",
                    kind="wearable",
                    resident_id=person.id,
                )
            )
            for kind, room in HOME_SENSORS:
                session.add(
                    Device(
                        gateway_id=gateway.id, key=f"gw-{code}-{kind}-{room}", kind=kind, room=room
                    )
                )
            ids[f"station_{code}"] = station.id
            ids[f"resident_{code}"] = person.id
            ids[f"home_{code}"] = home.id
        users = {
            "admin": (Role.ADMIN, None),
            "staff_a": (Role.STAFF, ids["station_a"]),
            "manager_a": (Role.MANAGER, ids["station_a"]),
            "staff_b": (Role.STAFF, ids["station_b"]),
            "family_a": (Role.FAMILY, None),
            "installer": (Role.INSTALLER, None),
        }
        for username, (role, station_id) in users.items():
            user = User(
                username=username,
                password_hash=password_hash,
                display_name=username.replace("_", " ").title(),
                role=role.value,
                station_id=station_id,
            )
            session.add(user)
            await session.flush()
            ids[username] = user.id
        session.add(FamilyLink(user_id=ids["family_a"], resident_id=ids["resident_a"]))
    return ids


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """A fresh database migrated to the newest schema, seeded, and the app on top."""
    await asyncio.to_thread(upgrade, sqlite_url)
    engine = make_async_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    clock = ManualClock(START)
    feed = AlertFeed()
    ready = [True]
    store = await SQLiteStore.open(tmp_path / "timeseries.sqlite")
    quarantine = await SQLiteQuarantine.open(tmp_path / "quarantine.sqlite")
    statuses: dict[str, StatusMessage] = {}
    commands: list[tuple[str, CommandMessage]] = []
    problems: list[DetectorProblem] = []

    async def send_command(gateway: str, command: CommandMessage) -> None:
        commands.append((gateway, command))

    ctx = DashboardContext(
        sessions=sessions,
        alerts=AlertService(sessions, feed, clock),
        feed=feed,
        is_ready=lambda: ready[0],
        secret_key="test-secret-key-0123456789",
        clock=clock,
        auth_clock=clock,  # the tests move credential time too
        store=store,
        quarantine=quarantine,
        gateway_status=lambda: statuses,
        send_command=send_command,
        audit=AuditLog(sessions, clock),
        detector_problems=lambda: list(problems),
    )
    ids = await seed(sessions, clock)
    app = create_app(ctx)
    app.state.provisioning = ProvisioningSettings(BROKER_URL, None, RegistryOnlyAccounts())
    yield World(app, ctx, clock, sessions, ids, ready, store, statuses, commands, problems)
    await store.close()
    await quarantine.close()
    await engine.dispose()


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def token_for(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Bearer headers for ``username`` through the OAuth2 password flow."""
    response = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@contextlib.asynccontextmanager
async def alert_stream(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> AsyncIterator[AsyncIterator[str]]:
    """The SSE alert stream's lines, once it answered 200 with its preamble (retry, connected):
    from then on the subscription is open and a change made now is streamed."""
    async with client.stream("GET", "/api/v1/alerts/stream", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert await anext(lines) == "retry: 3000"
        assert await anext(lines) == ": connected"
        yield lines


class _Server(uvicorn.Server):
    """uvicorn with an event set once it listens (so tests wait on it, never sleep)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, lifespan="off", timeout_graceful_shutdown=2)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    ready = asyncio.create_task(server.ready.wait())
    done, _ = await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    assert ready in done, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


@pytest.fixture
async def served(world: World) -> AsyncIterator[str]:
    """The world's app served by uvicorn on a free loopback port; yields its base URL."""
    async with serve(world.app) as base:
        yield base


async def live_a_morning(world: World) -> None:
    """Home a's night and morning until 09:30: in bed 22:00-07:10, out 07:50, kitchen until 09:20."""
    await world.readings(
        "gw-a", "gw-a-bed-bedroom", "bed_occupied", (local(22, day=0), 1), (local(7, 10), 0)
    )
    await world.readings("gw-a", "gw-a-pir-bedroom", "motion", (local(7, 0), 1), (local(7, 12), 1))
    kitchen = [(local(h, m), 1.0) for h, m in ((7, 30), (8, 0), (8, 5), (8, 40), (9, 20))]
    await world.readings("gw-a", "gw-a-pir-kitchen", "motion", *kitchen)
    await world.readings(
        "gw-a", "gw-a-door-hallway", "contact_open", (local(7, 50), 1), (local(7, 51), 0)
    )
    await world.readings("gw-a", "gw-a-toilet-bathroom", "flush", (local(7, 15), 1))
    await world.readings("gw-a", "gw-a-door-hallway", "battery", (local(6, 0), 12))
    await world.readings("gw-a", "gw-a-pir-kitchen", "battery", (local(6, 0), 90))
    quarter = timedelta(minutes=15)
    beats = [(local(2) + i * quarter, 62.0 + i % 5) for i in range(30)]
    await world.readings("gw-a", "gw-a-wear", "heart_rate", *beats)
    steps = [(local(7) + i * quarter, 120.0) for i in range(10)]
    await world.readings("gw-a", "gw-a-wear", "steps", *steps)
