"""The weekly station report: figures computed from alert views (pure), and the routine check."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.routine.detectors import BATHROOM_STAY, INACTIVITY, MISSED_MEAL, NIGHT_EXIT, NOT_UP
from alerts.views import AlertView
from dashboard.residents import HomeKit
from ingest.store import ReadingStore

TEST_KIND = "test_alarm"
ROUTINE_KINDS = frozenset({INACTIVITY, NOT_UP, BATHROOM_STAY, NIGHT_EXIT, MISSED_MEAL})
BASELINE_WEEKS = 3  # a resident's usual week: the mean of the three weeks before
ROUTINE_CHANGE = 0.3  # activity 30 % above or below the usual week is worth a look
MIN_BASELINE = 20  # fewer activity readings than this a week is too little to compare


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """What a week of one station's alerts adds up to (durations in seconds; None: no data)."""

    total: int
    by_kind: tuple[tuple[str, int], ...]
    by_priority: tuple[tuple[str, int], ...]
    unresolved: int
    ack_median_s: float | None
    ack_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None
    tests_received: int


@dataclass(frozen=True, slots=True)
class RoutineChange:
    """A resident whose week departs from their usual weeks."""

    resident_id: int
    this_week: int
    usual: float
    routine_alerts: int

    @property
    def change(self) -> float | None:
        """Relative change of activity against the usual week (0.3 = 30 % more)."""
        return None if self.usual <= 0 else self.this_week / self.usual - 1


def parse_week(text: str | None, today: date) -> date:
    """The Monday of ISO week ``YYYY-Www`` (this week's when missing or malformed)."""
    if text:
        try:
            year, week = text.split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            pass
    return today - timedelta(days=today.weekday())


def iso_week(monday: date) -> str:
    """``YYYY-Www`` of a Monday."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(monday: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight of Monday to the next Monday, as aware datetimes."""
    start = datetime.combine(monday, datetime.min.time(), zone)
    return start, datetime.combine(monday + timedelta(days=7), datetime.min.time(), zone)


def _p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def figures(views: Sequence[AlertView], start: datetime, end: datetime) -> WeekFigures:
    """Counts and response times of the alerts raised in [start, end)."""
    week = [v for v in views if start <= v.raised_at < end]
    care = [v for v in week if v.kind != TEST_KIND]
    ack = [(v.acked_at - v.raised_at).total_seconds() for v in care if v.acked_at is not None]
    done = [
        (v.resolved_at - v.raised_at).total_seconds() for v in care if v.resolved_at is not None
    ]
    return WeekFigures(
        total=len(care),
        by_kind=tuple(Counter(v.kind for v in care).most_common()),
        by_priority=tuple(Counter(v.priority for v in care).most_common()),
        unresolved=sum(1 for v in care if v.resolved_at is None),
        ack_median_s=statistics.median(ack) if ack else None,
        ack_p90_s=_p90(ack),
        resolve_median_s=statistics.median(done) if done else None,
        resolve_p90_s=_p90(done),
        tests_received=sum(1 for v in week if v.kind == TEST_KIND),
    )


async def weekly_activity(
    store: ReadingStore, kit: HomeKit, start: datetime, weeks: int
) -> list[int]:
    """Activity readings of a home per week, for ``weeks`` weeks from ``start``."""
    totals = [0] * weeks
    rooms = {d.key: d.room or "home" for d in kit.devices}
    for gateway in kit.gateways:
        end = start + timedelta(weeks=weeks)
        for cell in await store.activity_per_room_hour(gateway, rooms, start, end):
            index = int((cell.hour - start).total_seconds() // (7 * 24 * 3600))
            if 0 <= index < weeks:
                totals[index] += cell.count
    return totals


def routine_change(
    resident_id: int, weeks: Sequence[int], routine_alerts: int
) -> RoutineChange | None:
    """A RoutineChange when this week (the last of ``weeks``) departs from the ones before."""
    *before, this_week = weeks
    usual = sum(before) / len(before) if before else 0.0
    found = RoutineChange(resident_id, this_week, usual, routine_alerts)
    if routine_alerts > 0:
        return found
    if usual >= MIN_BASELINE and found.change is not None and abs(found.change) >= ROUTINE_CHANGE:
        return found
    return None
