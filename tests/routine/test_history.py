"""The compact event history gives back exactly the events it was given, in time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alerts.routine.events import SensorEvent
from alerts.routine.history import EventHistory

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SENSORS = [("pir-kitchen", "kitchen", "motion"), ("bed-1", "bedroom", "bed"),
           ("door-front", "hallway", "door")]  # fmt: skip

events = st.builds(
    lambda s, ms, v: SensorEvent(T0 + timedelta(milliseconds=ms), *SENSORS[s], float(v)),
    st.integers(0, len(SENSORS) - 1),
    st.integers(0, 10 * 24 * 3600 * 1000),
    st.sampled_from([0, 1]),
)


@given(st.lists(st.lists(events, max_size=30), max_size=6), st.integers(0, 10 * 24))
def test_the_same_events_as_a_sorted_set(batches: list[list[SensorEvent]], keep_h: int) -> None:
    history = EventHistory()
    plain: list[SensorEvent] = []
    for batch in batches:  # later batches may hold older events and repeat events (overlaps)
        history.extend(batch)
        history.extend(batch[: len(batch) // 2])
        plain += batch
    cut = T0 + timedelta(hours=keep_h)
    history.prune(cut)

    def row(e: SensorEvent) -> tuple[datetime, str, str, str, float]:
        return (e.time, e.sensor, e.room, e.kind, e.value)

    expected = sorted({row(e) for e in plain if e.time >= cut})
    got = [row(e) for e in history.since(None)]
    assert [r[0] for r in got] == sorted(r[0] for r in got)
    assert sorted(got) == expected
    assert len(history) == len(expected)
    later = cut + timedelta(days=3)
    assert len(history.since(later)) == sum(1 for r in expected if r[0] >= later)


def test_times_survive_to_the_microsecond() -> None:
    history = EventHistory()
    t = datetime(2026, 3, 1, 7, 1, 2, 345678, tzinfo=UTC)
    history.extend([SensorEvent(t, *SENSORS[0], 1.0)])
    assert history.since(None)[0].time == t
