"""``anxin migrate``: bring the shared database to this version's schema (split deployments).

``anxin up`` and ``anxin dashboard`` migrate at start; ``anxin alerts run`` does not (several
alert services may start at once, and an alert service must not change a schema the dashboard
is using): it refuses to start on an older schema and says to run this.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from anxin import migrate


def add_commands(subparsers: Any) -> None:
    """Add ``migrate`` to the ``anxin`` command's sub-parsers."""
    cmd = subparsers.add_parser("migrate", help="bring the shared database to the newest schema")
    cmd.add_argument("--database-url", required=True)
    cmd.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        migrate.upgrade(args.database_url)
    except SQLAlchemyError as err:
        sys.stderr.write(f"anxin migrate: {type(err).__name__}: {err}\n")
        return 1
    sys.stdout.write("the database schema is current\n")
    return 0
