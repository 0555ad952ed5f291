"""The SQLite quarantine keeps rejected messages, truncated, with their reasons, and counts them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.quarantine import (
    MAX_KEPT_PAYLOAD_BYTES,
    QuarantinedMessage,
    SQLiteQuarantine,
    quarantined,
)

T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)


async def test_put_recent_and_counts(quarantine: SQLiteQuarantine) -> None:
    await quarantine.put("json", "anxin/v1/gw-1/readings", b"{nope", T0, "Expecting value")
    await quarantine.put_many(
        [
            quarantined(
                "range",
                "anxin/v1/gw-1/readings",
                b'{"m":"spo2","val":7}',
                T0 + timedelta(seconds=1),
            ),
            quarantined("range", "anxin/v1/gw-2/readings", b"x", T0 + timedelta(seconds=2)),
        ]
    )
    recent = await quarantine.recent(2)
    assert [q.topic for q in recent] == ["anxin/v1/gw-2/readings", "anxin/v1/gw-1/readings"]
    assert recent[1] == QuarantinedMessage(
        "range",
        "anxin/v1/gw-1/readings",
        b'{"m":"spo2","val":7}',
        20,
        "",
        T0 + timedelta(seconds=1),
    )
    assert await quarantine.counts() == {"json": 1, "range": 2}


async def test_payload_is_truncated_but_size_kept(quarantine: SQLiteQuarantine) -> None:
    big = b"a" * (MAX_KEPT_PAYLOAD_BYTES * 3)
    await quarantine.put("size", "anxin/v1/gw-1/readings", big, T0)
    (kept,) = await quarantine.recent(10)
    assert kept.payload == big[:MAX_KEPT_PAYLOAD_BYTES]
    assert kept.size == len(big)


async def test_survives_reopen(tmp_path: Path) -> None:
    q = await SQLiteQuarantine.open(tmp_path / "q.db")
    await q.put("topic", "x/y", b"", T0)
    await q.close()
    q = await SQLiteQuarantine.open(tmp_path / "q.db")
    try:
        assert await q.counts() == {"topic": 1}
    finally:
        await q.close()
