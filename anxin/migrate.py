"""Bring the relational database to the newest schema with Alembic (no alembic.ini, no CWD)."""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, make_url, select

from registry.db import make_engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x616E78696E + 1  # the advisory lock concurrent migrations queue on
# Every module that declares tables on registry.db.Base; a package adding tables adds itself here
# (with a revision under migrations/versions) so that autogenerate and the schema test see them.
MODEL_MODULES: tuple[str, ...] = (
    "registry.models",
    "alerts.models",
    "dashboard.ratings",
    "registry.provisioning",
    "dashboard.org",
    "dashboard.shift",
)


def load_models() -> None:
    """Import every module of MODEL_MODULES so that Base.metadata holds all tables."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` (sqlite:/// or postgresql:// as in settings)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # the URL travels as an attribute: ini options would need '%' escaped in passwords
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (blocking; run it in a thread).

    Several processes may start at once against one PostgreSQL (``anxin dashboard``, ``anxin
    migrate``, a second node): they queue on an advisory lock held for the migration's
    transaction, and the second finds the schema already at ``revision``.
    """
    log.info("migrate_upgrade revision=%s", revision)
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        with _sqlite_file_lock(url), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    """For a SQLite file, an exclusive lock on a file beside it (one host, several processes)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield
        return
    lock_path = Path(f"{parsed.database}.migrate-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def schema_behind(url: str) -> str | None:
    """None when the database at ``url`` has the newest schema, else why not (one line)."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    if current == head:
        return None
    return (
        f"the database schema is at {current or 'nothing (an empty database)'}, "
        f"this version needs {head}"
    )


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision``."""
    log.info("migrate_downgrade revision=%s", revision)
    command.downgrade(alembic_config(url), revision)
