"""Contract of the dashboard's and detectors' named queries, and of retention, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.values import Reading
from ingest.errors import StoreError
from ingest.queries import OccupancySpan, RoomHour, TrendPoint
from ingest.retention import Retention
from ingest.store import ReadingStore

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
RX = datetime(2024, 5, 1, 8, 0, 1, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def r(dev: str, m: str, value: float, at: timedelta, gw: str = "gw-1") -> Reading:
    return Reading(gw, dev, m, value, T0 + at, RX)


ROOMS = {"pir-bed": "bedroom", "pir-kit": "kitchen", "fridge-1": "kitchen", "wc-1": "bathroom"}


async def test_activity_per_room_per_hour(store: ReadingStore) -> None:
    await store.write_readings(
        [
            r("pir-bed", "motion", 1, 5 * M),
            r("pir-bed", "motion", 0, 6 * M),  # not activity
            r("pir-bed", "motion", 1, 70 * M),
            r("pir-kit", "motion", 1, 10 * M),
            r("fridge-1", "contact_open", 1, 11 * M),  # same room, same hour: summed
            r("wc-1", "flush", 1, 2 * H),  # at `until`: excluded
            r("bed-1", "bed_occupied", 1, 5 * M),  # not an activity measurement
            r("pir-x", "motion", 1, 5 * M),  # no room: left out
            r("pir-bed", "motion", 1, 5 * M, gw="gw-2"),
        ]
    )
    got = await store.activity_per_room_hour("gw-1", ROOMS, T0, T0 + 2 * H)
    assert got == [
        RoomHour("bedroom", T0, 1),
        RoomHour("kitchen", T0, 2),
        RoomHour("bedroom", T0 + H, 1),
    ]


async def test_bed_occupancy_spans(store: ReadingStore) -> None:
    await store.write_readings(
        [
            r("bed-1", "bed_occupied", 1, 0 * M),
            r("bed-1", "bed_occupied", 1, 30 * M),  # still in bed: same span
            r("bed-1", "bed_occupied", 0, 8 * H),
            r("bed-1", "bed_occupied", 1, 9 * H),  # back to bed, not out yet
            r("bed-2", "bed_occupied", 0, 1 * H),
            r("bed-2", "bed_occupied", 1, 2 * H),
            r("bed-2", "bed_occupied", 0, 3 * H),
            r("pir-1", "motion", 1, 4 * H),
        ]
    )
    got = await store.bed_occupancy_spans("gw-1", T0, T0 + 12 * H)
    assert got == [
        OccupancySpan("bed-1", T0, T0 + 8 * H),
        OccupancySpan("bed-2", T0 + 2 * H, T0 + 3 * H),
        OccupancySpan("bed-1", T0 + 9 * H, None),
    ]
    assert await store.bed_occupancy_spans("gw-2", T0, T0 + 12 * H) == []


async def test_vitals_trend_buckets(store: ReadingStore) -> None:
    await store.write_readings(
        [
            r("band-1", "heart_rate", 60, 1 * M),
            r("band-1", "heart_rate", 70, 2 * M),
            r("band-1", "heart_rate", 90, 14 * M),
            r("band-1", "heart_rate", 80, 40 * M),  # third bucket; the second is empty
            r("band-1", "heart_rate", 200, 60 * M),  # at `until`: excluded
            r("band-1", "spo2", 97, 1 * M),
        ]
    )
    got = await store.vitals_trend(
        "gw-1", "band-1", "heart_rate", T0, T0 + H, timedelta(minutes=15)
    )
    assert [(p.start, p.low, p.high, p.count) for p in got] == [
        (T0, 60.0, 90.0, 3),
        (T0 + 30 * M, 80.0, 80.0, 1),
    ]
    assert [p.mean for p in got] == pytest.approx([220 / 3, 80.0])
    with pytest.raises(StoreError):
        await store.vitals_trend("gw-1", "band-1", "heart_rate", T0, T0 + H, timedelta(0))


NOW = datetime(2024, 6, 1, 12, 30, tzinfo=UTC)


async def test_retention_rolls_up_then_deletes_expired_points(store: ReadingStore) -> None:
    policies = {
        "heart_rate": Retention(raw=timedelta(days=7), rollup=timedelta(days=30)),
        "motion": Retention(raw=timedelta(days=60), rollup=timedelta(days=365)),
    }
    old = NOW - timedelta(days=10)  # past raw retention of heart_rate
    hour = old.replace(minute=0)
    ancient = NOW - timedelta(days=40)  # its rollup is past the rollup retention
    recent = NOW - timedelta(days=1)
    readings = [
        Reading("gw-1", "band-1", "heart_rate", v, hour + timedelta(minutes=i), RX)
        for i, v in enumerate([60.0, 70.0, 80.0])
    ]
    readings += [
        Reading("gw-1", "band-1", "heart_rate", 75.0, recent, RX),
        Reading("gw-1", "band-1", "heart_rate", 65.0, ancient, RX),
        Reading("gw-1", "pir-1", "motion", 1.0, old, RX),  # within motion's raw retention
    ]
    await store.write_readings(readings)
    report = await store.apply_retention(NOW, policies)
    # two hours rolled up; the 40-day-old one is at once past its own retention
    assert (report.rolled_up, report.deleted_raw, report.deleted_rollups) == (2, 4, 1)
    assert await store.count_readings() == 2
    left = await store.recent_readings("gw-1", "band-1", "heart_rate", ancient, NOW)
    assert [x.value for x in left] == [75.0]
    expected = [TrendPoint(hour, 70.0, 60.0, 80.0, 3)]
    assert await store.rollups("gw-1", "band-1", "heart_rate", ancient - H, NOW) == expected
    again = await store.apply_retention(NOW, policies)  # idempotent: nothing left to do
    assert (again.rolled_up, again.deleted_raw, again.deleted_rollups) == (0, 0, 0)
    assert await store.rollups("gw-1", "band-1", "heart_rate", ancient - H, NOW) == [
        TrendPoint(hour, 70.0, 60.0, 80.0, 3)
    ]
