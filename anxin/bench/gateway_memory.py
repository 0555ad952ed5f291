"""``anxin bench gateway-memory``: peak RSS of a gateway agent with 10^6 readings buffered.

Fills an outbox with ``messages`` x ``per_message`` readings (nobody acks), then runs the real
agent — in a child process of its own, as ``anxin-gateway`` runs on the box, with the shipped
fall model loaded — against a real Mosquitto for ``seconds`` while its uplink pushes the backlog,
and reports the child's peak resident set. Last stdout line: JSON.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from anxin import localservers
from devices.clock import SystemClock
from devices.codec import encode
from devices.payloads import ReadingIn, ReadingsMessage
from devices.topics import Channel
from gateway.adapters.base import DeviceData
from gateway.app import run_gateway
from gateway.config import GatewayConfig
from gateway.outbox import Outbox

GATEWAY = "gw-memory"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class _Idle:
    """A device adapter with nothing to say: the backlog is all there is."""

    async def read(self) -> DeviceData:
        await asyncio.Event().wait()
        return DeviceData()


def _fill(config: GatewayConfig, messages: int, per_message: int) -> int:
    box = Outbox(config.outbox_path)
    try:
        for b in range(messages):
            readings = [
                ReadingIn(dev="wear-1", m="heart_rate", val=70,
                          t=T0 + timedelta(seconds=b * per_message + i))
                for i in range(per_message)
            ]  # fmt: skip

            def message(boot: str, seq: int, rs: list[ReadingIn] = readings) -> bytes:
                return encode(
                    ReadingsMessage(gw=GATEWAY, boot=boot, seq=seq, sent_at=T0, readings=rs)
                )

            box.put(Channel.READINGS, message, T0)
        return box.depth() * per_message
    finally:
        box.close()


async def _run(config: GatewayConfig, seconds: float) -> None:
    task = asyncio.create_task(run_gateway(config, SystemClock(), _Idle()))
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def run_memory_bench(messages: int, per_message: int, seconds: float) -> dict[str, Any]:
    """Fill, run, measure."""
    with tempfile.TemporaryDirectory(prefix="anxin-bench-gwmem-") as tmp:
        broker = localservers.mosquitto(Path(tmp) / "mosquitto")
        try:
            config = GatewayConfig(
                gateway_id=GATEWAY,
                broker_port=broker.port,
                data_dir=Path(tmp) / "gateway",
                ack_timeout_s=3600,
            )
            config.data_dir.mkdir(parents=True)
            buffered = _fill(config, messages, per_message)
            outbox_mb = config.outbox_path.stat().st_size / 1e6
            code = (
                "import sys; from anxin.bench.gateway_memory import child; "
                "child(sys.argv[1], float(sys.argv[2]))"
            )
            done = subprocess.run(
                [sys.executable, "-c", code, config.model_dump_json(), str(seconds)],
                check=True,
                capture_output=True,
                text=True,
            )
            agent_rss_kb = int(done.stdout.split()[-1])
        finally:
            broker.close()
    return {
        "readings_buffered": buffered,
        "outbox_mb": round(outbox_mb, 1),
        "seconds_sending": seconds,
        "agent_max_rss_mb": round(agent_rss_kb / 1024, 1),
    }


def child(config_json: str, seconds: float) -> None:
    """The agent process: run the gateway on the filled outbox, then print its peak RSS (kB)."""
    asyncio.run(_run(GatewayConfig.model_validate_json(config_json), seconds))
    # VmHWM is the peak of this process image since exec (ru_maxrss may carry the forked
    # parent's pages, which would charge the bench's own imports to the agent)
    peak = next(line for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmHWM:"))  # fmt: skip
    sys.stdout.write(peak.split()[1] + "\n")


def main(messages: int, per_message: int, seconds: float) -> int:
    """Print the figures as JSON."""
    sys.stdout.write(json.dumps(run_memory_bench(messages, per_message, seconds)) + "\n")
    return 0
