"""Station KPIs: constructed weeks (pure) and the real tables on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from alerts.errors import AlertNotFoundError
from alerts.kpis import AlertTimes, StationReports, TestAlarmResult, percentile, week_kpis
from alerts.models import TestAlarmRow
from alerts.service import Outcome
from tests.alerts.conftest import Home

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
FALSE = "false_alarm"


def _alert(
    minutes: float,
    ack_s: float | None,
    resolve_s: float | None,
    outcome: str | None = None,
    kind: str = "fall",
    priority: str = "high",
) -> AlertTimes:
    raised = MONDAY + timedelta(minutes=minutes)
    return AlertTimes(
        kind,
        priority,
        raised,
        None if ack_s is None else raised + timedelta(seconds=ack_s),
        None if resolve_s is None else raised + timedelta(seconds=resolve_s),
        outcome,
    )


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0], 0.9) == 91.0


def test_week_kpis_from_constructed_alerts() -> None:
    alerts = [
        _alert(1, 30, 600, "visited"),
        _alert(2, 60, 900, FALSE),
        _alert(3, 90, None),
        _alert(4, None, None, kind="inactivity", priority="medium"),
        _alert(5, 10, 20, "test", kind="test_alarm", priority="low"),  # a test: not counted
        _alert(6, None, None, kind="gateway_offline", priority="technical"),
        _alert(-10, 5, 5, FALSE),  # the week before
        _alert(7 * 24 * 60, 5, 5, FALSE),  # the week after
    ]
    sent = MONDAY + timedelta(days=1)
    tests = [
        TestAlarmResult("gw-1", 1, sent, sent, sent, "passed"),
        TestAlarmResult("gw-2", 1, sent, sent, None, "failed"),
        TestAlarmResult("gw-3", 1, sent, sent, None, "passed"),
        TestAlarmResult("gw-4", 1, sent, sent, None, "pending"),
    ]
    k = week_kpis(7, MONDAY, alerts, 2, tests)
    assert (k.alerts, k.technical_alarms, k.residents) == (4, 1, 2)
    assert k.alerts_per_resident == 2.0
    assert (k.ack_median_s, k.ack_p90_s) == (60.0, 84.0)
    assert (k.resolve_median_s, k.resolve_p90_s) == (750.0, 870.0)
    assert (k.resolved, k.false_alarms, k.false_alarm_rate) == (2, 1, 0.5)
    assert (k.tests_sent, k.tests_passed, k.tests_failed) == (4, 2, 1)
    assert k.test_pass_rate == pytest.approx(2 / 3)


def test_an_empty_week_has_no_rates() -> None:
    k = week_kpis(7, MONDAY, [], 0, [])
    assert k.alerts == 0
    assert (k.alerts_per_resident, k.ack_median_s, k.false_alarm_rate, k.test_pass_rate) == (
        None,
        None,
        None,
        None,
    )


async def test_kpis_and_test_report_read_from_the_database(home: Home) -> None:
    # START is Saturday 2025-03-01 09:30 in Shanghai: the week of Monday 2025-02-24
    monday = date(2025, 2, 24)
    fall = await home.service.raise_from_event(home.event("fall"))
    assert fall is not None
    home.clock.advance(40)
    await home.service.acknowledge(fall.id, home.staff_id)
    home.clock.advance(260)
    await home.service.resolve(fall.id, home.staff_id, Outcome.FALSE_ALARM)
    call = await home.service.raise_from_event(home.event("call_button"))
    assert call is not None
    home.clock.advance(120)
    await home.service.acknowledge(call.id, home.staff_id)
    home.clock.advance(480)
    await home.service.resolve(call.id, home.staff_id, Outcome.VISITED)
    now = home.clock.now()
    async with home.sessions() as session, session.begin():
        for n, result in enumerate(("passed", "failed")):
            session.add(
                TestAlarmRow(
                    command_id=f"cmd-{n}", gateway_id="gw-1", device_key="", sent_at=now,
                    deadline=now + timedelta(minutes=5), result=result,
                )
            )  # fmt: skip
    reports = StationReports(home.sessions)
    k = await reports.kpis(home.station_id, monday)
    assert k.week_start == datetime(2025, 2, 23, 16, 0, tzinfo=UTC)  # Monday 00:00 in Shanghai
    assert (k.alerts, k.residents, k.alerts_per_resident) == (2, 2, 1.0)
    assert (k.ack_median_s, k.resolve_median_s) == (80.0, 450.0)
    assert k.ack_p90_s == pytest.approx(112.0)
    assert (k.false_alarms, k.false_alarm_rate) == (1, 0.5)
    assert (k.tests_sent, k.test_pass_rate) == (2, 0.5)
    report = await reports.test_alarm_report(home.station_id, monday)
    assert [(t.gateway_id, t.home_id, t.result) for t in report] == [
        ("gw-1", home.home_id, "passed"),
        ("gw-1", home.home_id, "failed"),
    ]
    later = await reports.kpis(home.station_id, date(2025, 3, 3))
    assert (later.alerts, later.tests_sent, later.ack_median_s) == (0, 0, None)
    with pytest.raises(AlertNotFoundError):
        await reports.kpis(home.station_id + 99, monday)


async def test_anxin_alerts_kpis_prints_the_week_as_json(home: Home, database_url: str) -> None:
    call = await home.service.raise_from_event(home.event("call_button"))
    assert call is not None
    home.clock.advance(30)
    await home.service.acknowledge(call.id, home.staff_id)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "anxin", "alerts", "kpis", "--database-url", database_url,
        "--station", str(home.station_id), "--week", "2025-W09",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    figures = json.loads(out.decode().strip().splitlines()[-1])
    assert (figures["week"], figures["alerts"], figures["ack_median_s"]) == ("2025-W09", 1, 30.0)
    assert figures["test_alarms"] == []
    bad = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "anxin", "alerts", "kpis", "--database-url", database_url,
        "--station", "1", "--week", "2025-09",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await asyncio.wait_for(bad.communicate(), 60)
    assert bad.returncode == 2
