"""The outbox: order, identity, acks, boots, and surviving a kill -9."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from devices.topics import Channel
from gateway.outbox import Encoder, Lane, Outbox, new_boot_id

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def payload(tag: str) -> Encoder:
    """An encoder that records (tag, boot, seq) in the payload."""
    return lambda boot, seq: f"{tag}:{boot}:{seq}".encode()


def test_sequence_is_assigned_at_enqueue_and_grows(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    items = [box.put(Channel.READINGS, payload("r"), NOW) for _ in range(3)]
    items += box.put_many([(Channel.EVENTS, payload("e")), (Channel.READINGS, payload("r"))], NOW)
    assert [i.seq for i in items] == [0, 1, 2, 3, 4]
    assert all(i.boot == box.boot for i in items)
    assert items[3].payload == f"e:{box.boot}:3".encode()
    assert items[3].lane is Lane.URGENT
    assert box.depth() == 5
    box.close()


def test_urgent_first_then_oldest_first_and_exclusions(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for _ in range(3):
        box.put(Channel.READINGS, payload("r"), NOW)
    box.put(Channel.EVENTS, payload("e"), NOW)
    assert [i.seq for i in box.next_batch(10)] == [3, 0, 1, 2]
    assert [i.seq for i in box.next_batch(2)] == [3, 0]
    assert [i.seq for i in box.next_batch(2, exclude={(box.boot, 3)})] == [0, 1]
    assert box.next_batch(0) == []
    box.close()


def test_remove_only_what_is_named(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for _ in range(4):
        box.put(Channel.READINGS, payload("r"), NOW)
    assert box.remove(box.boot, [1, 2, 99]) == 2
    assert box.remove("otherboot", [0]) == 0
    assert [i.seq for i in box.next_batch(10)] == [0, 3]
    assert box.depth() == 2
    box.close()


def test_a_new_boot_keeps_old_items_with_their_identity(tmp_path: Path) -> None:
    first = Outbox(tmp_path / "o.db")
    old = [first.put(Channel.READINGS, payload("r"), NOW) for _ in range(2)]
    first.close()
    second = Outbox(tmp_path / "o.db")
    assert second.boot != first.boot
    new = second.put(Channel.READINGS, payload("r"), NOW)
    assert new.seq == 0
    pending = second.next_batch(10)
    assert [(i.boot, i.seq, i.payload) for i in pending] == [
        (i.boot, i.seq, i.payload) for i in [*old, new]
    ]
    second.close()


def test_reopening_the_same_boot_never_reuses_a_sequence(tmp_path: Path) -> None:
    boot = new_boot_id()
    box = Outbox(tmp_path / "o.db", boot=boot)
    for _ in range(3):
        box.put(Channel.READINGS, payload("r"), NOW)
    box.close()
    again = Outbox(tmp_path / "o.db", boot=boot)
    assert again.put(Channel.READINGS, payload("r"), NOW).seq == 3
    again.close()


CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from devices.topics import Channel
    from gateway.outbox import Outbox

    box = Outbox(Path(sys.argv[1]), boot="crashboot")
    while True:
        item = box.put(Channel.READINGS, lambda b, s: b"x" * 200 + str(s).encode(), datetime.now(UTC))
        sys.stdout.write(f"{item.seq}\\n")
        sys.stdout.flush()
    """
)


def test_items_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    assert child.stdout is not None
    committed: list[int] = []
    try:
        while len(committed) < 300:
            line = child.stdout.readline()
            assert line, "the writer died before being killed"
            committed.append(int(line))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    box = Outbox(path)
    stored = {i.seq for i in box.next_batch(1_000_000) if i.boot == "crashboot"}
    assert set(committed) <= stored
    assert stored == set(range(len(stored)))  # no holes: the writer commits in order
    box.close()
