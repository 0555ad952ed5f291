"""Claim codes: once, before expiry, not for a revoked gateway; the HTTP claim and the gateway side."""

from __future__ import annotations

import asyncio
import stat
import threading
import tomllib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anxin import migrate
from anxin.localservers import Server, free_port, wait_for_port
from dashboard import provisioning_api
from dashboard.provisioning_api import ProvisioningSettings
from devices.clock import ManualClock
from gateway.config import load_config
from gateway.outbox import Outbox
from gateway.provision import ProvisionError, provision
from gateway.uplink import BrokerAddress, Uplink
from registry.broker_accounts import MosquittoDynsecAccounts
from registry.db import make_async_engine, make_sessionmaker
from registry.models import Gateway
from registry.passwords import verify_password
from registry.provisioning import (
    ClaimRefused,
    GatewayClaim,
    add_gateway,
    list_gateways,
    redeem_claim,
    revoke,
)
from tests.provisioning.conftest import ADMIN, ADMIN_PASSWORD

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T = TypeVar("T")


async def test_a_code_works_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        issued = await add_gateway(s, gateway_id="gw-claim-1", home_id=None, now=NOW)
        login = await redeem_claim(s, issued.code.lower(), NOW + timedelta(minutes=5))
        await s.commit()
    assert login.gateway_id == "gw-claim-1"
    async with sessions() as s:
        gateway = await s.get(Gateway, "gw-claim-1")
        assert gateway is not None
        assert verify_password(gateway.secret_hash, login.password)
        stored = list(await s.scalars(select(GatewayClaim.code_sha256)))
        assert issued.code not in stored  # only its hash is kept
        with pytest.raises(ClaimRefused, match="already used"):
            await redeem_claim(s, issued.code, NOW + timedelta(minutes=6))


async def test_expired_unknown_and_revoked_codes_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        late = await add_gateway(
            s, gateway_id="gw-late", home_id=None, now=NOW, ttl=timedelta(hours=1)
        )
        gone = await add_gateway(s, gateway_id="gw-gone", home_id=None, now=NOW)
        await revoke(s, "gw-gone", NOW)
        await s.commit()
        with pytest.raises(ClaimRefused, match="expired"):
            await redeem_claim(s, late.code, NOW + timedelta(hours=1))
        with pytest.raises(ClaimRefused, match="revoked"):
            await redeem_claim(s, gone.code, NOW)
        with pytest.raises(ClaimRefused, match="unknown"):
            await redeem_claim(s, "AAAA-BBBB-CCCC-DDDD", NOW)
        listed = {g.gateway_id: g for g in await list_gateways(s)}
        assert listed["gw-gone"].revoked_at is not None
        assert not listed["gw-late"].claimed


@dataclass
class _Ctx:
    """The two things the provisioning router takes from the dashboard context."""

    sessions: async_sessionmaker[AsyncSession]
    clock: ManualClock


@dataclass
class Platform:
    """The provisioning API served by uvicorn on loopback, and its registry's URL."""

    url: str
    registry_url: str
    accounts: MosquittoDynsecAccounts


async def _in_registry(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = make_async_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            result = await work(s)
            await s.commit()
            return result
    finally:
        await engine.dispose()


@pytest.fixture
def platform(tmp_path: Path, dynsec_server: Server) -> Iterator[Platform]:
    """The provisioning router on a migrated SQLite registry, accounts in the real Mosquitto."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade(url)
    app = FastAPI()
    app.include_router(provisioning_api.router)
    accounts = MosquittoDynsecAccounts("127.0.0.1", dynsec_server.port, ADMIN, ADMIN_PASSWORD)
    app.state.provisioning = ProvisioningSettings(
        f"mqtt://127.0.0.1:{dynsec_server.port}", None, accounts
    )
    engine = make_async_engine(url)
    app.state.ctx = _Ctx(make_sessionmaker(engine), ManualClock(NOW))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="provisioning-api")
    thread.start()
    wait_for_port(port)
    yield Platform(f"http://127.0.0.1:{port}", url, accounts)
    server.should_exit = True
    thread.join(timeout=10)
    asyncio.run(engine.dispose())


@pytest.mark.mosquitto
def test_provision_over_http_then_connect_then_revoke(
    platform: Platform, dynsec_server: Server, tmp_path: Path
) -> None:
    async def add(s: AsyncSession) -> str:
        return (await add_gateway(s, gateway_id="gw-field-7", home_id=None, now=NOW)).code

    code = asyncio.run(_in_registry(platform.registry_url, add))
    done = provision(platform.url, code, tmp_path / "gateway")
    assert stat.S_IMODE(done.identity_path.stat().st_mode) == 0o600
    identity = tomllib.loads(done.identity_path.read_text())
    assert identity["gateway_id"] == "gw-field-7"
    assert identity["broker_port"] == dynsec_server.port
    with pytest.raises(ProvisionError, match="403"):
        provision(platform.url, code, tmp_path / "again")
    config = load_config(done.identity_path)
    assert config.password is not None
    secret = config.password.get_secret_value()
    assert asyncio.run(
        _connects(config.gateway_id, config.broker_port, config.login, secret, tmp_path)
    )

    async def revoke_it(s: AsyncSession) -> None:
        await revoke(s, "gw-field-7", NOW)

    asyncio.run(_in_registry(platform.registry_url, revoke_it))
    asyncio.run(platform.accounts.remove_gateway("gw-field-7"))
    assert not asyncio.run(
        _connects(config.gateway_id, config.broker_port, config.login, secret, tmp_path)
    )


async def _connects(gw: str, port: int, user: str | None, password: str, tmp: Path) -> bool:
    box = Outbox(tmp / f"{gw}-{uuid.uuid4().hex[:6]}.db")
    uplink = Uplink(gw, BrokerAddress("127.0.0.1", port, user, password), box, ManualClock(NOW))
    task = asyncio.create_task(uplink.run())
    try:
        async with asyncio.timeout(3.0):
            await uplink.connected.wait()
        return True
    except TimeoutError:
        return False
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        box.close()
