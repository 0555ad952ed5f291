"""Station KPIs per week: time to acknowledge and resolve, alerts per resident, false alarms, tests.

Pure core: ``week_kpis`` takes the week's alert rows, the number of residents and the week's test
alarms and returns the figures. ``StationReports`` reads them from the database for one station
and one week (Monday 00:00 in the station's time zone, for seven days). Care alerts exclude test
alarms and technical alarms (device health is counted apart: it says nothing about the people).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlertNotFoundError, AlertStoreError
from alerts.lifecycle import Priority
from alerts.models import Alert, TestAlarmRow
from registry.models import Gateway, Home, Resident, Station

TEST_KIND = "test_alarm"
FALSE_ALARM = "false_alarm"
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class AlertTimes:
    """What the KPIs need of one alert."""

    kind: str
    priority: str
    raised_at: datetime
    acked_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class TestAlarmResult:
    """One weekly test of a gateway's call button / wearable and how it went."""

    __test__ = False  # not a pytest class

    gateway_id: str
    home_id: int | None
    sent_at: datetime
    deadline: datetime
    answered_at: datetime | None
    result: str  # "pending" | "passed" | "failed"


@dataclass(frozen=True, slots=True)
class StationKpis:
    """One station's week (durations in seconds; None where there is nothing to measure)."""

    station_id: int
    week_start: datetime
    week_end: datetime
    alerts: int  # care alerts raised in the week (no tests, no technical alarms)
    technical_alarms: int
    residents: int
    alerts_per_resident: float | None
    ack_median_s: float | None
    ack_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None
    resolved: int
    false_alarms: int
    false_alarm_rate: float | None  # share of resolved care alerts with outcome false_alarm
    tests_sent: int
    tests_passed: int
    tests_failed: int
    test_pass_rate: float | None  # passed / (passed + failed); pending tests are not judged yet


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) with linear interpolation between ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def week_kpis(
    station_id: int,
    week_start: datetime,
    alerts: Sequence[AlertTimes],
    residents: int,
    tests: Sequence[TestAlarmResult],
) -> StationKpis:
    """The KPIs of alerts raised and tests sent in [week_start, week_start + 7 days)."""
    end = week_start + WEEK
    in_week = [a for a in alerts if week_start <= a.raised_at < end and a.kind != TEST_KIND]
    care = [a for a in in_week if a.priority != Priority.TECHNICAL.value]
    ack = [(a.acked_at - a.raised_at).total_seconds() for a in care if a.acked_at is not None]
    done = [a for a in care if a.resolved_at is not None]
    resolve = [(a.resolved_at - a.raised_at).total_seconds() for a in done if a.resolved_at]
    false_alarms = sum(1 for a in done if a.outcome == FALSE_ALARM)
    sent = [t for t in tests if week_start <= t.sent_at < end]
    passed = sum(1 for t in sent if t.result == "passed")
    failed = sum(1 for t in sent if t.result == "failed")
    return StationKpis(
        station_id=station_id,
        week_start=week_start,
        week_end=end,
        alerts=len(care),
        technical_alarms=len(in_week) - len(care),
        residents=residents,
        alerts_per_resident=len(care) / residents if residents else None,
        ack_median_s=_median(ack),
        ack_p90_s=percentile(ack, 0.9),
        resolve_median_s=_median(resolve),
        resolve_p90_s=percentile(resolve, 0.9),
        resolved=len(done),
        false_alarms=false_alarms,
        false_alarm_rate=false_alarms / len(done) if done else None,
        tests_sent=len(sent),
        tests_passed=passed,
        tests_failed=failed,
        test_pass_rate=passed / (passed + failed) if passed + failed else None,
    )


class StationReports:
    """Weekly figures of one station read from the alert tables."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def week_bounds(self, station_id: int, week_start: date) -> tuple[datetime, datetime]:
        """Local midnight of ``week_start`` in the station's time zone, and seven days later."""
        try:
            async with self._sessions() as session:
                zone_name = await session.scalar(
                    select(Station.timezone).where(Station.id == station_id)
                )
        except SQLAlchemyError as err:
            raise AlertStoreError(f"alert database: {err}") from err
        if zone_name is None:
            raise AlertNotFoundError(f"no station {station_id}")
        start = datetime.combine(week_start, datetime.min.time(), ZoneInfo(zone_name))
        return start, start + WEEK

    async def kpis(self, station_id: int, week_start: date) -> StationKpis:
        """The station's KPIs for the week that starts on ``week_start`` (station time)."""
        start, end = await self.week_bounds(station_id, week_start)
        try:
            async with self._sessions() as session:
                rows = await session.execute(
                    select(
                        Alert.kind, Alert.priority, Alert.raised_at,
                        Alert.acked_at, Alert.resolved_at, Alert.outcome,
                    ).where(
                        Alert.station_id == station_id,
                        Alert.raised_at >= start, Alert.raised_at < end,
                    )
                )  # fmt: skip
                alerts = [AlertTimes(*row) for row in rows]
                residents = await session.scalar(
                    select(func.count(Resident.id))
                    .join(Home, Home.id == Resident.home_id)
                    .where(Home.station_id == station_id)
                )
                tests = await self._tests(session, station_id, start, end)
        except SQLAlchemyError as err:
            raise AlertStoreError(f"alert database: {err}") from err
        return week_kpis(station_id, start, alerts, int(residents or 0), tests)

    async def test_alarm_report(self, station_id: int, week_start: date) -> list[TestAlarmResult]:
        """Every weekly test sent to the station's gateways in that week, oldest first."""
        start, end = await self.week_bounds(station_id, week_start)
        try:
            async with self._sessions() as session:
                return await self._tests(session, station_id, start, end)
        except SQLAlchemyError as err:
            raise AlertStoreError(f"alert database: {err}") from err

    @staticmethod
    async def _tests(
        session: AsyncSession, station_id: int, start: datetime, end: datetime
    ) -> list[TestAlarmResult]:
        rows = await session.execute(
            select(
                TestAlarmRow.gateway_id, Gateway.home_id, TestAlarmRow.sent_at,
                TestAlarmRow.deadline, TestAlarmRow.answered_at, TestAlarmRow.result,
            )
            .join(Gateway, Gateway.id == TestAlarmRow.gateway_id)
            .join(Home, Home.id == Gateway.home_id)
            .where(
                Home.station_id == station_id,
                TestAlarmRow.sent_at >= start, TestAlarmRow.sent_at < end,
            )
            .order_by(TestAlarmRow.sent_at, TestAlarmRow.id)
        )  # fmt: skip
        return [TestAlarmResult(*row) for row in rows]
