"""The ``anxin-gateway`` command line."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from anxin.localservers import Server
from devices.payloads import GatewayState, ReadingsMessage, StatusMessage
from gateway.__main__ import config_from_args
from gateway.errors import ConfigError
from tests.gateway.conftest import IngestFactory


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
