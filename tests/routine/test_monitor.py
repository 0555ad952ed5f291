"""The routine monitor as ``anxin up`` runs it: learned from the store, raising real alerts."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.feed import AlertFeed
from alerts.models import RoutineBaselineRow
from alerts.routine.detectors import INACTIVITY_KINDS, MISSED_MEAL
from alerts.routine.monitor import HISTORY, RoutineMonitor, _spread
from alerts.service import AlertService
from anxin import migrate
from anxin.config import Settings
from anxin.demo import backfill_history
from devices.clock import ManualClock
from devices.simulator import NO_INCIDENTS, SimulatedHome
from devices.values import Reading
from ingest.sqlite_store import SQLiteStore
from registry.db import make_async_engine, make_sessionmaker
from registry.demo import DemoFleet, demo_gateway_id, seed_demo

# 15:00 in Shanghai: the simulated resident of home 1 (seed 1) is at home then
CUT = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
SWEEP = timedelta(minutes=15)


@dataclass
class World:
    store: SQLiteStore
    service: AlertService
    monitor: RoutineMonitor
    clock: ManualClock
    fleet: DemoFleet
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade(url)
    engine = make_async_engine(url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        fleet = await seed_demo(session, 1, now=CUT - HISTORY - timedelta(days=1))
        await session.commit()
    store = await SQLiteStore.open(tmp_path / "ts.db")
    clock = ManualClock(CUT)
    service = AlertService(sessions, AlertFeed(), clock)
    monitor = RoutineMonitor(service, sessions, store, clock, SWEEP.total_seconds())
    try:
        yield World(store, service, monitor, clock, fleet, sessions)
    finally:
        await store.close()
        await engine.dispose()


def home_of(fleet: DemoFleet) -> SimulatedHome:
    return SimulatedHome(
        fleet.gateways[0].number + Settings().seed * 100_000, CUT, NO_INCIDENTS, accel_hz=0
    )


async def test_two_weeks_of_history_give_a_personal_baseline(world: World) -> None:
    assert await backfill_history(world.store, world.fleet, Settings(), CUT) > 0
    await world.monitor.check_once()
    (status,) = world.monitor.statuses.values()
    assert status.baseline_ready
    async with world.sessions() as session:  # kept for the console, maybe another process
        (row,) = (await session.scalars(select(RoutineBaselineRow))).all()
    assert row.ready
    assert row.days >= 13
    assert row.min_days == 7
    assert row.bathroom == "watched"  # the demo home's bathroom has a motion sensor
    assert re.fullmatch(r"\d\d:\d\d", row.getup_limit or "")
    assert row.fitted_at == CUT
    status = world.monitor.statuses[row.resident_id]  # and the check, as the console reads it
    assert row.situation == status.status
    assert row.quiet_since == status.last_activity
    if status.status == "awake":
        assert status.allowed_silence is not None
        assert row.alarm_at == row.quiet_since + status.allowed_silence
    else:
        assert row.alarm_at is None


async def test_without_history_the_defaults_are_recorded(world: World) -> None:
    await world.monitor.check_once()
    async with world.sessions() as session:
        (row,) = (await session.scalars(select(RoutineBaselineRow))).all()
    assert (row.ready, row.days, row.getup_limit) == (False, 0, "11:00")


async def live(world: World, hours: float, *, drop: frozenset[str] = frozenset()) -> list[str]:
    """Run the resident's life on from CUT for ``hours`` (readings of ``drop`` devices lost),
    sweeping like ``anxin up``; the kinds of the alerts raised."""
    home = home_of(world.fleet)
    gw = world.fleet.gateways[0].gateway_id
    raised: list[str] = []
    for _ in range(int(timedelta(hours=hours) / SWEEP)):
        now = world.clock.advance(SWEEP.total_seconds())
        out = home.step(now)
        await world.store.write_readings(
            [
                Reading(gw, r.device, r.measurement, r.value, r.time, now)
                for r in out.readings
                if r.device not in drop
            ]
        )
        raised += [a.kind for a in await world.monitor.check_once()]
    return raised


async def test_an_ordinary_day_raises_nothing(world: World) -> None:
    await backfill_history(world.store, world.fleet, Settings(), CUT)
    assert await live(world, 24) == []


async def test_five_weeks_of_history_learn_meals_and_a_skipped_dinner_is_raised(
    world: World,
) -> None:
    """The monitor keeps enough history for the missed-meal rule (28 days at home) to learn."""
    days = HISTORY.days
    await backfill_history(world.store, world.fleet, Settings(), CUT, days=days)
    await world.monitor.check_once()
    baseline = world.monitor.baseline(world.fleet.gateways[0].gateway_id)
    assert baseline is not None
    assert baseline.meal_windows_, "no meal window learned from five weeks"
    # 15:00 local: the evening goes on as usual, but nothing in the kitchen is seen
    kitchen = frozenset({"pir-kitchen", "fridge-1"})
    assert await live(world, 9, drop=kitchen) == [MISSED_MEAL]


async def test_an_incapacitation_is_found_within_hours_and_raised_once(world: World) -> None:
    await backfill_history(world.store, world.fleet, Settings(), CUT)
    raised = []
    # the stream stops at CUT: the resident no longer moves
    for _ in range(int(timedelta(hours=16) / SWEEP)):
        world.clock.advance(SWEEP.total_seconds())
        raised += await world.monitor.check_once()
        if raised:
            break
    assert raised, "no alert within 16 h of silence"
    alert = raised[0]
    assert alert.kind in INACTIVITY_KINDS
    assert alert.priority == "high"
    assert alert.summary.endswith("min; from this person's own days)")  # words, not a key
    found_after = alert.raised_at - CUT
    assert found_after <= timedelta(hours=16)
    world.clock.advance(SWEEP.total_seconds())
    again = await world.monitor.check_once()
    assert all(a.kind != alert.kind for a in again), "one alert per episode"


async def test_daily_refits_of_many_homes_spread_over_the_day(world: World) -> None:
    """After a restart every home is learned at once; the next refits come at each home's own
    time of day, so 500 homes do not all refit (seconds each) in one sweep every day."""
    await backfill_history(world.store, world.fleet, Settings(), CUT)
    gw = world.fleet.gateways[0].gateway_id
    await world.monitor.check_once()
    fits = [(CUT, world.monitor.baseline(gw))]
    for _ in range(int(timedelta(hours=49) / SWEEP)):
        now = world.clock.advance(SWEEP.total_seconds())
        await world.monitor.check_once()
        if world.monitor.baseline(gw) is not fits[-1][1]:
            fits.append((now, world.monitor.baseline(gw)))
    # the first fit, one at this home's own time of day, then one a day after that
    own = CUT + timedelta(days=1) * _spread(gw)
    assert [t for t, _ in fits][1:] == [
        first := CUT + SWEEP * math.ceil((own - CUT) / SWEEP),
        first + timedelta(days=1),
    ]
    spread = [_spread(demo_gateway_id(n)) for n in range(1, 501)]
    per_hour = [sum(1 for x in spread if h / 24 < x <= (h + 1) / 24) for h in range(24)]
    assert max(per_hour) < 2 * 500 / 24, per_hour


class FailingFor:
    """The store, except that reads of one gateway fail (a corrupt series, a bug on odd data)."""

    def __init__(self, store: SQLiteStore, gateway: str) -> None:
        self.store, self.gateway = store, gateway

    async def recent_readings(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> list[Reading]:
        if gateway == self.gateway:
            raise OSError(f"cannot read {gateway}")
        return await self.store.recent_readings(gateway, device, measurement, since, until)


async def test_one_home_that_fails_does_not_leave_the_others_unwatched(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await backfill_history(world.store, world.fleet, Settings(), CUT)
    async with world.sessions() as session:
        broken = (await seed_demo(session, 2, now=CUT)).gateways[1].gateway_id
        await session.commit()
    monitor = RoutineMonitor(
        world.service, world.sessions, FailingFor(world.store, broken), world.clock,
        SWEEP.total_seconds(),
    )  # fmt: skip
    raised = []
    for _ in range(int(timedelta(hours=16) / SWEEP)):
        world.clock.advance(SWEEP.total_seconds())
        raised += await monitor.check_once()
        if raised:
            break
    assert [a.gateway_id for a in raised] == [world.fleet.gateways[0].gateway_id]
    assert f"routine_sweep_incomplete failed=1 of=2 gateways={broken}" in caplog.text


async def test_readings_that_arrive_late_are_seen(world: World) -> None:
    """A gateway's backlog after an outage carries the readings' own, earlier times: the
    monitor must see that the resident was up and about, not a silence since the outage."""
    await backfill_history(world.store, world.fleet, Settings(), CUT)
    home = home_of(world.fleet)
    gw = world.fleet.gateways[0].gateway_id
    await world.monitor.check_once()
    backlog: list[Reading] = []
    for _ in range(int(timedelta(hours=3) / SWEEP)):  # the link is down: nothing arrives
        now = world.clock.advance(SWEEP.total_seconds())
        backlog += [Reading(gw, r.device, r.measurement, r.value, r.time, now)
                    for r in home.step(now).readings]  # fmt: skip
        await world.monitor.check_once()
    (resident,) = world.monitor.statuses
    assert world.monitor.statuses[resident].last_activity < CUT  # all it knew so far
    await world.store.write_readings(backlog)  # back online: the outbox drains
    world.clock.advance(SWEEP.total_seconds())
    await world.monitor.check_once()
    last = world.monitor.statuses[resident].last_activity
    assert last is not None
    assert last > CUT + timedelta(hours=2)


async def test_a_usual_get_up_time_set_by_staff_counts_at_the_next_check(world: World) -> None:
    """No history yet: not up by 11:00 (defaults); staff say she gets up at 06:00, and the next
    sweep refits with it — not tomorrow's daily refit."""
    from alerts.routine.timeline import to_night_hour
    from registry.models import Resident

    gateway = world.fleet.gateways[0].gateway_id
    await world.monitor.check_once()
    first = world.monitor.baseline(gateway)
    assert first is not None
    assert first.window_.getup_alert == to_night_hour(11.0)
    async with world.sessions() as session, session.begin():
        (person,) = (await session.scalars(select(Resident))).all()
        person.usual_getup = "06:00"
    world.clock.advance(SWEEP.total_seconds())
    await world.monitor.check_once()
    told = world.monitor.baseline(gateway)
    assert told is not None
    assert told.window_.getup_alert == to_night_hour(8.0)
    async with world.sessions() as session:
        (row,) = (await session.scalars(select(RoutineBaselineRow))).all()
    assert row.getup_limit == "08:00"  # and the resident page says so


async def test_a_watch_level_set_by_staff_counts_at_the_next_check(world: World) -> None:
    """Staff watch a resident closely (home from hospital): the next sweep refits with the close
    level's margins — the not-up limit moves from 11:00 to 10:30 and the awake silence allowed
    from 4 h to 3 h 20 min — and an unknown level in the database is read as standard."""
    from alerts.routine.timeline import to_night_hour
    from registry.models import Resident

    gateway = world.fleet.gateways[0].gateway_id

    async def set_watch(level: str) -> None:
        async with world.sessions() as session, session.begin():
            (person,) = (await session.scalars(select(Resident))).all()
            person.watch = level
        world.clock.advance(SWEEP.total_seconds())
        await world.monitor.check_once()

    await world.monitor.check_once()
    first = world.monitor.baseline(gateway)
    assert first is not None
    assert (first.window_.getup_alert, first.threshold_active_s_[12]) == (
        to_night_hour(11.0),
        4 * 3600.0,
    )
    await set_watch("close")
    close = world.monitor.baseline(gateway)
    assert close is not None
    assert (close.window_.getup_alert, close.threshold_active_s_[12]) == pytest.approx(
        (to_night_hour(10.5), 200 * 60.0)
    )
    async with world.sessions() as session:
        (row,) = (await session.scalars(select(RoutineBaselineRow))).all()
    assert row.getup_limit == "10:30"  # and the resident page says so
    await set_watch("sloppy")  # not through the form, which refuses it
    fallback = world.monitor.baseline(gateway)
    assert fallback is not None
    assert fallback.window_.getup_alert == to_night_hour(11.0)


async def test_the_wearables_steps_are_signs_of_activity_when_checking(world: World) -> None:
    """Walking (≥ WALKING_STEPS in a reading) counts as activity at the next check; a few steps
    (an arm moving in a chair) do not; steps older than the two days a check reads play no
    part."""
    gw = world.fleet.gateways[0].gateway_id

    def reading(device: str, measurement: str, value: float, ago: timedelta) -> Reading:
        return Reading(gw, device, measurement, value, CUT - ago, CUT - ago)

    await world.store.write_readings(
        [
            reading("wear-1", "steps", 60.0, timedelta(days=3)),
            reading("wear-1", "steps", 4.0, timedelta(minutes=30)),
        ]
    )
    await world.monitor.check_once()
    (status,) = world.monitor.statuses.values()
    assert status.last_activity is None  # neither counts
    await world.store.write_readings(
        [
            reading("pir-living_room", "motion", 1.0, timedelta(hours=3)),
            reading("wear-1", "steps", 25.0, timedelta(minutes=10)),
        ]
    )
    world.clock.advance(SWEEP.total_seconds())
    await world.monitor.check_once()
    (status,) = world.monitor.statuses.values()
    assert status.last_activity == CUT - timedelta(minutes=10)
