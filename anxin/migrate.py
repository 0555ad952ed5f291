"""Bring the relational database to the newest schema with Alembic (no alembic.ini, no CWD)."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
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
    """Migrate the database at ``url`` up to ``revision`` (blocking; run it in a thread)."""
    log.info("migrate_upgrade revision=%s", revision)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision``."""
    log.info("migrate_downgrade revision=%s", revision)
    command.downgrade(alembic_config(url), revision)
