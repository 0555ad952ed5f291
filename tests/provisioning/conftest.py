"""Fixtures of the provisioning tests: a Mosquitto with dynamic security, migrated registries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin import localservers
from registry.broker_accounts import MosquittoDynsecAccounts, dynsec_mosquitto_conf, init_dynsec
from tests.registry.databases import database_url, sessions

__all__ = ["database_url", "sessions"]

ADMIN, ADMIN_PASSWORD = "anxin-admin", "admin-pw-for-tests"
SERVICE, SERVICE_PASSWORD = "anxin-ingest", "ingest-pw-for-tests"


@pytest.fixture(scope="module")
def dynsec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[localservers.Server]:
    """A real Mosquitto whose logins and ACLs come from the dynamic-security plugin."""
    data = tmp_path_factory.mktemp("dynsec")
    config = data / "dynsec.json"
    init_dynsec(config, ADMIN, ADMIN_PASSWORD)
    config.chmod(0o666)
    port = localservers.free_port()
    server = localservers.mosquitto(
        data, f"listener {port} 127.0.0.1\n" + dynsec_mosquitto_conf(config), port=port
    )
    yield server
    server.close()


@pytest.fixture
async def accounts(dynsec_server: localservers.Server) -> MosquittoDynsecAccounts:
    """The platform's handle on the broker's accounts, with the ingest service login created."""
    acc = MosquittoDynsecAccounts("127.0.0.1", dynsec_server.port, ADMIN, ADMIN_PASSWORD)
    await acc.create_service(SERVICE, SERVICE_PASSWORD)
    return acc


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A gateway's data directory."""
    return tmp_path / "gw"
