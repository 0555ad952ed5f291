"""One contract for every ReadingStore adapter, each run against its real backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.values import Event, Reading
from ingest.errors import StoreError
from ingest.store import ReadingStore

T0 = datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)
RX = datetime(2024, 5, 1, 8, 0, 1, tzinfo=UTC)


def reading(
    value: float,
    seconds: float = 0.0,
    *,
    gw: str = "gw-1",
    dev: str = "pir-1",
    m: str = "motion",
    rx: datetime = RX,
) -> Reading:
    return Reading(gw, dev, m, value, T0 + timedelta(seconds=seconds), rx)


def event(event_id: str, seconds: float = 0.0, *, gw: str = "gw-1", kind: str = "fall") -> Event:
    return Event(
        event_id,
        gw,
        "band-1",
        kind,
        T0 + timedelta(seconds=seconds),
        RX,
        {"confidence": 0.93, "n": [1, 2]},
    )


async def test_written_readings_come_back_in_time_order(store: ReadingStore) -> None:
    written = [
        reading(72.5, 2, m="heart_rate", dev="band-1"),
        reading(71.0, 1, m="heart_rate", dev="band-1"),
    ]
    await store.write_readings(written)
    got = await store.recent_readings(
        "gw-1", "band-1", "heart_rate", T0, T0 + timedelta(seconds=10)
    )
    assert got == sorted(written, key=lambda r: r.time)
    assert all(r.time.tzinfo is not None and r.time.utcoffset() == timedelta(0) for r in got)


async def test_recent_readings_bounds_are_inclusive_and_filter_by_series(
    store: ReadingStore,
) -> None:
    await store.write_readings(
        [
            reading(1, 0),
            reading(0, 5),
            reading(1, 10),
            reading(1, 11),
            reading(1, 5, dev="pir-2"),
            reading(1, 5, gw="gw-2"),
            reading(50, 5, m="battery"),
        ]
    )
    got = await store.recent_readings("gw-1", "pir-1", "motion", T0, T0 + timedelta(seconds=10))
    assert [(r.value, r.time) for r in got] == [
        (1.0, T0),
        (0.0, T0 + timedelta(seconds=5)),
        (1.0, T0 + timedelta(seconds=10)),
    ]


async def test_rewriting_a_point_does_not_duplicate_it(store: ReadingStore) -> None:
    await store.write_readings([reading(1, 0), reading(0, 1)])
    later = RX + timedelta(seconds=30)
    await store.write_readings([reading(1, 0, rx=later), reading(0, 1, rx=later)])
    assert await store.count_readings() == 2
    got = await store.recent_readings("gw-1", "pir-1", "motion", T0, T0 + timedelta(seconds=1))
    assert [r.received_at for r in got] == [later, later]


async def test_count_readings_counts_every_measurement(store: ReadingStore) -> None:
    assert await store.count_readings() == 0
    await store.write_readings(
        [reading(1, 0), reading(80, 0, m="battery"), reading(1, 0, dev="d2")]
    )
    assert await store.count_readings() == 3


async def test_last_seen_is_latest_reading_per_device(store: ReadingStore) -> None:
    await store.write_readings(
        [
            reading(1, 0),
            reading(90, 30, m="battery"),
            reading(1, 12, dev="door-1", m="contact_open"),
            reading(1, 99, gw="gw-other"),
        ]
    )
    assert await store.last_seen("gw-1") == {
        "pir-1": T0 + timedelta(seconds=30),
        "door-1": T0 + timedelta(seconds=12),
    }
    assert await store.last_seen("gw-none") == {}


async def test_last_activity_counts_only_activity_of_one_or_more_up_to_until(
    store: ReadingStore,
) -> None:
    """A sign of activity is a reading of 1 or more — for the wearable's steps, 10 or more (the
    catalog's ``activity_from``: walking, not an arm moving in a chair)."""
    await store.write_readings(
        [
            reading(1, 0),  # motion: activity
            reading(0, 20),  # motion 0: not activity
            reading(1, 30, m="bed_occupied", dev="bed-1"),  # not an activity measurement
            reading(120, 40, m="steps", dev="band-1"),  # steps >= 10: activity
            reading(9, 50, m="steps", dev="band-1"),  # steps < 10: not activity
            reading(1, 100, m="flush", dev="wc-1"),  # after `until`
            reading(1, 5, gw="gw-2", m="contact_open", dev="door-1"),
            reading(0, 5, gw="gw-3"),
        ]
    )
    until = T0 + timedelta(seconds=60)
    got = await store.last_activity(["gw-1", "gw-2", "gw-3", "gw-unknown"], until)
    assert got == {"gw-1": T0 + timedelta(seconds=40), "gw-2": T0 + timedelta(seconds=5)}
    assert await store.last_activity(["gw-1"], T0 + timedelta(seconds=100)) == {
        "gw-1": T0 + timedelta(seconds=100)
    }


async def test_last_activity_finds_old_activity_and_the_latest_of_each_home(
    store: ReadingStore,
) -> None:
    """Homes last active an hour, three days, a month and a year ago (look-back windows)."""
    until = T0 + timedelta(days=400)
    ago = {"gw-1": timedelta(hours=1), "gw-2": timedelta(days=3), "gw-3": timedelta(days=30)}
    ago["gw-4"] = timedelta(days=365)
    readings = [reading(1, 0, gw=gw) for gw in ago]  # an older activity everywhere
    readings += [
        reading(1, int((until - delta - T0).total_seconds()), gw=gw) for gw, delta in ago.items()
    ]
    readings.append(reading(0, int((until - T0).total_seconds()) - 60, gw="gw-4"))  # not activity
    await store.write_readings(readings)
    got = await store.last_activity([*ago, "gw-none"], until)
    assert got == {gw: until - delta for gw, delta in ago.items()}


async def test_events_round_trip_and_are_idempotent_by_id(store: ReadingStore) -> None:
    await store.write_events([event("ev-00000002", 5, kind="call_button"), event("ev-00000001", 1)])
    await store.write_events([event("ev-00000001", 1)])
    await store.write_events([event("ev-other-gw", 1, gw="gw-2")])
    got = await store.events("gw-1", T0)
    assert [e.event_id for e in got] == ["ev-00000001", "ev-00000002"]
    assert got[0] == event("ev-00000001", 1)
    assert got[1].kind == "call_button"
    assert await store.events("gw-1", T0 + timedelta(seconds=2)) == [got[1]]


async def test_events_are_not_readings(store: ReadingStore) -> None:
    await store.write_events([event("ev-00000001", 1)])
    assert await store.count_readings() == 0
    assert await store.last_seen("gw-1") == {}


async def test_awkward_identifiers_round_trip(store: ReadingStore) -> None:
    odd = reading(1, 0, gw="gw.a_b-c", dev="dev:1 ,x='y\"")
    await store.write_readings([odd])
    got = await store.recent_readings(odd.gateway, odd.device, "motion", T0, T0)
    assert got == [odd]
    assert await store.last_seen(odd.gateway) == {odd.device: T0}


async def test_unknown_measurement_is_refused(store: ReadingStore) -> None:
    with pytest.raises(StoreError):
        await store.write_readings([reading(1, 0, m="not_in_catalog")])
    assert await store.count_readings() == 0


async def test_naive_times_are_refused(store: ReadingStore) -> None:
    naive = Reading("gw-1", "pir-1", "motion", 1.0, datetime(2024, 1, 1), RX)  # noqa: DTZ001
    with pytest.raises(StoreError):
        await store.write_readings([naive])


async def test_large_write_is_complete(store: ReadingStore) -> None:
    many = [reading(float(i % 100), i * 0.001, m="linkquality") for i in range(12_000)]
    await store.write_readings(many)
    assert await store.count_readings() == 12_000
    got = await store.recent_readings("gw-1", "pir-1", "linkquality", T0, T0 + timedelta(hours=1))
    assert [r.value for r in got] == [r.value for r in many]
