"""Session-wide real servers (Mosquitto, InfluxDB, PostgreSQL) on loopback, on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin import localservers


@pytest.fixture(scope="module")
def mosquitto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localservers.Server]:
    """A plain Mosquitto (anonymous, loopback, persistence on), one per test module.

    Every consumer subscribes to the same ``anxin/v1/+/…`` filters; a broker per module keeps
    one module's traffic (and persistent sessions, and anything a test left publishing) out of
    another's counts. Starting one takes a few tens of milliseconds.
    """
    server = localservers.mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def influxdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localservers.Server]:
    """A real InfluxDB 1.x with its data in a temp dir, shared by the session."""
    server = localservers.influxdb(tmp_path_factory.mktemp("influxdb"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localservers.Server]:
    """A throwaway PostgreSQL cluster shared by the session."""
    server = localservers.postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file URL."""
    return f"sqlite:///{tmp_path / 'anxin.db'}"
