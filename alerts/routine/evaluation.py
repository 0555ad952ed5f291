"""Replay a recording in simulated time: false alarms on normal days, injected incapacitations.

Protocol: leave one day out. For each complete local day, a baseline is fitted on all OTHER
complete days (nights touching the held-out day are left out too), then the held-out day is
replayed every few minutes and each finding episode first seen that day is a false alarm (the
data sets label no emergencies). For incapacitations a day is drawn, then a moment when the
person is at home (outside labelled ``Leaving`` intervals, or, unlabelled, not inferred away);
the stream is cut there and the time from the cut to the first inactivity-type finding is taken,
with that day's held-out baseline.
"""

from __future__ import annotations

import bisect
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np

from alerts.routine.baseline import LEARN_DAYS, RoutineBaseline, complete_days
from alerts.routine.detectors import INACTIVITY_KINDS, RoutineDetector
from alerts.routine.events import STEPS
from alerts.routine.loaders import Recording, zone
from alerts.routine.situation import Status, classify
from alerts.routine.timeline import Timeline, local_hour

log = logging.getLogger(__name__)

REPLAY_STEP_MIN = 5.0  # how often a normal day is checked
TRIAL_STEP_MIN = 1.0  # resolution of time to alert
TRIAL_CAP_H = 24.0  # no alert within this long after the cut counts as undetected
MAX_DRAWS = 1000  # draws of a moment before giving up on finding the person at home
LEAVE_ONE_OUT = "leave-one-day-out"  # each day judged by a baseline of all the other days
PAST_ONLY = "past-days"  # each day judged by a baseline of the days before it, as deployed
PROTOCOLS = (LEAVE_ONE_OUT, PAST_ONLY)
# the local hours of the cuts, in bands a station reads: the goal is per hour of the day
HOUR_BANDS = (("night 22-06", 22, 6), ("morning 06-12", 6, 12), ("afternoon 12-18", 12, 18),
              ("evening 18-22", 18, 22))  # fmt: skip
HISTORY_BANDS = (("0-6 days", 0, 6), ("7-13 days", 7, 13), ("14-20 days", 14, 20),
                 ("21+ days", 21, 10_000))  # fmt: skip


@dataclass(frozen=True, slots=True)
class FalseAlarm:
    """A finding episode on a normal day."""

    day: date
    kind: str
    since: datetime
    found_at: datetime


@dataclass(frozen=True, slots=True)
class Trial:
    """One injected incapacitation and how long until the first inactivity-type finding."""

    cut: datetime
    local_hour: float
    status_at_cut: str
    resting: bool
    normal_gap: timedelta  # longest silence in progress at this hour on other days, same situation
    delay: timedelta | None  # None: undetected within the cap
    kind: str | None


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Everything the eval found, and the summary the command prints as JSON."""

    source: str
    days: tuple[date, ...]
    false_alarms: tuple[FalseAlarm, ...]
    trials: tuple[Trial, ...]
    notes: tuple[str, ...] = field(default=())
    protocol: str = LEAVE_ONE_OUT
    history: Mapping[date, int] = field(default_factory=dict)  # days each day's baseline knew
    tz: str = ""  # the recording's clock (local days of the trials)

    def summary(self) -> dict[str, object]:
        """The figures as a flat JSON-able dict."""
        delays = [t.delay.total_seconds() / 60.0 for t in self.trials if t.delay is not None]
        detected = [t for t in self.trials if t.delay is not None]
        within = [t for t in detected if t.delay is not None and t.delay <= t.normal_gap]
        gaps = [t.normal_gap.total_seconds() / 60.0 for t in self.trials]
        days = len(self.days)
        kinds: dict[str, int] = {}
        for alarm in self.false_alarms:
            kinds[alarm.kind] = kinds.get(alarm.kind, 0) + 1
        per_day = len(self.false_alarms) / days if days else float("nan")
        inactivity = sum(kinds.get(k, 0) for k in INACTIVITY_KINDS)
        awake = [t for t in self.trials if t.status_at_cut == Status.AWAKE.value]
        awake_delays = [t.delay.total_seconds() / 60.0 for t in awake if t.delay is not None]
        asleep = [t for t in self.trials if t.status_at_cut != Status.AWAKE.value]
        asleep_delays = [t.delay.total_seconds() / 60.0 for t in asleep if t.delay is not None]
        return {
            "source": self.source,
            "protocol": self.protocol,
            "resident_days": days,
            "false_alarms": len(self.false_alarms),
            "false_alarms_per_resident_day": round(per_day, 4),
            "false_alarms_per_resident_month": round(per_day * 30.0, 3),
            "false_alarms_by_kind": kinds,
            "inactivity_false_alarms_per_resident_day": round(inactivity / days, 4)
            if days
            else None,
            "trials": len(self.trials),
            "detected": len(detected),
            "median_time_to_alert_min": _rounded(delays, 0.5),
            "p95_time_to_alert_min": _rounded(delays, 0.95),
            "median_normal_gap_min": _rounded(gaps, 0.5),
            "detected_within_normal_gap": len(within),
            "awake_trials": len(awake),
            "awake_detected": len(awake_delays),
            "awake_median_time_to_alert_min": _rounded(awake_delays, 0.5),
            "awake_median_normal_gap_min": _rounded(
                [t.normal_gap.total_seconds() / 60.0 for t in awake], 0.5
            ),
            "asleep_trials": len(asleep),
            "asleep_median_time_to_alert_min": _rounded(asleep_delays, 0.5),
            "asleep_median_normal_gap_min": _rounded(
                [t.normal_gap.total_seconds() / 60.0 for t in asleep], 0.5
            ),
            "by_history": self.by_history(),
            "by_hour": self.by_hour(),
        }

    def by_hour(self) -> dict[str, dict[str, float | int | None]]:
        """Trials by the local hour of the cut: median time to alert against the median normal
        gap of those same trials, and how many were found within their own normal gap."""
        out: dict[str, dict[str, float | int | None]] = {}
        for label, lo, hi in HOUR_BANDS:
            trials = [
                t
                for t in self.trials
                if (
                    lo <= t.local_hour < hi
                    if lo < hi
                    else (t.local_hour >= lo or t.local_hour < hi)
                )
            ]
            delays = [t.delay.total_seconds() / 60.0 for t in trials if t.delay is not None]
            out[label] = {
                "trials": len(trials),
                "detected": len(delays),
                "median_time_to_alert_min": _rounded(delays, 0.5),
                "median_normal_gap_min": _rounded(
                    [t.normal_gap.total_seconds() / 60.0 for t in trials], 0.5
                ),
                "within_normal_gap": sum(
                    1 for t in trials if t.delay is not None and t.delay <= t.normal_gap
                ),
            }
        return out

    def by_history(self) -> dict[str, dict[str, float | int | None]]:
        """Resident-days, false alarms and trials by how many days the baseline had learned from
        (the first week runs on defaults): how the detectors do as a person's history grows."""
        out: dict[str, dict[str, float | int | None]] = {}
        zone_ = zone(self.tz) if self.tz else None
        for label, lo, hi in HISTORY_BANDS:
            days = {d for d in self.days if lo <= self.history.get(d, 0) <= hi}
            if not days:
                continue
            trials = [t for t in self.trials if _local_day(t.cut, zone_) in days]
            delays = [t.delay.total_seconds() / 60.0 for t in trials if t.delay is not None]
            out[label] = {
                "resident_days": len(days),
                "false_alarms": sum(1 for a in self.false_alarms if a.day in days),
                "trials": len(trials),
                "median_time_to_alert_min": _rounded(delays, 0.5),
            }
        return out


def _local_day(at: datetime, tz: tzinfo | None) -> date:
    return at.astimezone(tz).date() if tz is not None else at.date()


def _rounded(values: list[float], q: float) -> float | None:
    return round(float(np.quantile(values, q)), 1) if values else None


def _day_bounds(day: date, tz_name: str) -> tuple[float, float]:
    tz = zone(tz_name)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def learned_from(day: date, days: list[date], protocol: str) -> list[date]:
    """The days whose history judges ``day``: the others, or (``past-days``) those before it —
    at most ``LEARN_DAYS`` of them, the nearest, as the deployed monitor keeps five weeks (and a
    year-long recording stays a matter of minutes)."""
    if protocol == PAST_ONLY:
        candidates = [d for d in days if d < day]
    elif protocol == LEAVE_ONE_OUT:
        candidates = [d for d in days if d != day]
    else:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    nearest = sorted(candidates, key=lambda d: (abs((d - day).days), d))[:LEARN_DAYS]
    return sorted(nearest)


def fit_held_out(
    recording: Recording,
    timeline: Timeline,
    days: list[date],
    params: Mapping[str, Any] | None = None,
    protocol: str = LEAVE_ONE_OUT,
) -> dict[date, RoutineBaseline]:
    """A baseline per day, each fitted on the days ``learned_from`` (``params``: hyper-parameters)."""
    return {
        day: RoutineBaseline(recording.tz, **dict(params or {})).fit(
            timeline, days=learned_from(day, days, protocol)
        )
        for day in days
    }


def replay_day(
    baseline: RoutineBaseline,
    detector: RoutineDetector,
    timeline: Timeline,
    day: date,
    step_min: float = REPLAY_STEP_MIN,
) -> list[FalseAlarm]:
    """Finding episodes first seen while replaying ``day`` (ones already open at midnight excluded)."""
    start, end = _day_bounds(day, baseline.tz)
    seen: set[tuple[str, datetime]] = set()
    found: list[FalseAlarm] = []
    now = start
    first = True
    while now < end:
        at = datetime.fromtimestamp(now, UTC)
        for finding in detector.check(baseline, timeline, at):
            key = (finding.kind, finding.since)
            if key in seen:
                continue
            seen.add(key)
            if not (first and finding.since.timestamp() < start):
                found.append(FalseAlarm(day, finding.kind, finding.since, at))
        first = False
        now += step_min * 60.0
    return found


def _at_home(recording: Recording, baseline: RoutineBaseline, timeline: Timeline, t: float) -> bool:
    if recording.away:
        when = datetime.fromtimestamp(t, UTC)
        return not any(a.start <= when <= a.end for a in recording.away)
    return classify(timeline, baseline.window_, t).status is not Status.AWAY


def run_trials(
    recording: Recording,
    timeline: Timeline,
    baselines: dict[date, RoutineBaseline],
    trials: int,
    seed: int,
    cap_h: float = TRIAL_CAP_H,
    step_min: float = TRIAL_STEP_MIN,
    yardsticks: Mapping[date, RoutineBaseline] | None = None,
) -> list[Trial]:
    """Inject ``trials`` incapacitations (seeded) and time the first inactivity-type finding.

    ``yardsticks`` (by held-out day) give the normal gap where ``baselines`` are defaults."""
    rng = random.Random(seed)
    days = sorted(baselines)
    times = [e.time.timestamp() for e in recording.events]
    detector = RoutineDetector(meals=False)
    results: list[Trial] = []
    for _ in range(trials):
        for _draw in range(MAX_DRAWS):
            day = rng.choice(days)
            start, end = _day_bounds(day, recording.tz)
            cut = rng.uniform(start, end)
            if _at_home(recording, baselines[day], timeline, cut):
                break
        else:
            log.warning("routine_eval_no_home_moment draws=%d", MAX_DRAWS)
            break
        baseline = baselines[day]
        cut_stream = Timeline(recording.events[: bisect.bisect_right(times, cut)])
        situation = classify(cut_stream, baseline.window_, cut)
        hour = local_hour(cut, baseline.window_.tz)
        # the yardstick is the data's, not the detector's: from the other days even when the
        # detector has too few of them for a baseline and runs on defaults
        ref = (yardsticks or {}).get(day, baseline)
        seen = classify(cut_stream, ref.window_, cut) if ref is not baseline else situation
        status = Status.ASLEEP if seen.status is Status.NOT_UP else seen.status
        table = ref.usual_longest_s_.get((status.value, seen.resting), (0.0,) * 24)
        delay: timedelta | None = None
        kind: str | None = None
        for k in range(1, int(cap_h * 60.0 / step_min) + 1):
            now = cut + k * step_min * 60.0
            hits = [
                f
                for f in detector.check(baseline, cut_stream, datetime.fromtimestamp(now, UTC))
                if f.kind in INACTIVITY_KINDS
            ]
            if hits:
                delay, kind = timedelta(seconds=now - cut), hits[0].kind
                break
        results.append(
            Trial(
                datetime.fromtimestamp(cut, UTC),
                hour,
                situation.status.value,
                situation.resting,
                timedelta(seconds=table[int(hour) % 24]),
                delay,
                kind,
            )
        )
    return results


def evaluate(
    recording: Recording,
    trials: int = 200,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    protocol: str = LEAVE_ONE_OUT,
) -> EvalReport:
    """The full protocol on one recording (one resident)."""
    timeline = Timeline(recording.events)
    # baselines learn from the home's sensors; the wearable's steps count only when checking
    learn = Timeline(e for e in recording.events if e.kind != STEPS) if timeline.steps else timeline
    days = complete_days(learn, zone(recording.tz))
    baselines = fit_held_out(recording, learn, days, params, protocol)
    detector = RoutineDetector()
    alarms = [
        alarm for day in days for alarm in replay_day(baselines[day], detector, timeline, day)
    ]
    notes = []
    if any(not b.baseline_ready_ for b in baselines.values()):
        notes.append("some days were judged on defaults (their baseline had under 7 days)")
    lenient = {**(params or {}), "min_days": 1}
    yardsticks = {
        day: RoutineBaseline(recording.tz, **lenient).fit(learn, days=[d for d in days if d != day])
        for day, held_out in baselines.items()
        if not held_out.baseline_ready_
    }
    results = (
        run_trials(recording, timeline, baselines, trials, seed, yardsticks=yardsticks)
        if days
        else []
    )
    history = {day: baseline.days_ for day, baseline in baselines.items()}
    return EvalReport(
        recording.source,
        tuple(days),
        tuple(alarms),
        tuple(results),
        tuple(notes),
        protocol,
        history,
        recording.tz,
    )
