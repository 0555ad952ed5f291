"""``anxin-gateway``: run one gateway agent (for now with a simulated home: ``--simulate``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from devices.clock import Clock, ScaledClock, SystemClock
from devices.simulator.home import SimulatedHome
from gateway.adapters.simulator import SimulatorAdapter
from gateway.app import run_gateway
from gateway.config import GatewayConfig, broker_from_url, load_config
from gateway.errors import ConfigError
from gateway.provision import ProvisionError, provision

log = logging.getLogger("gateway")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anxin-gateway", description=__doc__)
    p.add_argument("--broker", help="mqtt://host:port of the broker")
    p.add_argument("--id", dest="gateway_id", help="gateway id (also the MQTT client id)")
    p.add_argument("--username", help="broker username (default: the gateway id)")
    p.add_argument("--password", help="broker password")
    p.add_argument("--data-dir", type=Path, help="where the outbox lives")
    p.add_argument("--config", type=Path, help="TOML file with GatewayConfig fields")
    p.add_argument("--simulate", action="store_true", help="read a simulated home")
    p.add_argument("--seed", type=int, dest="home_seed", help="the simulated home's seed")
    p.add_argument("--speed", type=float, help="simulated time runs X times real time")
    p.add_argument("--log-level", default="INFO")
    return p


def config_from_args(argv: Sequence[str] | None = None) -> tuple[GatewayConfig, bool]:
    """The settings named by the command line, and whether to simulate."""
    args = _parser().parse_args(argv)
    overrides = broker_from_url(args.broker) if args.broker else {}
    for key in ("gateway_id", "username", "password", "data_dir", "home_seed", "speed"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    return load_config(args.config, **overrides), args.simulate


async def _main(config: GatewayConfig, simulate: bool) -> None:
    if not simulate:
        raise ConfigError("no device adapter: only --simulate exists so far")
    start = datetime.now(UTC)
    clock: Clock = SystemClock() if config.speed == 1 else ScaledClock(config.speed, start)
    home = SimulatedHome(config.home_seed, clock.now(), accel_hz=config.accel_hz)
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if not task.cancelling():  # a second signal must not cut the clean stop short
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    with contextlib.suppress(asyncio.CancelledError):
        await run_gateway(config, clock, SimulatorAdapter(home, clock))


def _provision(argv: Sequence[str]) -> int:
    """``anxin-gateway provision --platform URL --code CODE [--data-dir DIR]``."""
    p = argparse.ArgumentParser(prog="anxin-gateway provision", description=provision.__doc__)
    p.add_argument("--platform", required=True, help="https://… of the Anxin platform")
    p.add_argument("--code", required=True, help="the one-time claim code from the installer")
    p.add_argument("--data-dir", type=Path, default=Path(".anxin-gateway"))
    args = p.parse_args(argv)
    try:
        done = provision(args.platform, args.code, args.data_dir)
    except ProvisionError as err:
        log.error("gateway.provision_failed error=%s", err)  # noqa: TRY400  (no traceback needed)
        return 1
    log.info("gateway.provision_done gw=%s config=%s", done.gateway_id, done.identity_path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``anxin-gateway``."""
    # journald adds its own timestamps; level and logger name keep lines greppable
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["provision"]:
        return _provision(args_list[1:])
    try:
        config, simulate = config_from_args(argv)
        logging.getLogger().setLevel(_parser().parse_args(argv).log_level.upper())
        asyncio.run(_main(config, simulate))
    except ConfigError as err:
        log.error("gateway.config_error error=%s", err)  # noqa: TRY400  (a bad flag needs no traceback)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
