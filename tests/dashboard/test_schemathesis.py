"""schemathesis against the OpenAPI schema: generated requests never get a server error."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema

from alerts.feed import AlertFeed
from alerts.service import AlertService
from anxin.migrate import upgrade
from dashboard import tokens
from dashboard.app import create_app
from dashboard.context import DashboardContext
from dashboard.provisioning_api import ProvisioningSettings
from devices.clock import ManualClock
from ingest.quarantine import SQLiteQuarantine
from registry.broker_accounts import RegistryOnlyAccounts
from registry.db import make_async_engine, make_sessionmaker
from tests.dashboard.conftest import BROKER_URL, START, seed

SECRET = "schemathesis-secret-0123456789"
# POST /api/v1/provisioning/gateways answers 500 on {"gateway_id": "gw-x", "home_id": 2**64}
# (SQLite OverflowError; on PostgreSQL any home_id > 2^31-1): dashboard/provisioning_api.py is
# issue 3's to fix (bound home_id to 1..2^31-1). test_provisioning_home_id_overflow tracks it.


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """The app on a migrated, seeded SQLite file, and an admin's bearer header."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('schemathesis')) / 'anxin.db'}"
    upgrade(url)

    async def seeded() -> dict[str, int]:
        engine = make_async_engine(url)
        ids = await seed(make_sessionmaker(engine), ManualClock(START))
        await engine.dispose()
        return ids

    ids = asyncio.run(seeded())
    engine = make_async_engine(url)
    sessions = make_sessionmaker(engine)
    clock = ManualClock(START)
    feed = AlertFeed()
    ctx = DashboardContext(
        sessions=sessions,
        alerts=AlertService(sessions, feed, clock),
        feed=feed,
        is_ready=lambda: True,
        secret_key=SECRET,
        clock=clock,
        auth_clock=clock,
        quarantine=asyncio.run(
            SQLiteQuarantine.open(Path(url.removeprefix("sqlite:///")).with_name("q.db"))
        ),
    )
    token = tokens.issue(SECRET, tokens.API_PURPOSE, ids["admin"], START, timedelta(days=1))
    app = create_app(ctx)
    app.state.provisioning = ProvisioningSettings(BROKER_URL, None, RegistryOnlyAccounts())
    yield app, {"Authorization": f"Bearer {token}"}
    asyncio.run(engine.dispose())


@pytest.fixture(scope="module")
def api_schema(api_app: tuple[FastAPI, dict[str, str]]) -> BaseSchema:
    """The app's OpenAPI schema, called in-process; the SSE stream is left out (it never ends)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app[0])
    return schema.exclude(path="/api/v1/alerts/stream")


def test_no_server_errors(api_app: tuple[FastAPI, dict[str, str]]) -> None:
    # Each operation driven by Hypothesis directly (schemathesis' pytest plugin fails on this pytest).
    app, headers = api_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(
        path="/api/v1/alerts/stream"
    )
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()


def test_provisioning_home_id_beyond_32_bits_is_refused(
    api_app: tuple[FastAPI, dict[str, str]],
) -> None:
    app, headers = api_app

    async def post() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            body = {"gateway_id": "gw-overflow", "home_id": 2**64}
            response = await http.post("/api/v1/provisioning/gateways", json=body, headers=headers)
            return response.status_code

    assert asyncio.run(post()) == 422
