"""``anxin ingest`` against a production-like Mosquitto: TLS, a dynsec service login.

It stores what a provisioned gateway publishes; a login or TLS setting that cannot work is an
ERROR at every retry, never a silent wait (the process keeps retrying, as it does for a broker
that is down: the login may be created or fixed while it runs — docs/architecture.md).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devices.codec import decode_as, encode
from devices.payloads import AckMessage, ReadingIn, ReadingsMessage
from devices.topics import Channel, topic
from ingest.sqlite_store import SQLiteStore
from tests.gateway.tlscerts import make_pki
from tests.split.conftest import Gateway, SecuredBroker, ServiceLogins
from tests.split.processes import Child, anxin

pytestmark = pytest.mark.mosquitto

WAIT_S = 15.0


def ingest_argv(tmp_path: Path, registry_url: str, *broker: str) -> tuple[str, ...]:
    """``anxin ingest`` on a SQLite store in ``tmp_path`` with these broker options."""
    return (
        "ingest", "--store", "sqlite", "--sqlite-path", str(tmp_path / "series.db"),
        "--quarantine-path", str(tmp_path / "quarantine.db"), "--database-url", registry_url,
        *broker,
    )  # fmt: skip


async def test_ingest_stores_a_gateways_reading_over_tls_with_its_service_login(
    secured_broker: SecuredBroker,
    service_logins: ServiceLogins,
    gateway: Gateway,
    registry_url: str,
    tmp_path: Path,
) -> None:
    login = service_logins.ingest.args(secured_broker)
    # two workers: the broker options must reach the spawned processes too
    argv = ingest_argv(tmp_path, registry_url, *login, "--workers", "2")
    now = datetime.now(UTC).replace(microsecond=0)
    message = ReadingsMessage(
        gw=gateway.id, boot="bootsecured", seq=7, sent_at=now,
        readings=[ReadingIn(dev="pir-hallway", m="motion", val=1, t=now - timedelta(seconds=1))],
    )  # fmt: skip
    async with anxin(*argv, cwd=tmp_path) as ingest:
        subscribed = await ingest.wait_for("ingest_subscribed", count=2)
        assert all("tls=on" in line and "username=anxin-ingest" in line for line in subscribed)
        async with gateway.connect() as gw:
            await gw.subscribe(topic(gateway.id, Channel.ACK), qos=1)
            await gw.publish(topic(gateway.id, Channel.READINGS), encode(message), qos=1)
            async with asyncio.timeout(WAIT_S):
                reply = await anext(aiter(gw.messages))
        assert not ingest.matching("ERROR")
    assert isinstance(reply.payload, bytes)
    ack = decode_as(AckMessage, reply.payload)
    assert (ack.boot, ack.seqs) == ("bootsecured", [7])  # acked: durably stored
    store = await SQLiteStore.open(tmp_path / "series.db")
    try:
        stored = await store.recent_readings(
            gateway.id, "pir-hallway", "motion", now - timedelta(minutes=1), now
        )
    finally:
        await store.close()
    assert [(r.value, r.time) for r in stored] == [(1.0, now - timedelta(seconds=1))]


async def _refused_each_retry(ingest: Child, *says: str) -> None:
    """Two ERROR lines saying ``says``, the process still retrying, never subscribed."""
    lines = await ingest.wait_for("ERROR", "ingest_broker_refused", *says, count=2)
    assert all("retry_in_s=" in line for line in lines)
    assert ingest.proc.returncode is None
    assert not ingest.matching("ingest_subscribed")


async def test_a_wrong_password_is_an_error_at_every_retry(
    secured_broker: SecuredBroker, service_logins: ServiceLogins, registry_url: str, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("not-the-password\n")
    login = service_logins.ingest.args(secured_broker)
    argv = ingest_argv(tmp_path, registry_url, *login, "--mqtt-password-file", str(wrong))
    async with anxin(*argv, cwd=tmp_path) as ingest:
        await _refused_each_retry(ingest, "the broker refused the login", "Not authorized")
    assert not any("not-the-password" in line for line in ingest.lines)


async def test_a_broker_certificate_from_another_ca_is_an_error_at_every_retry(
    secured_broker: SecuredBroker, service_logins: ServiceLogins, registry_url: str, tmp_path: Path
) -> None:
    other = make_pki(tmp_path / "other", "Someone else's CA")
    login = service_logins.ingest.args(secured_broker)
    argv = ingest_argv(tmp_path, registry_url, *login, "--mqtt-ca", str(other.ca))
    async with anxin(*argv, cwd=tmp_path) as ingest:
        await _refused_each_retry(ingest, "TLS handshake failed", "CERTIFICATE_VERIFY_FAILED")


async def test_a_login_without_the_service_role_is_told_its_subscription_was_refused(
    secured_broker: SecuredBroker, registry_url: str, tmp_path: Path
) -> None:
    """Without the SUBACK check such a login looked subscribed and received nothing."""
    await secured_broker.accounts().run(
        [{"command": "createClient", "username": "no-role", "password": "pw-no-role"}],
        tolerate=("Client already exists",),
    )
    password = tmp_path / "no-role.pw"
    password.write_text("pw-no-role\n")
    argv = ingest_argv(
        tmp_path, registry_url, "--mqtt-port", str(secured_broker.tls_port),
        "--mqtt-ca", str(secured_broker.pki.ca), "--mqtt-username", "no-role",
        "--mqtt-password-file", str(password),
    )  # fmt: skip
    async with anxin(*argv, cwd=tmp_path) as ingest:
        await _refused_each_retry(ingest, "refused the subscription", "anxin/v1/+/readings")


@pytest.mark.slow
async def test_plain_mqtt_to_the_tls_listener_is_an_error_not_a_silent_wait(
    secured_broker: SecuredBroker, service_logins: ServiceLogins, registry_url: str, tmp_path: Path
) -> None:
    """Mosquitto drops it at once, but aiomqtt only notices when its 10 s timeout passes."""
    argv = ingest_argv(
        tmp_path, registry_url, "--mqtt-port", str(secured_broker.tls_port),
        "--mqtt-username", "anxin-ingest",
        "--mqtt-password-file", str(service_logins.ingest.password_file),
    )  # fmt: skip
    async with anxin(*argv, cwd=tmp_path) as ingest:
        line = (await ingest.wait_for("ERROR", "ingest_broker_refused", wait_s=25.0))[0]
        assert "no answer to CONNECT in time" in line
        assert "TLS listener" in line
        assert ingest.proc.returncode is None
