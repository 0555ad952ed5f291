"""``anxin broker add-service``: a login for ingest or alerts on a dynamic-security Mosquitto."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from registry.broker_accounts import (
    SERVICE_ROLE,
    BrokerAccountError,
    BrokerAccountExistsError,
    MosquittoDynsecAccounts,
)

log = logging.getLogger(__name__)

ADMIN_PASSWORD_ENV = "ANXIN_DYNSEC_PASSWORD"
PASSWORD_BYTES = 32  # token_urlsafe: 43 characters, 256 bits from the OS's CSPRNG


def add_commands(subparsers: Any) -> None:
    """Add ``broker`` to the ``anxin`` command's sub-parsers."""
    broker = subparsers.add_parser("broker", help="the platform's own logins on the broker")
    which = broker.add_subparsers(dest="broker_command", required=True)
    add = which.add_parser(
        "add-service",
        help="create a login with the service role (ingest, alerts) and write its password file",
    )
    add.add_argument("username", help="e.g. anxin-ingest or anxin-alerts")
    add.add_argument(
        "--dynsec",
        required=True,
        help="mqtt://admin[:password]@host:port of the dynamic-security admin "
        f"(better: leave the password out and set ${ADMIN_PASSWORD_ENV})",
    )
    add.add_argument(
        "--password-file",
        type=Path,
        required=True,
        help="where the new password is written (mode 0600; refused if it exists)",
    )
    add.add_argument(
        "--force",
        action="store_true",
        help="replace an existing file and an existing login (its live sessions are cut off)",
    )
    add.set_defaults(handler=_run)


def dynsec_accounts(url: str) -> MosquittoDynsecAccounts:
    """The dynsec admin of ``mqtt://admin:password@host:port``; the password may instead come
    from ``$ANXIN_DYNSEC_PASSWORD`` (a URL on the command line is visible in ``ps``)."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt":
        raise BrokerAccountError(
            f"--dynsec {url.split('@')[-1]!r}: only mqtt:// URLs are supported"
        )
    password = unquote(parts.password) if parts.password is not None else None
    if password is None:
        password = os.environ.get(ADMIN_PASSWORD_ENV, "")
    return MosquittoDynsecAccounts(
        parts.hostname or "127.0.0.1",
        parts.port or 1883,
        unquote(parts.username or ""),
        password,
    )


def _run(args: argparse.Namespace) -> int:
    path: Path = args.password_file
    if not args.username.strip():
        sys.stderr.write("anxin broker add-service: error: the username is empty\n")
        return 2
    if path.exists() and not args.force:
        log.error(
            "broker_cli.refused password_file=%s reason=exists (--force replaces it and gives "
            "the login a new password)",
            path,
        )
        return 1
    if not path.parent.is_dir():
        log.error("broker_cli.refused password_file=%s reason=no such directory", path)
        return 1
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    # the password is on disk (0600) before the broker knows it, and the file appears under its
    # name only once the broker has the login: never a file with a password that does not work
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    keep_temp = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(password + "\n")
            file.flush()
            os.fsync(file.fileno())
        accounts = dynsec_accounts(args.dynsec)
        asyncio.run(accounts.add_service(args.username, password, replace=args.force))
        if args.force:
            temp.replace(path)
        else:
            os.link(temp, path)  # fails if the file appeared meanwhile: no silent overwrite
    except FileExistsError:
        keep_temp = True  # the broker has the login now: its password must not be lost
        log.error(  # noqa: TRY400  (a refusal, not a crash)
            "broker_cli.refused password_file=%s reason=appeared meanwhile password_in=%s",
            path,
            temp,
        )
        return 1
    except BrokerAccountExistsError as err:
        log.error("broker_cli.refused error=%s (--force gives it a new password)", err)  # noqa: TRY400
        return 1
    except (BrokerAccountError, OSError) as err:
        log.error("broker_cli.failed error=%s", err)  # noqa: TRY400  (a refusal, not a crash)
        return 1
    finally:
        if not keep_temp:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
    out = {
        "username": args.username,
        "role": SERVICE_ROLE,
        "password_file": str(path),
        "replaced": bool(args.force),
    }
    sys.stdout.write(json.dumps(out) + "\n")
    return 0
