"""Gateway clock skew: the pure estimator and judge, and the consumer on a real Mosquitto."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devices.payloads import GatewayState, ReadingIn, ReadingsMessage, StatusMessage
from devices.topics import Channel
from devices.values import Reading
from ingest.quarantine import SQLiteQuarantine
from ingest.skew import CLOCK, SkewTracker, judge, suspicious
from ingest.sqlite_store import SQLiteStore
from tests.ingest.conftest import T_SENT, FakeGateway, IngestFactory

RX = T_SENT + timedelta(minutes=1)  # the ingest fixture's (manual) clock
S = timedelta(seconds=1)


def reading(t_offset_s: float, device: str = "pir-1") -> Reading:
    """A motion reading stamped RX + t_offset_s (gateway clock)."""
    return Reading("gw-a", device, "motion", 1.0, RX + t_offset_s * S, RX)


def test_offset_is_the_median_of_live_heartbeats_and_stable_when_they_agree() -> None:
    tracker = SkewTracker()
    assert not tracker.offset("gw-a", "b1").stable
    for i, lag in enumerate([-3600.2, -3600.0, -3599.9]):
        got = tracker.observe("gw-a", "b1", RX + i * 30 * S - lag * S, RX + i * 30 * S)
    assert got.stable
    assert got.skewed
    assert got.offset_s == pytest.approx(-3600.0)
    assert tracker.to_flag(got)
    assert not tracker.to_flag(got)
    assert not tracker.offset("gw-a", "b2").stable  # per boot


def test_one_late_heartbeat_does_not_make_an_offset_but_a_set_clock_does() -> None:
    tracker = SkewTracker()
    for lag in (0.1, 0.2, 0.1):
        tracker.observe("gw-a", "b1", RX - lag * S, RX)
    late = tracker.observe("gw-a", "b1", RX - 40 * S, RX)  # one heartbeat stuck in a queue
    assert abs(late.offset_s) < 1
    assert not late.skewed
    for _ in range(3):  # someone set the gateway's clock 10 min back
        set_back = tracker.observe("gw-a", "b1", RX - 600 * S, RX)
    assert set_back.stable
    assert set_back.offset_s == pytest.approx(600.0)


def test_skewed_gateway_readings_are_restamped_and_a_jump_back_collides_with_nothing() -> None:
    tracker = SkewTracker()
    for _ in range(3):
        offset = tracker.observe("gw-a", "b1", RX - 600 * S, RX)  # clock set 10 min back
    stored_before = [reading(-630), reading(-620)]  # ten minutes ago, when the clock was right
    after_jump = [reading(-630), reading(-620)]  # taken just now, stamped with the same times
    out = judge(after_jump, offset, RX - 600 * S, RX)
    assert out.restamped == 2
    assert not out.refused
    assert [r.time for r in out.keep] == [RX - 30 * S, RX - 20 * S]
    identities = {(r.device, r.measurement, r.time) for r in [*stored_before, *out.keep]}
    assert len(identities) == 4  # nothing overwritten, order by time kept


def test_without_a_stable_offset_backlog_is_kept_and_the_future_quarantined() -> None:
    unknown = SkewTracker().offset("gw-a", "b1")
    backlog = [reading(-86_000), reading(-85_990)]  # a day old, sent a day ago: delayed
    out = judge(backlog, unknown, RX - 85_980 * S, RX)
    assert out.keep == backlog
    assert not out.refused
    future = [reading(3600)]
    out = judge(future, unknown, RX, RX)
    assert out.keep == []
    assert len(out.refused) == 1
    contradicted = [reading(-86_000)]  # old, but its message says it was sent just now
    assert len(judge(contradicted, unknown, RX, RX).refused) == 1
    assert not suspicious([RX - 10 * S], RX, RX)
    assert suspicious([RX + 400 * S], RX, RX)


async def test_consumer_restamps_flags_and_quarantines_by_clock(
    sqlite_store: SQLiteStore,
    quarantine: SQLiteQuarantine,
    start_ingest: IngestFactory,
    fake_gateway: FakeGateway,
) -> None:
    flagged: list[tuple[str, float]] = []
    await start_ingest(
        sqlite_store, {"gw-a", "gw-b"}, on_clock_skew=lambda g, o: flagged.append((g, o))
    )
    behind = RX - timedelta(hours=2)  # gw-a's clock is two hours behind
    for _ in range(3):
        status = StatusMessage(
            gw="gw-a", boot=fake_gateway.boot, state=GatewayState.ONLINE, t=behind
        )
        await fake_gateway.publish("gw-a", Channel.STATUS, status)
    message = ReadingsMessage(
        gw="gw-a",
        boot=fake_gateway.boot,
        seq=fake_gateway.next_seq(),
        sent_at=behind,
        readings=[ReadingIn(dev="pir-1", m="motion", val=1, t=behind - 10 * S)],
    )
    await fake_gateway.publish("gw-a", Channel.READINGS, message)
    await fake_gateway.next_ack()
    assert [g for g, _ in flagged] == ["gw-a"]
    assert flagged[0][1] == pytest.approx(7200.0)
    [stored] = await sqlite_store.recent_readings("gw-a", "pir-1", "motion", RX - 60 * S, RX)
    assert stored.time == RX - 10 * S
    ahead = ReadingsMessage(  # gw-b: no heartbeat yet, a reading a day in the future
        gw="gw-b",
        boot=fake_gateway.boot,
        seq=fake_gateway.next_seq(),
        sent_at=RX,
        readings=[
            ReadingIn(dev="pir-2", m="motion", val=1, t=RX + timedelta(days=1)),
            ReadingIn(dev="pir-2", m="motion", val=0, t=RX),
        ],
    )
    await fake_gateway.publish("gw-b", Channel.READINGS, ahead)
    await fake_gateway.next_ack()
    assert await sqlite_store.count_readings() == 2
    kept = await quarantine.recent(10)
    assert [q.reason for q in kept] == [CLOCK]
