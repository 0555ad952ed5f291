"""The simple inactivity rule (constructed times) and one monitor sweep on a real database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from alerts.inactivity import InactivityMonitor, InactivityRule, check_inactivity
from tests.alerts.conftest import Home

NOW = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
H = timedelta(hours=1)


def test_quiet_afternoon_is_a_finding() -> None:
    finding = check_inactivity(NOW - 4.5 * H, NOW, 14.0)
    assert finding is not None
    assert (finding.kind, finding.priority, finding.reason) == ("inactivity", "medium", "daytime")
    assert finding.since == NOW - 4.5 * H
    assert finding.gap == 4.5 * H


def test_short_gaps_are_normal() -> None:
    assert check_inactivity(NOW - 3.9 * H, NOW, 14.0) is None
    assert check_inactivity(NOW - 0.1 * H, NOW, 14.0) is None


def test_a_night_of_sleep_is_not_inactivity() -> None:
    # last seen at 22:00, now 02:00 and 09:30: long gap, but the day has barely begun
    assert check_inactivity(NOW - 4 * H, NOW, 2.0) is None
    assert check_inactivity(NOW - 11.5 * H, NOW, 9.5) is None
    # not up by 12:30 after a night that started at 21:00: the morning counts
    late = check_inactivity(NOW - 11.5 * H, NOW, 12.5)
    assert late is not None
    assert late.reason == "daytime"


def test_twelve_hours_at_any_time() -> None:
    finding = check_inactivity(NOW - 12.5 * H, NOW, 3.0)
    assert finding is not None
    assert finding.reason == "any_time"


def test_evening_and_missing_data() -> None:
    assert check_inactivity(NOW - 5 * H, NOW, 21.5) is None  # after day end, under 12 h
    assert check_inactivity(None, NOW, 14.0) is None  # never any activity: a technical matter
    assert check_inactivity(NOW + H, NOW, 14.0) is None  # activity stamped in the future


def test_thresholds_are_parameters() -> None:
    strict = InactivityRule(day_gap=2 * H)
    assert check_inactivity(NOW - 3 * H, NOW, 14.0, strict) is not None
    assert check_inactivity(NOW - 3 * H, NOW, 14.0) is None


async def test_monitor_raises_once_per_quiet_spell(home: Home) -> None:
    home.clock.current = NOW
    last_seen = {"gw-1": NOW - 5 * H}
    asked: list[tuple[list[str], datetime]] = []

    async def last_activity(gateways: Sequence[str], until: datetime) -> dict[str, datetime]:
        asked.append((list(gateways), until))
        return {gw: last_seen[gw] for gw in gateways if gw in last_seen}

    monitor = InactivityMonitor(home.service, home.sessions, last_activity, home.clock, 300)
    [raised] = await monitor.check_once()
    assert asked == [(["gw-1"], NOW)]
    assert (raised.kind, raised.priority, raised.gateway_id) == ("inactivity", "medium", "gw-1")
    assert raised.resident_id == home.resident_id
    assert "5.0 h" in raised.summary
    home.clock.advance(300)
    assert await monitor.check_once() == []  # same spell, alert already open
    last_seen["gw-1"] = NOW  # someone moved ...
    home.clock.advance(5 * 3600)  # ... then nothing for five hours again: a new spell
    [again] = await monitor.check_once()
    assert again.id != raised.id
    assert await home.service.count_open() == 2
