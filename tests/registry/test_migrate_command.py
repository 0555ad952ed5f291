"""``anxin migrate`` for split deployments; the alert service refuses a schema it does not know."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from anxin import migrate
from anxin.localservers import free_port
from tests.registry.databases import database_url

__all__ = ["database_url"]


def _anxin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "anxin", *args], capture_output=True, text=True, timeout=60
    )


def test_the_alert_service_refuses_an_unmigrated_database_and_says_what_to_do(
    tmp_path: Path,
) -> None:
    """Before: it started, and every fall failed on the missing tables, retried for ever."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    run = _anxin("alerts", "run", "--database-url", url, "--mqtt-port", str(free_port()))
    assert run.returncode == 2
    assert "an empty database" in run.stderr
    assert "anxin migrate --database-url" in run.stderr
    done = _anxin("migrate", "--database-url", url)
    assert done.returncode == 0, done.stderr
    assert migrate.schema_behind(url) is None


async def test_migrations_started_together_queue_and_both_succeed(database_url: str) -> None:
    """Two processes (a dashboard and a second node, say) migrating one fresh database at once."""
    await asyncio.gather(
        asyncio.to_thread(migrate.upgrade, database_url),
        asyncio.to_thread(migrate.upgrade, database_url),
    )
    assert await asyncio.to_thread(migrate.schema_behind, database_url) is None


def test_an_older_schema_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0003")
    behind = migrate.schema_behind(url)
    assert behind is not None
    assert "is at 0003" in behind
