"""``anxin contacts``: a station configures who its escalation reaches."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from anxin import migrate
from anxin.__main__ import main
from registry.db import make_async_engine, make_sessionmaker
from registry.demo import seed_demo


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade(url)

    async def seed() -> None:
        engine = make_async_engine(url)
        async with make_sessionmaker(engine)() as session:
            await seed_demo(session, 1)
            await session.commit()
        await engine.dispose()

    asyncio.run(seed())
    return url


def test_add_then_list(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    add = ["contacts", "--database-url", url, "add", "--station", "demo", "--audience", "staff",
           "--name", "on duty", "--url", "json://127.0.0.1:9/duty", "--url", "mailto://a:b@x.org"]  # fmt: skip
    assert main(add) == 0
    capsys.readouterr()
    assert main(["contacts", "--database-url", url, "list", "--station", "demo"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    listed = json.loads(line)
    assert (listed["audience"], listed["name"], listed["channels"]) == ("staff", "on duty", 2)


def test_unknown_station_is_refused(url: str) -> None:
    add = ["contacts", "--database-url", url, "add", "--station", "nope", "--audience", "staff",
           "--url", "json://127.0.0.1:9/x"]  # fmt: skip
    assert main(add) == 2
