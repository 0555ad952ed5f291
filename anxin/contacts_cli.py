"""``anxin contacts add|list``: who a care station's escalation reaches, and on which channels.

Tier 1 is the on-duty staff, tier 2 the second staff or manager, then family contacts in order,
then the hotline (e.g. 96156); each contact has apprise URLs in fallback order. Family members
can also set their own channels on the web (/family/notifications).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from sqlalchemy import select

from alerts.contacts import AUDIENCES, ContactSpec, add_contact
from alerts.models import Contact
from registry.db import make_async_engine, make_sessionmaker
from registry.repository import get_station_by_code

DEFAULT_DB = "sqlite:///.anxin/registry.db"


def add_commands(subparsers: Any) -> None:
    """Register ``anxin contacts``."""
    contacts = subparsers.add_parser("contacts", help="who escalation reaches, and how")
    contacts.add_argument("--database-url", default=DEFAULT_DB, help="registry database URL")
    which = contacts.add_subparsers(dest="contacts", required=True)
    add = which.add_parser("add", help="add a contact to a station")
    add.add_argument("--station", required=True, help="station code (the demo's is 'demo')")
    add.add_argument("--audience", required=True, choices=AUDIENCES)
    add.add_argument("--name", default="")
    add.add_argument("--url", action="append", required=True, help="apprise URL (repeat: fallback)")
    add.add_argument("--locale", default="zh-CN", choices=["zh-CN", "en"])
    add.add_argument("--position", type=int, default=0, help="order within the audience")
    add.add_argument("--resident", type=int, help="resident id (family contacts)")
    add.set_defaults(handler=_add)
    listing = which.add_parser("list", help="a station's contacts, as JSON lines")
    listing.add_argument("--station", required=True)
    listing.set_defaults(handler=_list)


def _add(args: argparse.Namespace) -> int:
    async def run() -> int:
        engine = make_async_engine(args.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                station = await get_station_by_code(session, args.station)
                if station is None:
                    sys.stderr.write(f"no station with code {args.station!r}\n")
                    return 2
                spec = ContactSpec(
                    audience=args.audience, urls=tuple(args.url), name=args.name,
                    locale=args.locale, position=args.position, resident_id=args.resident,
                )  # fmt: skip
                try:
                    contact = await add_contact(session, station.id, spec)
                except ValueError as err:
                    sys.stderr.write(f"{err}\n")
                    return 2
                await session.commit()
                sys.stdout.write(
                    json.dumps({"id": contact.id, "audience": contact.audience}) + "\n"
                )
                return 0
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _list(args: argparse.Namespace) -> int:
    async def run() -> int:
        engine = make_async_engine(args.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                station = await get_station_by_code(session, args.station)
                if station is None:
                    sys.stderr.write(f"no station with code {args.station!r}\n")
                    return 2
                rows = await session.scalars(
                    select(Contact).where(Contact.station_id == station.id).order_by(Contact.id)
                )
                for c in rows:
                    sys.stdout.write(json.dumps({
                        "id": c.id, "audience": c.audience, "name": c.name, "position": c.position,
                        "resident_id": c.resident_id, "channels": len(c.urls.splitlines()),
                        "active": c.active,
                    }) + "\n")  # fmt: skip
                return 0
        finally:
            await engine.dispose()

    return asyncio.run(run())
