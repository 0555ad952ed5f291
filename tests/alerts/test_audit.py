"""The hash-chained audit log, and ``anxin audit verify`` before and after a row is edited."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys

from sqlalchemy import text

from alerts.audit import AuditLog
from alerts.service import Outcome
from tests.alerts.conftest import Home


async def _verify_cli(database_url: str) -> tuple[int, dict[str, object]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "anxin",
        "audit",
        "verify",
        "--database-url",
        database_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _err = await asyncio.wait_for(proc.communicate(), 60)
    last = out.decode().strip().splitlines()[-1]
    return int(proc.returncode or 0), json.loads(last)


async def test_every_alert_action_and_read_is_chained(home: Home, database_url: str) -> None:
    audit = AuditLog(home.sessions, home.clock)
    alert = await home.service.raise_from_event(home.event("fall"))
    assert alert is not None
    await home.service.raise_from_event(home.event("fall"))  # evidence
    await home.service.acknowledge(alert.id, home.staff_id)
    await home.service.add_note(alert.id, home.staff_id, "电话联系上了")
    await home.service.resolve(alert.id, home.staff_id, Outcome.HANDLED_AT_HOME, "扶起来了")
    await audit.record_read(home.staff_id, home.wearer_id, "resident_page")

    entries = await audit.entries(limit=100)
    assert [(e.action, e.subject) for e in entries] == [
        ("raised", f"alert:{alert.id}"),
        ("evidence", f"alert:{alert.id}"),
        ("acknowledged", f"alert:{alert.id}"),
        ("note", f"alert:{alert.id}"),
        ("resolved", f"alert:{alert.id}"),
        ("read", f"resident:{home.wearer_id}"),
    ]
    assert entries[2].actor == f"user:{home.staff_id}"
    assert entries[0].actor == "system"
    assert entries[4].data == {"outcome": "handled_at_home", "note": "扶起来了"}
    assert all(e.prev_hash == p.hash for p, e in itertools.pairwise(entries))

    result = await audit.verify()
    assert (result.ok, result.checked) == (True, 6)
    code, report = await _verify_cli(database_url)
    assert (code, report["ok"], report["checked"]) == (0, True, 6)

    async with home.sessions() as session, session.begin():
        await session.execute(
            text("UPDATE audit_log SET data = :d WHERE seq = 4"), {"d": '{"note":"没事"}'}
        )
    result = await audit.verify()
    assert (result.ok, result.bad_seq) == (False, 4)
    code, report = await _verify_cli(database_url)
    assert (code, report["ok"], report["bad_seq"]) == (1, False, 4)


async def test_a_deleted_row_breaks_the_chain(home: Home) -> None:
    audit = AuditLog(home.sessions, home.clock)
    for resident in (home.resident_id, home.wearer_id, home.resident_id):
        await audit.record_read(home.staff_id, resident, "trend")
    assert (await audit.verify()).ok
    async with home.sessions() as session, session.begin():
        await session.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = await audit.verify()
    assert (result.ok, result.bad_seq) == (False, 3)


async def test_concurrent_appends_keep_one_chain(home: Home) -> None:
    audit = AuditLog(home.sessions, home.clock)
    await asyncio.gather(*(audit.record_read(home.staff_id, home.wearer_id, "x") for _ in range(8)))
    result = await audit.verify()
    assert (result.ok, result.checked) == (True, 8)
