"""The ``anxin-gateway`` command line."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiomqtt
import pytest

from anxin.localservers import Server
from devices.payloads import GatewayState, ReadingsMessage, StatusMessage
from gateway.__main__ import _bus_forever, config_from_args
from gateway.errors import ConfigError
from tests.gateway.conftest import IngestFactory
from tests.races import stopped_as


def test_flags_override_the_toml_file(tmp_path: Path) -> None:
    toml = tmp_path / "gw.toml"
    toml.write_text('gateway_id = "from-file"\nbroker_port = 1999\nheartbeat_s = 5.0\n')
    config, simulate = config_from_args(
        [
            "--config",
            str(toml),
            "--broker",
            "mqtt://10.1.2.3:2883",
            "--password",
            "s3cret",
            "--simulate",
        ]
    )
    assert (config.gateway_id, config.broker_host, config.broker_port) == (
        "from-file",
        "10.1.2.3",
        2883,
    )
    assert config.heartbeat_s == 5.0
    assert config.login == "from-file"  # a password without a username logs in as the gateway
    assert simulate


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="mqtt://"):
        config_from_args(["--id", "gw-1", "--broker", "http://x"])
    with pytest.raises(ConfigError, match="gateway_id"):
        config_from_args(["--id", "no spaces allowed"])


@pytest.mark.mosquitto
async def test_the_command_runs_a_simulated_gateway_and_stops_on_sigterm(
    mosquitto_server: Server, fake_ingest: IngestFactory, gateway_id: str, tmp_path: Path
) -> None:
    ingest = await fake_ingest(gateway_id)
    argv = [sys.executable, "-m", "gateway", "--broker", f"mqtt://127.0.0.1:{mosquitto_server.port}",
            "--id", gateway_id, "--data-dir", str(tmp_path), "--simulate", "--seed", "3",
            "--speed", "600"]  # fmt: skip
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=Path(__file__).parents[2], stderr=log
        )
        try:
            await ingest.wait_for(lambda s: ingest.of(ReadingsMessage), wait_s=30)
            proc.send_signal(signal.SIGTERM)
            await ingest.wait_for(
                lambda s: [m for m in ingest.of(StatusMessage) if m.state is GatewayState.OFFLINE]
            )
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                await proc.wait()
    err = log_path.read_text()
    assert proc.returncode == 0, err
    assert "gateway.stop" in err


@pytest.mark.mosquitto
async def test_the_command_pairs_and_relays_a_zigbee2mqtt_device(
    mosquitto_server: Server, fake_ingest: IngestFactory, gateway_id: str, tmp_path: Path
) -> None:
    """``--zigbee2mqtt``: a platform pair_device command, then the device's reports go upstream."""
    import json
    import uuid
    from datetime import UTC, datetime

    import aiomqtt

    from devices.codec import encode
    from devices.payloads import CommandKind, CommandMessage
    from devices.topics import Channel, topic

    fixtures = Path(__file__).parents[1] / "fixtures" / "zigbee2mqtt"
    motion = (fixtures / "RTCGQ11LM.json").read_text()
    ingest = await fake_ingest(gateway_id)
    url = f"mqtt://127.0.0.1:{mosquitto_server.port}"  # one broker plays platform and local bus
    argv = [sys.executable, "-m", "gateway", "--broker", url, "--id", gateway_id,
            "--data-dir", str(tmp_path), "--zigbee2mqtt", url]  # fmt: skip
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=Path(__file__).parents[2], stderr=log
        )
        try:
            await ingest.wait_for(lambda s: ingest.of(StatusMessage), wait_s=30)
            async with aiomqtt.Client("127.0.0.1", mosquitto_server.port) as platform:
                pair = CommandMessage(
                    id=uuid.uuid4().hex,
                    kind=CommandKind.PAIR_DEVICE,
                    args={"friendly_name": "kitchen motion", "kind": "pir", "room": "kitchen"},
                    t=datetime.now(UTC),
                )
                await platform.subscribe("zigbee2mqtt/bridge/request/permit_join", qos=1)
                await platform.publish(topic(gateway_id, Channel.COMMANDS), encode(pair), qos=1)
                permit = await asyncio.wait_for(anext(aiter(platform.messages)), 20)
                assert isinstance(permit.payload, bytes)
                assert json.loads(permit.payload)["value"] is True
                await platform.publish("zigbee2mqtt/kitchen motion", motion, qos=1)

            def motion_seen(_: object) -> bool:
                return any(
                    r.m == "motion" and r.val == 1.0
                    for m in ingest.of(ReadingsMessage)
                    for r in m.readings
                )

            await ingest.wait_for(motion_seen, wait_s=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                await proc.wait()
    assert proc.returncode == 0, log_path.read_text()


async def test_a_stop_that_lands_with_a_refused_bus_login_ends_the_bus_loop() -> None:
    # the same lost-cancellation race as on the platform (tests/ingest/test_reconnect.py)
    connack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    runs = 0

    class Bus:  # the adapter's run(), down to aiomqtt's wait for the CONNACK
        async def run(self) -> None:
            nonlocal runs
            runs += 1
            await asyncio.wait_for(connack, 10)

    task = asyncio.create_task(_bus_forever(Bus()))  # type: ignore[arg-type]
    refused = aiomqtt.MqttError("not authorized")
    assert await stopped_as(task, lambda: connack.set_exception(refused)), runs
