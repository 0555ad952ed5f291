"""``anxin-gateway``: run one gateway agent on a local zigbee2mqtt bus or a simulated home."""

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

import aiomqtt

from devices.clock import Clock, ScaledClock, SystemClock
from devices.simulator.home import SimulatedHome
from gateway.adapters.simulator import SimulatorAdapter
from gateway.adapters.zigbee2mqtt import Zigbee2MqttAdapter
from gateway.app import run_gateway
from gateway.backoff import Backoff
from gateway.config import GatewayConfig, broker_from_url, load_config
from gateway.errors import ConfigError
from gateway.provision import ProvisionError, provision

log = logging.getLogger("gateway")

BUS_RETRY_INITIAL_S = 1.0
BUS_RETRY_CAP_S = 30.0  # zigbee2mqtt's broker restarts in seconds; don't hammer it meanwhile


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anxin-gateway", description=__doc__)
    p.add_argument("--broker", help="mqtt://host:port of the broker")
    p.add_argument("--id", dest="gateway_id", help="gateway id (also the MQTT client id)")
    p.add_argument("--username", help="broker username (default: the gateway id)")
    p.add_argument("--password", help="broker password")
    p.add_argument("--data-dir", type=Path, help="where the outbox lives")
    p.add_argument("--config", type=Path, help="TOML file with GatewayConfig fields")
    p.add_argument("--simulate", action="store_true", help="read a simulated home")
    p.add_argument(
        "--zigbee2mqtt",
        metavar="mqtt://host:port",
        help="read the devices of a local zigbee2mqtt bus (its own MQTT broker in the home)",
    )
    p.add_argument("--seed", type=int, dest="home_seed", help="the simulated home's seed")
    p.add_argument("--speed", type=float, help="simulated time runs X times real time")
    p.add_argument("--log-level", default="INFO")
    return p


def config_from_args(argv: Sequence[str] | None = None) -> tuple[GatewayConfig, bool]:
    """The settings named by the command line, and whether to simulate."""
    config, simulate, _bus = _config_and_source(argv)
    return config, simulate


def _config_and_source(
    argv: Sequence[str] | None,
) -> tuple[GatewayConfig, bool, tuple[str, int] | None]:
    args = _parser().parse_args(argv)
    overrides = broker_from_url(args.broker) if args.broker else {}
    for key in ("gateway_id", "username", "password", "data_dir", "home_seed", "speed"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    bus = None
    if args.zigbee2mqtt:
        local = broker_from_url(args.zigbee2mqtt)
        bus = (str(local["broker_host"]), int(local["broker_port"]))
    return load_config(args.config, **overrides), args.simulate, bus


async def _bus_forever(adapter: Zigbee2MqttAdapter) -> None:
    """Keep listening to the local zigbee2mqtt bus, reconnecting with capped jittered backoff."""
    backoff = Backoff(BUS_RETRY_INITIAL_S, BUS_RETRY_CAP_S)
    while True:
        try:
            await adapter.run()
        except aiomqtt.MqttError as err:
            # a stop swallowed by Python 3.11's wait_for inside aiomqtt (docs/architecture.md,
            # "A stop is never lost"): stop, don't reconnect
            if (task := asyncio.current_task()) is not None and task.cancelling():
                raise asyncio.CancelledError from err
            delay = backoff.next_delay()
            log.warning("zigbee2mqtt.bus_lost error=%s retry_in_s=%.1f", err, delay)
            await asyncio.sleep(delay)
        else:
            backoff.reset()


async def _main(config: GatewayConfig, simulate: bool, bus: tuple[str, int] | None = None) -> None:
    if not simulate and bus is None:
        raise ConfigError("no device source: give --zigbee2mqtt mqtt://host:port or --simulate")
    start = datetime.now(UTC)
    clock: Clock = SystemClock() if config.speed == 1 else ScaledClock(config.speed, start)
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if not task.cancelling():  # a second signal must not cut the clean stop short
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    with contextlib.suppress(asyncio.CancelledError):
        if bus is not None:
            adapter = Zigbee2MqttAdapter(bus[0], bus[1], clock)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(_bus_forever(adapter), name="zigbee2mqtt")
                tg.create_task(run_gateway(config, clock, adapter), name="agent")
        else:
            home = SimulatedHome(config.home_seed, clock.now(), accel_hz=config.accel_hz)
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
        config, simulate, bus = _config_and_source(argv)
        logging.getLogger().setLevel(_parser().parse_args(argv).log_level.upper())
        asyncio.run(_main(config, simulate, bus))
    except ConfigError as err:
        log.error("gateway.config_error error=%s", err)  # noqa: TRY400  (a bad flag needs no traceback)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
