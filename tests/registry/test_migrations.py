"""Migrations produce exactly the schema of the models, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from anxin import migrate
from registry.db import Base, make_engine

REGISTRY_TABLES = {
    "stations",
    "homes",
    "residents",
    "gateways",
    "devices",
    "users",
    "family_links",
}
ALERT_TABLES = {"alerts", "alert_evidence"}


def _model_tables() -> set[str]:
    migrate.load_models()
    return set(Base.metadata.tables)


def _head() -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


def _diffs(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables_and_head(url: str) -> tuple[set[str], str | None]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            head = MigrationContext.configure(conn).get_current_revision()
            return set(inspect(conn).get_table_names()) - {"alembic_version"}, head
    finally:
        engine.dispose()


async def test_upgrade_yields_the_models_schema(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    tables, head = await asyncio.to_thread(_tables_and_head, database_url)
    assert tables == _model_tables()
    assert tables >= REGISTRY_TABLES | ALERT_TABLES
    assert head == _head()
    assert await asyncio.to_thread(_diffs, database_url) == []


async def test_upgrade_is_repeatable_and_downgrade_undoes_it(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    await asyncio.to_thread(migrate.upgrade, database_url)
    await asyncio.to_thread(migrate.downgrade, database_url, "0001")
    tables, head = await asyncio.to_thread(_tables_and_head, database_url)
    assert head == "0001"
    assert tables == REGISTRY_TABLES
    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    assert (await asyncio.to_thread(_tables_and_head, database_url))[0] == set()
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert await asyncio.to_thread(_diffs, database_url) == []


def test_an_empty_database_differs_from_the_models(tmp_path: Path) -> None:
    """The comparison can fail: without migrations every table is reported missing."""
    url = f"sqlite:///{tmp_path}/empty.db"
    added = {diff[1].name for diff in _diffs(url) if diff[0] == "add_table"}
    assert added == _model_tables()
