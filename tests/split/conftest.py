"""A production-like broker for the split deployment: Mosquitto with TLS and dynamic security.

Listeners, as docs/architecture.md describes them: TLS for the services and the gateways, a
TLS listener that also requires a client certificate, and plain MQTT on loopback for the
dynamic-security admin only (dynsec checks logins on every listener, that one included).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import json
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import pytest

from anxin import localservers, migrate
from anxin.__main__ import main
from registry.broker_accounts import MosquittoDynsecAccounts, dynsec_mosquitto_conf, init_dynsec
from registry.db import make_async_engine, make_sessionmaker
from registry.repository import DeviceSpec, create_gateway, create_home, create_station
from tests.alerts.conftest import START, home
from tests.gateway.tlscerts import TlsFiles, make_pki
from tests.registry.databases import database_url, sessions
from tests.split.processes import child_env

__all__ = ["database_url", "home", "sessions"]

ADMIN, ADMIN_PASSWORD = "anxin-admin", "admin-pw-for-tests"
GATEWAY = "gw-1"  # the gateway of the alerts tests' home, also registered for ingest
GATEWAY_PASSWORD = "pw-gw-1-for-tests"
CLI_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class SecuredBroker:
    """The running broker, its ports and its PKI."""

    server: localservers.Server
    admin_port: int  # plain MQTT, loopback: the dynsec admin's
    tls_port: int  # TLS: services and gateways
    cert_port: int  # TLS and a client certificate required
    pki: TlsFiles

    @property
    def dynsec_url(self) -> str:
        """What ``--dynsec`` takes."""
        return f"mqtt://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{self.admin_port}"

    def accounts(self) -> MosquittoDynsecAccounts:
        """The dynsec admin's handle."""
        return MosquittoDynsecAccounts("127.0.0.1", self.admin_port, ADMIN, ADMIN_PASSWORD)

    def tls(self) -> ssl.SSLContext:
        """A client context that trusts the test CA."""
        return ssl.create_default_context(cafile=str(self.pki.ca))

    @contextlib.asynccontextmanager
    async def client(
        self, username: str, password: str, identifier: str | None = None
    ) -> AsyncIterator[aiomqtt.Client]:
        """An MQTT session over TLS as ``username``."""
        async with aiomqtt.Client(
            "127.0.0.1",
            self.tls_port,
            username=username,
            password=password,
            identifier=identifier,
            tls_context=self.tls(),
        ) as client:
            yield client


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    """One TLS + dynsec Mosquitto per test module."""
    data = tmp_path_factory.mktemp("secured")
    pki = make_pki(data / "pki")
    config = data / "dynsec.json"
    init_dynsec(config, ADMIN, ADMIN_PASSWORD)
    config.chmod(0o666)
    admin, tls, cert = (localservers.free_port() for _ in range(3))
    certs = f"cafile {pki.ca}\ncertfile {pki.cert}\nkeyfile {pki.key}\n"
    server = localservers.mosquitto(
        data / "mq",
        f"listener {admin} 127.0.0.1\n"
        f"listener {tls} 127.0.0.1\n{certs}"
        f"listener {cert} 127.0.0.1\n{certs}require_certificate true\n"
        + dynsec_mosquitto_conf(config),
        port=tls,
    )
    localservers.wait_for_port(admin)
    localservers.wait_for_port(cert)
    yield SecuredBroker(server, admin, tls, cert, pki)
    server.close()


def run_cli(
    *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m anxin ARGV…`` to its end (the real entry point; ~3 s of imports)."""
    return subprocess.run(
        [sys.executable, "-m", "anxin", *argv],
        cwd=cwd,
        env=env if env is not None else child_env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def run_main(*argv: str) -> tuple[int, str]:
    """``anxin ARGV…`` in this process (in a thread: it runs its own event loop); (exit code,
    stdout). Its log lines reach the test's ``caplog``."""

    def call() -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(list(argv))
        return code, out.getvalue()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result(timeout=CLI_TIMEOUT_S)


@dataclass(frozen=True)
class ServiceLogin:
    """A service login made by ``anxin broker add-service``."""

    username: str
    password_file: Path

    @property
    def password(self) -> str:
        """What the command wrote."""
        return self.password_file.read_text().strip()

    def args(self, broker: SecuredBroker) -> tuple[str, ...]:
        """The broker options of ``anxin ingest`` / ``anxin alerts run`` for this login."""
        return (
            "--mqtt-host", "127.0.0.1", "--mqtt-port", str(broker.tls_port),
            "--mqtt-ca", str(broker.pki.ca),
            "--mqtt-username", self.username, "--mqtt-password-file", str(self.password_file),
        )  # fmt: skip


@dataclass(frozen=True)
class ServiceLogins:
    """The logins of the two platform services."""

    ingest: ServiceLogin
    alerts: ServiceLogin


@pytest.fixture(scope="module")
def service_logins(
    secured_broker: SecuredBroker, tmp_path_factory: pytest.TempPathFactory
) -> ServiceLogins:
    """``anxin-ingest`` and ``anxin-alerts``, made as an operator would."""
    where = tmp_path_factory.mktemp("logins")
    made = []
    for name in ("anxin-ingest", "anxin-alerts"):
        path = where / f"{name}.pw"
        code, out = run_main(
            "broker", "add-service", name, "--dynsec", secured_broker.dynsec_url,
            "--password-file", str(path),
        )  # fmt: skip
        assert code == 0
        assert json.loads(out)["username"] == name
        made.append(ServiceLogin(name, path))
    return ServiceLogins(*made)


@dataclass(frozen=True)
class Gateway:
    """A provisioned gateway's broker login."""

    broker: SecuredBroker
    id: str = GATEWAY
    password: str = GATEWAY_PASSWORD

    def connect(self) -> contextlib.AbstractAsyncContextManager[aiomqtt.Client]:
        """Its MQTT session over TLS (client id = gateway id, as dynsec pins it)."""
        return self.broker.client(self.id, self.password, self.id)


@pytest.fixture
async def gateway(secured_broker: SecuredBroker) -> Gateway:
    """gw-1 with its dynsec login (made again for each test)."""
    await secured_broker.accounts().create_gateway(GATEWAY, GATEWAY_PASSWORD)
    return Gateway(secured_broker)


@pytest.fixture
async def registry_url(tmp_path: Path) -> str:
    """A migrated SQLite registry in which gw-1 is a known gateway (ingest checks that)."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_async_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            station = await create_station(session, name="东城驿站", code="east")
            flat = await create_home(session, station_id=station.id, label="3-402")
            await create_gateway(
                session, gateway_id=GATEWAY, home_id=flat.id, created_at=START,
                devices=[DeviceSpec("pir-hallway", "pir", "hallway")],
            )  # fmt: skip
    finally:
        await engine.dispose()
    return url
