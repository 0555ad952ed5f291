"""Fixtures for fresh, migrated relational databases: a SQLite file or a new PostgreSQL database.

Imported by the conftest of each test package that needs them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anxin import migrate
from anxin.localservers import Server
from registry.db import make_async_engine, make_sessionmaker

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


STARTUP_WAIT_S = 30.0  # localservers waits for the port only; recovery may still be running


def _admin_connection(server: Server) -> psycopg.Connection[tuple[object, ...]]:
    """Connect to the cluster's maintenance database, waiting out "the database is starting up"."""
    deadline = time.monotonic() + STARTUP_WAIT_S
    while True:
        try:
            return psycopg.connect(server.url, autocommit=True)
        except psycopg.OperationalError as err:
            if "starting up" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def create_pg_database(server: Server) -> str:
    """A new empty database on the test cluster; returns its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with _admin_connection(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(server: Server, url: str) -> None:
    """Drop a database made by create_pg_database, even if connections linger."""
    name = url.rsplit("/", 1)[1]
    with _admin_connection(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database, once per backend (SQLite, the real PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'anxin.db'}"
        return
    server: Server = request.getfixturevalue("postgres_server")
    url = await asyncio.to_thread(create_pg_database, server)
    try:
        yield url
    finally:
        await asyncio.to_thread(drop_pg_database, server, url)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Async sessions on the database, migrated to the newest revision."""
    await asyncio.to_thread(migrate.upgrade, database_url)
    engine = make_async_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()
