"""The outbox's disk budget: urgent reserve, thin before drop, gap records, kill -9 under pressure."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devices.codec import decode_as, encode
from devices.payloads import ReadingIn, ReadingsMessage
from devices.topics import Channel
from gateway.errors import OutboxError
from gateway.outbox import Budget, Encoder, Lane, Outbox
from gateway.thinning import thin_payload, thin_readings

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def readings_batch(start: int, n: int = 50) -> Encoder:
    """A readings message of ``n`` heart rates, one a second from ``T0 + start`` s."""

    def build(boot: str, seq: int) -> bytes:
        rs = [
            ReadingIn(
                dev="wear-1", m="heart_rate", val=60 + i % 5, t=T0 + timedelta(seconds=start + i)
            )
            for i in range(n)
        ]
        return encode(ReadingsMessage(gw="gw-1", boot=boot, seq=seq, sent_at=T0, readings=rs))

    return build


def event(boot: str, seq: int) -> bytes:
    return b'{"event": "' + boot.encode() + b":" + str(seq).encode() + b'"}' + b" " * 200


def test_thinning_keeps_state_changes_and_counter_totals() -> None:
    t = [T0 + timedelta(seconds=i) for i in range(6)]
    rs = [
        ReadingIn(dev="door", m="contact_open", val=v, t=t[i])
        for i, v in enumerate([0, 0, 1, 1, 1, 0])
    ] + [ReadingIn(dev="w", m="steps", val=10, t=t[i]) for i in range(5)]
    rs += [ReadingIn(dev="w", m="heart_rate", val=70 + i, t=t[i]) for i in range(6)]
    kept = thin_readings(rs)
    door = [(r.t, r.val) for r in kept if r.m == "contact_open"]
    assert door == [(t[0], 0), (t[2], 1), (t[5], 0)]
    assert sum(r.val for r in kept if r.m == "steps") == 50  # totals survive
    assert len([r for r in kept if r.m == "steps"]) == 3
    assert [r.val for r in kept if r.m == "heart_rate"] == [70, 72, 74]


def test_thin_payload_keeps_identity_and_refuses_what_cannot_shrink() -> None:
    payload = readings_batch(0, 10)("bootA", 7)
    thin = thin_payload(payload)
    assert thin is not None
    message = decode_as(ReadingsMessage, thin)
    assert (message.boot, message.seq, len(message.readings)) == ("bootA", 7, 5)
    assert thin_payload(readings_batch(0, 1)("bootA", 8)) is None
    assert thin_payload(b"not json") is None


def test_budget_needs_a_reserve_below_the_maximum() -> None:
    with pytest.raises(OutboxError):
        Budget(max_bytes=100, urgent_reserve_bytes=100)


def test_readings_stop_at_their_share_and_events_always_fit(tmp_path: Path) -> None:
    one = len(readings_batch(0)("0123456789abcdef", 0)) + 96
    budget = Budget(max_bytes=one * 20, urgent_reserve_bytes=one * 5)
    box = Outbox(tmp_path / "o.db", budget=budget)
    for i in range(200):
        box.put(Channel.READINGS, readings_batch(i * 50), T0)
        assert box.usage().bulk_bytes <= budget.bulk_max_bytes
    usage = box.usage()
    assert usage.dropped > 0
    assert usage.thinned > 0
    for _ in range(20):  # the reserve holds these; beyond it, readings make room for them
        box.put(Channel.EVENTS, event, T0)
    usage = box.usage()
    assert usage.urgent_items == 20
    assert usage.urgent_bytes + usage.bulk_bytes <= budget.max_bytes
    assert [i.lane for i in box.next_batch(20)] == [Lane.URGENT] * 20
    box.close()


def test_thin_everything_before_dropping_then_drop_oldest_with_a_gap_record(tmp_path: Path) -> None:
    one = len(readings_batch(0)("0123456789abcdef", 0)) + 96
    box = Outbox(tmp_path / "o.db", budget=Budget(max_bytes=one * 10 + 1, urgent_reserve_bytes=1))
    for i in range(10):
        box.put(Channel.READINGS, readings_batch(i * 50), T0)
    assert box.usage().thinned == 0
    assert box.usage().dropped == 0
    box.put(Channel.READINGS, readings_batch(500), T0)
    assert box.usage().dropped == 0  # thinning made room: nothing lost yet
    assert box.usage().bulk_items == 11
    stored = [decode_as(ReadingsMessage, i.payload) for i in box.next_batch(100)]
    assert [len(m.readings) for m in stored][:10] == [25] * 10
    for i in range(11, 40):
        box.put(Channel.READINGS, readings_batch(i * 50), T0)
    usage = box.usage()
    assert usage.dropped > 0
    gaps = box.unreported_gaps()
    assert len(gaps) == 1  # one open gap grows while drops go on
    gap = gaps[0]
    assert gap.first_t == T0  # the very oldest readings went first
    assert gap.messages == usage.dropped
    left = [decode_as(ReadingsMessage, i.payload) for i in box.next_batch(1000)]
    oldest_left = min(r.t for m in left for r in m.readings)
    assert gap.last_t is not None
    assert gap.last_t < oldest_left
    assert gap.readings == 25 * gap.messages  # counted as stored: all were thinned first
    kept = sum(len(m.readings) for m in left)
    assert gap.messages + len(left) == 40
    assert kept + gap.readings < 40 * 50  # the thinned half is not in the gap record
    box.put_many([(Channel.EVENTS, event)], T0, reported_gaps=[gap.id])
    assert box.unreported_gaps() == []
    usage = box.usage()
    box.close()
    again = Outbox(tmp_path / "o.db", budget=box.budget)  # usage is recomputed from the file
    assert again.usage().bulk_bytes == usage.bulk_bytes
    assert again.usage().urgent_items == 1
    again.close()


CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from devices.topics import Channel
    from gateway.outbox import Budget, Outbox
    from tests.gateway.test_budget import readings_batch, event

    box = Outbox(Path(sys.argv[1]), boot="crashboot", budget=Budget(200_000, 20_000))
    i = 0
    while True:
        channel = Channel.EVENTS if i % 10 == 0 else Channel.READINGS
        item = box.put(channel, event if i % 10 == 0 else readings_batch(i * 50), datetime.now(UTC))
        if channel is Channel.EVENTS:
            sys.stdout.write(f"{item.seq}\\n")
            sys.stdout.flush()
        i += 1
    """
)


def test_kill_9_while_thinning_and_dropping_leaves_a_sound_outbox(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    assert child.stdout is not None
    events: list[int] = []
    try:
        while len(events) < 60:  # well past the budget: thinning and dropping all along
            line = child.stdout.readline()
            assert line, "the writer died before being killed"
            events.append(int(line))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    box = Outbox(path, budget=Budget(200_000, 20_000))
    usage = box.usage()
    assert usage.dropped == 0  # a fresh process: its counters start at zero
    urgent = {i.seq for i in box.next_batch(1000, lane=Lane.URGENT)}
    assert set(events) <= urgent  # no acknowledged-as-stored (committed) event lost
    assert usage.urgent_bytes + usage.bulk_bytes <= 200_000
    assert box.unreported_gaps()  # the drops were recorded
    box.close()
