"""``anxin alerts run`` against a production-like Mosquitto: every MQTT client of the service (the
event engine, link health, the command sender) logs in with the service login over TLS."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest

from anxin.broker_login import BrokerLogin, add_broker_options, broker_settings
from anxin.commands import CommandPublisher
from devices.codec import decode_as, encode
from devices.payloads import CommandKind, CommandMessage, GatewayState, StatusMessage
from devices.topics import Channel, topic
from ingest.broker_problems import broker_problem
from tests.alerts.conftest import Home
from tests.alerts.test_restart import fall
from tests.split.conftest import Gateway, SecuredBroker, ServiceLogins
from tests.split.processes import anxin

pytestmark = pytest.mark.mosquitto

WAIT_S = 10.0
STOP_S = 10.0  # SIGTERM to exit: it drains, it does not wait for the broker


def alerts_argv(database_url: str, tmp_path: Path, *broker: str) -> tuple[str, ...]:
    """``anxin alerts run`` in real time on this database, a SQLite series file in ``tmp_path``."""
    return (
        "alerts", "run", "--database-url", database_url,
        "--store", "sqlite", "--sqlite-path", str(tmp_path / "series.db"), *broker,
    )  # fmt: skip


async def test_a_gateways_fall_and_its_lost_link_are_alerted_over_tls(
    home: Home,
    database_url: str,
    secured_broker: SecuredBroker,
    service_logins: ServiceLogins,
    gateway: Gateway,
    tmp_path: Path,
) -> None:
    argv = alerts_argv(database_url, tmp_path, *service_logins.alerts.args(secured_broker))
    status = topic(gateway.id, Channel.STATUS)
    offline = StatusMessage(
        gw=gateway.id, boot="bootsecured", state=GatewayState.OFFLINE, t=datetime.now(UTC)
    )
    async with anxin(*argv, cwd=tmp_path) as service:
        ready = (await service.wait_for("alert_service_ready"))[0]
        assert "tls=on" in ready
        assert "username=anxin-alerts" in ready
        try:
            async with gateway.connect() as gw:
                await gw.publish(topic(gateway.id, Channel.EVENTS), fall(gateway.id), qos=1)
                # retained, as a last will is: the link monitor reads it whenever it subscribes
                await gw.publish(status, encode(offline), qos=1, retain=True)
            await service.wait_for("alert_changed", "kind=fall")
            await service.wait_for("alert_changed", "kind=gateway_offline")
        finally:
            async with gateway.connect() as gw:
                await gw.publish(status, b"", qos=1, retain=True)  # the next test starts clean
        assert not service.matching("ERROR")
    alerts = await home.service.list(station_ids=[home.station_id])
    kinds = sorted(a.kind for a in alerts)
    assert kinds == ["fall", "gateway_offline"]


async def test_a_wrong_password_is_an_error_at_every_retry(
    home: Home,  # a migrated database with a home
    database_url: str,
    secured_broker: SecuredBroker,
    service_logins: ServiceLogins,
    tmp_path: Path,
) -> None:
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("not-the-password\n")
    broker = (*service_logins.alerts.args(secured_broker), "--mqtt-password-file", str(wrong))
    async with anxin(*alerts_argv(database_url, tmp_path, *broker), cwd=tmp_path) as service:
        lines = await service.wait_for(
            "ERROR", "alerts_broker_refused", "the broker refused the login", count=2
        )
        assert all("username=anxin-alerts" in line for line in lines)
        assert service.proc.returncode is None  # retrying: it may be fixed while it runs
        assert not service.matching("alert_service_ready")
        assert await service.stop(within_s=STOP_S) == 0  # and an operator can still stop it


async def test_commands_reach_a_gateway_over_tls_with_the_service_login(
    secured_broker: SecuredBroker, service_logins: ServiceLogins, gateway: Gateway
) -> None:
    login = await asyncio.to_thread(_login, service_logins.alerts.args(secured_broker))
    command = CommandMessage(
        id=f"cmd-{uuid.uuid4().hex[:8]}", kind=CommandKind.TEST_ALARM, t=datetime.now(UTC)
    )
    async with gateway.connect() as gw:
        await gw.subscribe(topic(gateway.id, Channel.COMMANDS), qos=1)
        await CommandPublisher.at(login).send(gateway.id, command)
        async with asyncio.timeout(WAIT_S):
            message = await anext(aiter(gw.messages))
    assert isinstance(message.payload, bytes)
    assert decode_as(CommandMessage, message.payload).id == command.id


async def test_a_client_certificate_is_presented_where_the_broker_requires_one(
    secured_broker: SecuredBroker, service_logins: ServiceLogins
) -> None:
    port = ("--mqtt-port", str(secured_broker.cert_port))
    args = service_logins.alerts.args(secured_broker) + port
    pki = secured_broker.pki
    cert = ("--mqtt-cert", str(pki.client_cert), "--mqtt-key", str(pki.client_key))
    with_cert = await asyncio.to_thread(_login, args + cert)
    async with aiomqtt.Client(
        with_cert.host, with_cert.port, username=with_cert.username,
        password=with_cert.password, tls_context=with_cert.tls,
    ):  # fmt: skip
        pass
    without = await asyncio.to_thread(_login, args)
    with pytest.raises(aiomqtt.MqttError) as refused:
        async with aiomqtt.Client(
            without.host, without.port, username=without.username,
            password=without.password, tls_context=without.tls, timeout=2,
        ):  # fmt: skip
            pass
    assert broker_problem(refused.value, established=False) is not None  # an ERROR, with why


def _login(argv: tuple[str, ...]) -> BrokerLogin:
    """What ``anxin alerts run`` makes of these broker options."""
    parser = argparse.ArgumentParser(allow_abbrev=False)
    add_broker_options(parser)
    return broker_settings(parser.parse_args(list(argv)), {}).login()
