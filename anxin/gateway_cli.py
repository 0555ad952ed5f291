"""``anxin gateway add|list|revoke``: register gateways, issue claim codes, revoke."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import segno
from sqlalchemy.ext.asyncio import AsyncSession

from anxin.broker_cli import dynsec_accounts
from registry.broker_accounts import BrokerAccountError
from registry.db import make_async_engine, make_sessionmaker
from registry.errors import RegistryError
from registry.provisioning import add_gateway, list_gateways, revoke

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_DB = "sqlite:///.anxin/registry.db"


def add_commands(subparsers: Any) -> None:
    """Add ``gateway`` to the ``anxin`` command's sub-parsers."""
    gw = subparsers.add_parser("gateway", help="register, list and revoke gateways")
    gw.add_argument("--database-url", default=DEFAULT_DB, help="registry database URL")
    which = gw.add_subparsers(dest="gateway_command", required=True)
    add = which.add_parser("add", help="register a gateway and print its one-time claim code")
    add.add_argument("gateway_id")
    add.add_argument("--home", type=int, dest="home_id", help="the home it serves")
    add.add_argument("--qr", type=Path, help="also write the claim code as QR (.svg or .png)")
    which.add_parser("list", help="every gateway, claimed or not, revoked or not (JSON lines)")
    rev = which.add_parser("revoke", help="the gateway may no longer log in")
    rev.add_argument("gateway_id")
    rev.add_argument(
        "--dynsec",
        help="mqtt://admin[:password]@host:port of a dynsec Mosquitto "
        "(without the password: $ANXIN_DYNSEC_PASSWORD)",
    )
    gw.set_defaults(handler=_run)


async def _in_registry(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = make_async_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def _run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    try:
        if args.gateway_command == "add":

            async def add(s: AsyncSession) -> Any:
                return await add_gateway(
                    s, gateway_id=args.gateway_id, home_id=args.home_id, now=now
                )

            issued = asyncio.run(_in_registry(args.database_url, add))
            if args.qr:
                segno.make(issued.code, error="m").save(str(args.qr), scale=4)
            qr = io.StringIO()
            segno.make(issued.code, error="m").terminal(out=qr, compact=True)
            sys.stderr.write(qr.getvalue())
            out = {"gateway_id": issued.gateway_id, "code": issued.code}
            out["expires_at"] = issued.expires_at.isoformat()
            sys.stdout.write(json.dumps(out) + "\n")
        elif args.gateway_command == "list":
            for g in asyncio.run(_in_registry(args.database_url, list_gateways)):
                row = {"gateway_id": g.gateway_id, "home_id": g.home_id, "claimed": g.claimed}
                row["revoked_at"] = g.revoked_at.isoformat() if g.revoked_at else None
                sys.stdout.write(json.dumps(row) + "\n")
        else:

            async def rev(s: AsyncSession) -> None:
                await revoke(s, args.gateway_id, now)

            asyncio.run(_in_registry(args.database_url, rev))
            if args.dynsec:
                asyncio.run(dynsec_accounts(args.dynsec).remove_gateway(args.gateway_id))
            sys.stdout.write(json.dumps({"gateway_id": args.gateway_id, "revoked": True}) + "\n")
    except (RegistryError, BrokerAccountError) as err:
        log.error("gateway_cli.failed error=%s", err)  # noqa: TRY400  (a refusal, not a crash)
        return 1
    return 0
