"""``anxin dashboard``: the web app of a split deployment, as a process of its own.

Options are checked here and become one ``DashboardSettings``; ``anxin/dashboard_service.py``
builds and runs the parts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anxin.broker_cli import dynsec_accounts
from anxin.broker_login import BrokerLogin, add_broker_options, broker_settings_or_exit
from anxin.stores import add_store_options, store_location
from registry.broker_accounts import BrokerAccountError

COMMAND = "anxin dashboard"
DEFAULT_SECRET = Path(".anxin/secret.key")


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """Everything ``anxin dashboard`` needs, checked at start."""

    database_url: str
    broker: BrokerLogin  # gateway status (retained) in, pairing and test-alarm commands out
    store_kind: str = "influxdb"
    store_location: str = "http://127.0.0.1:8086"  # InfluxDB URL or SQLite file
    host: str = "127.0.0.1"
    port: int = 8000
    secret_file: Path = DEFAULT_SECRET
    secure_cookies: bool = False
    quarantine_path: Path | None = None  # ingest's quarantine file, when it is on this machine
    # provisioning (installer app, gateways' claims): what claimed gateways are told, and where
    # their broker logins are made; None: not offered by this process
    gateway_broker_url: str | None = None
    gateway_ca: Path | None = None
    dynsec_url: str | None = field(default=None, repr=False)  # may carry the admin password


def add_commands(subparsers: Any) -> None:
    """Add ``dashboard`` to the ``anxin`` command's sub-parsers."""
    # no abbreviations: `--mqtt-password` (a password in `ps`) must not pass for --mqtt-password-file
    dash = subparsers.add_parser(
        "dashboard",
        help="the console, pages and API against the shared database (split deployment)",
        allow_abbrev=False,
    )
    dash.add_argument("--database-url", required=True, help="postgresql://… or sqlite:///…")
    add_store_options(
        dash, "the time-series store ingest writes (activity, timelines, device signals)"
    )
    dash.add_argument(
        "--quarantine-path",
        type=Path,
        help="ingest's quarantine file, when ingest runs on this machine (operators' API)",
    )
    dash.add_argument("--host", default="127.0.0.1", help="address to listen on")
    dash.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    dash.add_argument(
        "--secret-file",
        type=Path,
        default=DEFAULT_SECRET,
        help="the installation secret that signs sessions and tokens (made if missing; give "
        "every dashboard process the same file)",
    )
    dash.add_argument(
        "--secure-cookies", action="store_true", help="served behind HTTPS: Secure cookies"
    )
    prov = dash.add_argument_group("gateway provisioning (installer app, claims)")
    prov.add_argument(
        "--gateway-broker-url", help="what claimed gateways are told, e.g. mqtts://broker:8883"
    )
    prov.add_argument(
        "--gateway-ca", type=Path, help="CA (PEM) handed to claimed gateways to check the broker"
    )
    prov.add_argument(
        "--dynsec",
        help="mqtt://admin@host:port of the dynamic-security admin that makes gateway logins "
        "(the password from $ANXIN_DYNSEC_PASSWORD)",
    )
    add_broker_options(dash)
    dash.set_defaults(handler=_run)


def settings_from(args: argparse.Namespace) -> DashboardSettings:
    """The checked settings of ``args``; exits with a usage error (2) naming what is wrong."""
    broker = broker_settings_or_exit(args, COMMAND).login()
    if not 0 < args.port < 65536:
        _usage(f"--port {args.port} is not a TCP port")
    if args.gateway_broker_url is not None and args.dynsec is None:
        _usage("--gateway-broker-url needs --dynsec: claimed gateways need a broker login")
    if args.gateway_broker_url is None and (args.dynsec or args.gateway_ca):
        _usage("--dynsec and --gateway-ca only go with --gateway-broker-url")
    if args.dynsec is not None:
        try:
            dynsec_accounts(args.dynsec)
        except BrokerAccountError as err:
            _usage(str(err))
    if args.quarantine_path is not None and not args.quarantine_path.is_file():
        _usage(f"--quarantine-path {args.quarantine_path}: no such file (ingest makes it)")
    if args.gateway_ca is not None and not args.gateway_ca.is_file():
        _usage(f"--gateway-ca {args.gateway_ca}: no such file")
    return DashboardSettings(
        database_url=args.database_url,
        broker=broker,
        store_kind=args.store,
        store_location=store_location(args),
        host=args.host,
        port=args.port,
        secret_file=args.secret_file,
        secure_cookies=args.secure_cookies,
        quarantine_path=args.quarantine_path,
        gateway_broker_url=args.gateway_broker_url,
        gateway_ca=args.gateway_ca,
        dynsec_url=args.dynsec,
    )


def _usage(message: str) -> None:
    sys.stderr.write(f"{COMMAND}: error: {message}\n")
    raise SystemExit(2)


def _run(args: argparse.Namespace) -> int:
    from anxin.dashboard_service import run_dashboard

    settings = settings_from(args)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run_dashboard(settings))
    return 0
