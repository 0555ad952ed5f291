"""The ``anxin`` command line: ``anxin up`` runs the platform in one process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from anxin import (
    alerts_cli,
    broker_cli,
    contacts_cli,
    dashboard_cli,
    fall_cli,
    gateway_cli,
    ingest_cli,
    migrate_cli,
    routine_cli,
)
from anxin.config import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anxin", description="Anxin (安心) home-care safety platform"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run broker, ingest, store, alerts and dashboard in one process")
    up.add_argument("--demo", action="store_true", help="seed a demo station and simulate homes")
    up.add_argument("--homes", type=int, help="number of simulated homes (with --demo)")
    up.add_argument("--speed", type=float, help="simulated time runs X times real time")
    up.add_argument("--port", type=int, help="dashboard HTTP port (default 8000)")
    up.add_argument("--mqtt-port", type=int, help="embedded MQTT broker port (default 1884)")
    up.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    up.add_argument(
        "--data-dir", type=Path, help="where databases and outboxes live (default .anxin)"
    )
    up.add_argument("--store", choices=["sqlite", "influxdb"], help="time-series store")
    up.add_argument("--influx-url", help="InfluxDB HTTP URL (with --store influxdb)")
    up.add_argument("--database-url", help="registry database URL (default SQLite in the data dir)")
    up.add_argument("--seed", type=int, help="random seed of the demo fleet")
    up.add_argument(
        "--first-fall-after",
        type=float,
        dest="first_fall_after_min",
        help="demo: simulated minutes until home 1 has a fall (default 10)",
    )
    up.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    fall_cli.add_commands(sub)
    routine_cli.add_commands(sub)
    ingest_cli.add_commands(sub)
    gateway_cli.add_commands(sub)
    broker_cli.add_commands(sub)
    contacts_cli.add_commands(sub)
    dashboard_cli.add_commands(sub)
    migrate_cli.add_commands(sub)
    alerts_cli.add_commands(sub)  # after ingest_cli: adds to its `bench`
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    fields = (
        "demo",
        "homes",
        "speed",
        "port",
        "mqtt_port",
        "host",
        "data_dir",
        "store",
        "influx_url",
        "database_url",
        "seed",
        "first_fall_after_min",
    )
    values = {f: getattr(args, f, None) for f in fields}
    # `is` checks: 0 and 0.0 are real values, only an absent flag (None / store_true off) is not
    given = {f: v for f, v in values.items() if v is not None and v is not False}
    return Settings(**given)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``anxin`` command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("amqtt", "transitions", "httpx", "uvicorn.access", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if hasattr(args, "handler"):
        return int(args.handler(args))
    if args.command == "up":
        try:
            settings = _settings(args)
        except ValidationError as err:
            sys.stderr.write(f"anxin up: invalid settings:\n{err}\n")
            return 2
        from anxin.app import run

        return asyncio.run(run(settings))
    return 2


if __name__ == "__main__":
    sys.exit(main())
