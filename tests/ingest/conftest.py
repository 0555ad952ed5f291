"""Fixtures of the ingest tests: both store adapters on real backends, a quarantine."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from anxin.localservers import Server
from ingest.influx_store import InfluxStore
from ingest.quarantine import SQLiteQuarantine
from ingest.sqlite_store import SQLiteStore
from ingest.store import ReadingStore

_databases = itertools.count()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """A fresh SQLite store in the test's temp dir."""
    store = await SQLiteStore.open(tmp_path / "series.db")
    yield store
    await store.close()


@pytest.fixture
async def influx_store(influxdb_server: Server) -> AsyncIterator[InfluxStore]:
    """A fresh database on the session's real InfluxDB."""
    store = await InfluxStore.open(influxdb_server.url, f"anxin_test_{next(_databases)}")
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", pytest.param("influxdb", marks=pytest.mark.influxdb)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadingStore]:
    """Each store adapter in turn, on a real backend."""
    opened: ReadingStore
    if request.param == "sqlite":
        opened = await SQLiteStore.open(tmp_path / "series.db")
    else:
        server: Server = request.getfixturevalue("influxdb_server")
        opened = await InfluxStore.open(server.url, f"anxin_contract_{next(_databases)}")
    yield opened
    await opened.close()


@pytest.fixture
async def quarantine(tmp_path: Path) -> AsyncIterator[SQLiteQuarantine]:
    """A fresh quarantine in the test's temp dir."""
    q = await SQLiteQuarantine.open(tmp_path / "quarantine.db")
    yield q
    await q.close()
