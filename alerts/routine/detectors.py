"""Routine detectors: compare the present with the person's baseline and return findings.

Pure functions of (baseline, events, now). A finding holds while its condition holds; its
``since`` identifies the episode, so a caller raises one alert per (kind, since).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alerts.routine.baseline import MEAL_SLACK_H as MEAL_GRACE_H
from alerts.routine.baseline import RoutineBaseline
from alerts.routine.events import SensorEvent
from alerts.routine.situation import Situation, Status, classify
from alerts.routine.timeline import Timeline, count_between, local_hour, night_hour

INACTIVITY = "inactivity"
NOT_UP = "not_up"
BATHROOM_STAY = "bathroom_stay"
NIGHT_EXIT = "night_exit"
MISSED_MEAL = "missed_meal"
INACTIVITY_KINDS: frozenset[str] = frozenset({INACTIVITY, NOT_UP, BATHROOM_STAY})

NO_BASELINE_NOTE = "routine.no_personal_baseline_yet"
PERSONAL_NOTE = "routine.personal_baseline"
NIGHT_EXIT_HOLD_S = 1800.0  # a night exit stays reported this long, even if they come back
MEAL_HOLD_H = 3.0  # and report it for this long
MEAL_PROBE_MIN = 15  # how finely the meal window is checked for home and awake


@dataclass(frozen=True, slots=True)
class RoutineFinding:
    """Something departs from the person's routine (a finding, not an alert)."""

    kind: str
    since: datetime  # start of the episode (last activity, departure, meal window start)
    at: datetime  # the ``now`` it was found at
    observed: timedelta  # how long it has lasted
    threshold: timedelta  # what was allowed
    baseline_ready: bool
    note: str  # message key: personal baseline or "no personal baseline yet"


@dataclass(frozen=True, slots=True)
class RoutineStatus:
    """What the console shows for a resident: situation, silence and whether a baseline exists."""

    status: str  # one of situation.Status
    last_activity: datetime | None
    silence: timedelta | None
    allowed_silence: timedelta | None  # the inactivity threshold that applies right now
    baseline_ready: bool
    note: str


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _seconds(now: datetime) -> float:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.timestamp()


class RoutineDetector:
    """Inactivity, not-up, bathroom-stay, night-exit and missed-meal rules on one baseline."""

    def __init__(self, *, wandering_risk: bool = False, meals: bool = True) -> None:
        self.wandering_risk = wandering_risk
        self.meals = meals

    def check(
        self, baseline: RoutineBaseline, events: Iterable[SensorEvent] | Timeline, now: datetime
    ) -> tuple[RoutineFinding, ...]:
        """Findings that hold at ``now`` given the recent ``events`` (the last 2 days suffice)."""
        timeline = events if isinstance(events, Timeline) else Timeline(events)
        now_s = _seconds(now)
        situation = classify(timeline, baseline.window_, now_s)
        findings = [
            *self._inactivity(baseline, situation, timeline, now_s),
            *self._night_exit(baseline, timeline, now_s),
        ]
        if self.meals:
            findings.extend(self._missed_meals(baseline, timeline, now_s))
        return tuple(findings)

    def status(
        self, baseline: RoutineBaseline, events: Iterable[SensorEvent] | Timeline, now: datetime
    ) -> RoutineStatus:
        """The resident's situation at ``now`` for the console."""
        timeline = events if isinstance(events, Timeline) else Timeline(events)
        now_s = _seconds(now)
        situation = classify(timeline, baseline.window_, now_s)
        note = PERSONAL_NOTE if baseline.baseline_ready_ else NO_BASELINE_NOTE
        if situation.index < 0:
            return RoutineStatus(situation.status.value, None, None, None,
                                 baseline.baseline_ready_, note)  # fmt: skip
        allowed = None
        if situation.status is Status.AWAKE:
            allowed = timedelta(seconds=_gap_threshold(baseline, situation, timeline, now_s))
        return RoutineStatus(
            situation.status.value,
            _utc(timeline.t[situation.index]),
            timedelta(seconds=situation.silence_s),
            allowed,
            baseline.baseline_ready_,
            note,
        )

    def _finding(
        self, baseline: RoutineBaseline, kind: str, since: float, now: float, threshold: float
    ) -> RoutineFinding:
        return RoutineFinding(
            kind,
            _utc(since),
            _utc(now),
            timedelta(seconds=now - since),
            timedelta(seconds=threshold),
            baseline.baseline_ready_,
            PERSONAL_NOTE if baseline.baseline_ready_ else NO_BASELINE_NOTE,
        )

    def _inactivity(
        self, baseline: RoutineBaseline, situation: Situation, timeline: Timeline, now: float
    ) -> list[RoutineFinding]:
        if situation.index < 0:
            return []
        last = timeline.t[situation.index]
        if situation.status is Status.NOT_UP:
            window = baseline.window_
            late_s = (night_hour(now, window.tz) - window.getup_alert) * 3600.0
            return [self._finding(baseline, NOT_UP, last, now, now - last - late_s)]
        if situation.status is not Status.AWAKE:
            return []
        found: list[RoutineFinding] = []
        threshold = _gap_threshold(baseline, situation, timeline, now)
        if situation.silence_s > threshold:
            found.append(self._finding(baseline, INACTIVITY, last, now, threshold))
        bath_limit = baseline.bathroom_threshold_s_
        if (
            bath_limit is not None
            and not math.isnan(situation.bathroom_since)
            and now - situation.bathroom_since > bath_limit
        ):
            found.append(
                self._finding(baseline, BATHROOM_STAY, situation.bathroom_since, now, bath_limit)
            )
        return found

    def _night_exit(
        self, baseline: RoutineBaseline, timeline: Timeline, now: float
    ) -> list[RoutineFinding]:
        if not self.wandering_risk:
            return []
        lo, hi = baseline.night_exit_window_
        tz = baseline.window_.tz
        found: list[RoutineFinding] = []
        start = now - NIGHT_EXIT_HOLD_S
        for left in timeline.departures[bisect.bisect_left(timeline.departures, start) :]:
            if left <= now and lo <= night_hour(left, tz) <= hi:
                found.append(self._finding(baseline, NIGHT_EXIT, left, now, 0.0))
        return found

    def _missed_meals(
        self, baseline: RoutineBaseline, timeline: Timeline, now: float
    ) -> list[RoutineFinding]:
        tz = baseline.window_.tz
        local = datetime.fromtimestamp(now, tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        hour = local_hour(now, tz)
        found: list[RoutineFinding] = []
        for start_h, end_h in baseline.meal_windows_:
            due = end_h + MEAL_GRACE_H
            if not due <= hour < due + MEAL_HOLD_H:
                continue
            lo = midnight + (start_h - MEAL_GRACE_H) * 3600.0
            if count_between(timeline.kitchen, lo, midnight + due * 3600.0) > 0:
                continue
            probes = range(int((end_h - start_h) * 60 / MEAL_PROBE_MIN))
            home = sum(
                classify(
                    timeline,
                    baseline.window_,
                    midnight + start_h * 3600.0 + k * MEAL_PROBE_MIN * 60.0,
                ).status
                is Status.AWAKE
                for k in probes
            )
            if probes and home >= len(probes) / 2:
                since = midnight + start_h * 3600.0
                found.append(
                    self._finding(baseline, MISSED_MEAL, since, now, (due - start_h) * 3600)
                )
        return found


def _gap_threshold(
    baseline: RoutineBaseline, situation: Situation, timeline: Timeline, now: float
) -> float:
    """The silence allowed, by posture and by the hour the silence began (``limit_by="start"``).

    The limit belongs to the silence, not to the clock: a silence that began at 16:00 is judged
    by how long this person's silences beginning around 16:00 usually last, so it cannot keep
    moving away as the evening's longer limits come into force.
    """
    moment = timeline.t[situation.index] if baseline.limit_by == "start" else now
    hour = int(local_hour(moment, baseline.window_.tz)) % 24
    table = baseline.threshold_resting_s_ if situation.resting else baseline.threshold_active_s_
    return table[hour]
