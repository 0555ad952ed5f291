"""The alert service's report to other processes: its detectors' problems, and that it runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.detector_health import DetectorHealth, DetectorProblem
from alerts.service_status import SILENT, ReportedStatus, StatusReporter
from devices.clock import ManualClock
from tests.alerts.conftest import START


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_reported_problems_are_read_back_and_a_silent_service_is_a_problem(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(START)
    health = DetectorHealth(now=clock.now)
    ticks = Ticks()
    reader = ReportedStatus(sessions, silent_after_s=60.0, monotonic=ticks, now=clock.now)
    reporter = StatusReporter(sessions, health.problems, clock)

    await reader.read()
    assert reader.problems() == [], "not reported yet, but not silent long enough to say so"
    ticks.now += 61
    assert [(p.name, p.since) for p in reader.problems()] == [(SILENT, START)]
    assert "no report" in reader.problems()[0].error

    await reporter.report()
    await reader.read()
    assert reader.problems() == []

    health.failed("routine", ConnectionError("influxdb unreachable"))
    health.watch(
        "vitals", lambda: DetectorProblem("vitals", START, "odd data", 2, ("gw-1", "gw-2"))
    )
    clock.advance(30)
    ticks.now += 15
    await reporter.report()
    await reader.read()
    assert reader.problems() == [
        DetectorProblem("routine", START, "ConnectionError: influxdb unreachable"),
        DetectorProblem("vitals", START, "odd data", 2, ("gw-1", "gw-2")),
    ]

    # the service stops: its last report stays in the table, but stops moving
    ticks.now += 59
    await reader.read()
    assert [p.name for p in reader.problems()] == ["routine", "vitals"]
    ticks.now += 2
    await reader.read()
    silent = reader.problems()
    assert [(p.name, p.since) for p in silent] == [(SILENT, START + timedelta(seconds=30))]
    assert "stopped reporting" in silent[0].error

    # back: its report moves again
    await reporter.report()
    await reader.read()
    assert [p.name for p in reader.problems()] == ["routine", "vitals"]


async def test_two_reporters_of_one_service_share_its_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(START)
    first = StatusReporter(sessions, list, clock)
    second = StatusReporter(sessions, list, clock)
    ticks = Ticks()
    reader = ReportedStatus(sessions, silent_after_s=10.0, monotonic=ticks)
    await first.report()
    await second.report()
    await reader.read()
    ticks.now += 9
    await first.report()
    await reader.read()
    ticks.now += 9
    assert reader.problems() == []
