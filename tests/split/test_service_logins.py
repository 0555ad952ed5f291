"""``anxin broker add-service``: a service login on a dynamic-security Mosquitto, its password in
a 0600 file, never a file whose password does not work."""

from __future__ import annotations

import asyncio
import json
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest

from anxin.broker_cli import ADMIN_PASSWORD_ENV
from devices.codec import decode_as, encode
from devices.payloads import ReadingIn, ReadingsMessage
from devices.topics import UPLINK, Channel, subscription, topic
from registry.broker_accounts import SERVICE_ROLE
from tests.split.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    Gateway,
    SecuredBroker,
    run_cli,
    run_main,
)

pytestmark = pytest.mark.mosquitto

WAIT_S = 10.0


async def add_service(
    broker: SecuredBroker, username: str, path: Path, *extra: str, url: str | None = None
) -> tuple[int, str]:
    """The command, run in this process; (exit code, stdout). Log lines: ``caplog``."""
    return await asyncio.to_thread(
        run_main, "broker", "add-service", username, "--dynsec", url or broker.dynsec_url,
        "--password-file", str(path), *extra,
    )  # fmt: skip


async def refused(broker: SecuredBroker, username: str, password: str) -> bool:
    """True when the broker refuses this login."""
    try:
        async with broker.client(username, password):
            return False
    except aiomqtt.MqttError:
        return True


def _reading() -> bytes:
    now = datetime.now(UTC)
    return encode(
        ReadingsMessage(
            gw="gw-1", boot="boot1", seq=1, sent_at=now,
            readings=[ReadingIn(dev="pir-hallway", m="motion", val=1, t=now)],
        )
    )  # fmt: skip


async def test_the_login_reads_every_gateways_uplink_and_its_file_is_0600(
    secured_broker: SecuredBroker, gateway: Gateway, tmp_path: Path
) -> None:
    name = f"anxin-ingest-{uuid.uuid4().hex[:6]}"
    path = tmp_path / "ingest.pw"
    # the installed entry point, as an operator types it
    result = await asyncio.to_thread(
        run_cli, "broker", "add-service", name, "--dynsec", secured_broker.dynsec_url,
        "--password-file", str(path), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "username": name, "role": SERVICE_ROLE, "password_file": str(path), "replaced": False,
    }  # fmt: skip
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert len(password) >= 40  # 256 random bits
    assert password not in result.stdout + result.stderr
    assert _names(tmp_path) == ["ingest.pw"]  # no temp file left behind
    filters = [subscription(c) for c in UPLINK]
    async with secured_broker.client(name, password) as service:
        granted = await service.subscribe([(f, 1) for f in filters])
        assert [getattr(g, "value", g) for g in granted] == [1, 1, 1]
        async with gateway.connect() as gw:
            await gw.publish(topic(gateway.id, Channel.READINGS), _reading(), qos=1)
        async with asyncio.timeout(WAIT_S):
            message = await anext(aiter(service.messages))
    assert message.topic.value == topic(gateway.id, Channel.READINGS)
    assert isinstance(message.payload, bytes)
    assert decode_as(ReadingsMessage, message.payload).readings[0].m == "motion"


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_an_existing_file_or_login_is_refused_and_force_replaces_both(
    secured_broker: SecuredBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"anxin-alerts-{uuid.uuid4().hex[:6]}"
    path = tmp_path / "alerts.pw"
    assert (await add_service(secured_broker, name, path))[0] == 0
    first = path.read_text()

    caplog.clear()
    assert (await add_service(secured_broker, name, path))[0] == 1
    assert "reason=exists" in caplog.text
    assert path.read_text() == first  # untouched

    path.unlink()  # the file is lost, the login is still on the broker
    caplog.clear()
    assert (await add_service(secured_broker, name, path))[0] == 1
    assert f"the broker has a login {name!r} already" in caplog.text
    assert _names(tmp_path) == []  # no file with a password the broker does not know

    code, out = await add_service(secured_broker, name, path, "--force")
    assert code == 0
    assert json.loads(out)["replaced"] is True
    second = path.read_text()
    assert second != first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert await refused(secured_broker, name, first.strip())
    assert not await refused(secured_broker, name, second.strip())


async def test_the_admin_password_can_come_from_the_environment(
    secured_broker: SecuredBroker,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``mqtt://admin:password@…`` shows the password in ``ps``: it may be left out."""
    url = f"mqtt://{ADMIN}@127.0.0.1:{secured_broker.admin_port}"
    name = f"anxin-env-{uuid.uuid4().hex[:6]}"
    path = tmp_path / "a.pw"
    monkeypatch.setenv(ADMIN_PASSWORD_ENV, "wrong")
    assert (await add_service(secured_broker, name, path, url=url))[0] == 1
    assert "Not authorized" in caplog.text
    assert not path.exists()
    monkeypatch.setenv(ADMIN_PASSWORD_ENV, ADMIN_PASSWORD)
    assert (await add_service(secured_broker, name, path, url=url))[0] == 0
    assert not await refused(secured_broker, name, path.read_text().strip())
