"""A person's normal day, learned from their own history (scikit-learn estimator conventions).

Fitted in two stages: first each night's main sleep (bed-mat occupancy, or without a bed mat the
long quiet spans of the night) gives the sleep window and get-up times; then every silence
between two signs of activity is labelled with the same rule the detectors use at run time
(``classify``), and the longest awake-at-home silence beginning in each hour (per posture) becomes
the normal gap for silences beginning then.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from alerts.routine.events import BATHROOM, STEPS, SensorEvent
from alerts.routine.loaders import zone
from alerts.routine.situation import (
    SLEEP_PIECE_MIN_S,
    SLEEP_WAKE_MAX_S,
    SleepWindow,
    Status,
    classify,
    stay_start,
)
from alerts.routine.timeline import Timeline, count_between, local_hour, night_hour, to_night_hour

log = logging.getLogger(__name__)

HOURS = 24
LEARN_DAYS = 35  # a baseline learns from at most the last five weeks (the monitor keeps as much)
NIGHT_MIN_S = 3 * 3600.0  # a main night is at least this long
NIGHT_MID_RANGE = (to_night_hour(21.0), to_night_hour(12.0))  # a night's middle falls 21:00–12:00
POOL_WIDTHS = (1, 3, 12)  # ± hours pooled when an hour has too few samples, widest last
MIN_POOL = 20  # day-hours seen before an hour's own maximum is trusted (else pool wider)
EPISODE_MAX_S = 24 * 3600.0  # longer silences count as this long
LONGEST_STEP_S = 600.0  # resolution of the hours a silence overlaps
MIN_NIGHTS = 5
MIN_VISITS = 10
MEAL_HOUR_SHARE = 0.5  # an hour belongs to a meal window when half the days cook then
MEAL_MAX_WIDTH_H = 4
MEAL_SLACK_H = 1.0  # kitchen activity up to an hour either side still counts as the meal
MEAL_MIN_HOME_SHARE = 0.5  # a day counts for a window only if home and awake half of it

# Conservative defaults used before a personal baseline exists (and as floors/ceilings).
DEFAULT_BEDTIME_EARLY = 21.0
DEFAULT_GETUP_LATE = 9.0
DEFAULT_GETUP_ALERT = 11.0
DEFAULT_GAP_ACTIVE_S = 4 * 3600.0  # as the fixed daytime rule in alerts.inactivity
DEFAULT_GAP_RESTING_S = 6 * 3600.0
DEFAULT_BATHROOM_S = 2 * 3600.0
GAP_FLOOR_S = 3600.0  # sitting quietly for an hour is ordinary for anyone
GAP_CEILING_ACTIVE_S = 6 * 3600.0  # never wait longer than this while up and about
GAP_CEILING_RESTING_S = 10 * 3600.0  # nor this while seated or napping
BATHROOM_FLOOR_S = 1800.0
BATHROOM_CEILING_S = 3 * 3600.0  # never wait longer than this in the bathroom
GETUP_ALERT_LATEST = 14.5  # even late risers are up by 14:30
NIGHT_EXIT_DEFAULT = (22.0, 6.0)


# How closely a resident is watched, as the station chooses it (residents.watch): the margins over
# the person's own longest silence, bathroom stay and late get-up. "standard" is what every figure
# in docs/detection.md is measured with unless it says otherwise; the table "How closely to
# watch" there gives the false alarms and times to alert of each level on both recordings.
STANDARD = "standard"


@dataclass(frozen=True, slots=True)
class Watch:
    """The margins of one watch level (``RoutineBaseline`` parameters of the same names)."""

    gap_margin: float
    bathroom_margin: float
    getup_margin_h: float


WATCH_LEVELS: dict[str, Watch] = {
    "close": Watch(gap_margin=1.25, bathroom_margin=1.25, getup_margin_h=0.5),
    STANDARD: Watch(gap_margin=1.5, bathroom_margin=1.5, getup_margin_h=1.0),
    "relaxed": Watch(gap_margin=2.0, bathroom_margin=2.0, getup_margin_h=1.5),
}

USUAL_GETUP = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
USUAL_GETUP_RANGE = (4.0, 12.0)  # a usual get-up time told must lie in this (hours)


def hour_of(clock: str) -> float:
    """``"06:30"`` as 6.5; ValueError unless HH:MM between 04:00 and 12:00."""
    match = USUAL_GETUP.match(clock.strip())
    hour = int(match[1]) + int(match[2]) / 60.0 if match else math.nan
    if not USUAL_GETUP_RANGE[0] <= hour <= USUAL_GETUP_RANGE[1]:
        raise ValueError(f"a usual get-up time is HH:MM between 04:00 and 12:00, not {clock!r}")
    return hour


def watch_of(level: str) -> Watch:
    """The margins of a watch level; ValueError for an unknown one."""
    if level not in WATCH_LEVELS:
        raise ValueError(f"a watch level is one of {', '.join(WATCH_LEVELS)}, not {level!r}")
    return WATCH_LEVELS[level]


@dataclass(frozen=True, slots=True)
class DefaultLimits:
    """What applies before a personal baseline (clock hours local, limits in seconds)."""

    active_s: float  # silence allowed while up and about
    resting_s: float  # while seated or lying outside the night
    bathroom_s: float  # bathroom stay (where a motion sensor sees the bathroom)
    getup_hour: float  # the usual get-up time assumed: told by staff, or 09:00
    not_up_hour: float  # still in the night's sleep after this is the finding


def default_limits(watch: Watch, usual_getup: str = "") -> DefaultLimits:
    """The conservative defaults at a watch level: they are a standard watch's, and another
    level's margins move them alike (not up 2 h after the usual get-up time, as the default
    11:00 is to 09:00, ± the level's get-up margin). ValueError for a bad ``usual_getup``."""
    standard = WATCH_LEVELS[STANDARD]
    getup = hour_of(usual_getup) if usual_getup else DEFAULT_GETUP_LATE
    late_h = (
        DEFAULT_GETUP_ALERT - DEFAULT_GETUP_LATE + watch.getup_margin_h - standard.getup_margin_h
    )
    scale = watch.gap_margin / standard.gap_margin
    return DefaultLimits(
        active_s=min(DEFAULT_GAP_ACTIVE_S * scale, GAP_CEILING_ACTIVE_S),
        resting_s=min(DEFAULT_GAP_RESTING_S * scale, GAP_CEILING_RESTING_S),
        bathroom_s=min(
            DEFAULT_BATHROOM_S * watch.bathroom_margin / standard.bathroom_margin,
            BATHROOM_CEILING_S,
        ),
        getup_hour=getup,
        not_up_hour=min(getup + late_h, GETUP_ALERT_LATEST),
    )


def _quantile(values: Sequence[float], q: float) -> float:
    return float(np.quantile(np.asarray(values, dtype=float), q))


def _clamp(value: float, lo: float, hi: float) -> float:
    return min(max(value, lo), hi)


def _midnight(day: date, tz: ZoneInfo) -> float:
    return datetime.combine(day, time(0), tzinfo=tz).timestamp()


@dataclass(frozen=True, slots=True)
class Episode:
    """One silence: from a sign of activity to the next, with the situation it started in."""

    start: float
    duration: float
    status: Status  # AWAKE, ASLEEP (not up counts as asleep) or AWAY, at the start
    resting: bool  # a seat or bed occupied
    day: date  # local date of the start
    hour: float  # local clock hour of the start


@dataclass(frozen=True, slots=True)
class Sample:
    """One observed silence length and the local day it belongs to."""

    day: date
    hour: int
    seconds: float


def _longest_by_hour(
    episodes: Iterable[Episode], tz: ZoneInfo
) -> dict[tuple[str, bool], tuple[float, ...]]:
    """Per (status, resting) and clock hour: the longest silence in progress during that hour."""
    longest: dict[tuple[str, bool], list[float]] = {}
    for ep in episodes:
        row = longest.setdefault((ep.status.value, ep.resting), [0.0] * HOURS)
        t = ep.start
        while t < ep.start + ep.duration:
            hour = int(local_hour(t, tz)) % HOURS
            row[hour] = max(row[hour], ep.duration)
            t += LONGEST_STEP_S
    return {key: tuple(row) for key, row in longest.items()}


def _merge(pieces: list[tuple[float, float]]) -> list[tuple[float, float, int]]:
    """Join quiet pieces separated by short wakes: (start, end, wakes)."""
    merged: list[tuple[float, float, int]] = []
    for start, end in sorted(pieces):
        if merged and start - merged[-1][1] <= SLEEP_WAKE_MAX_S:
            first, _, wakes = merged[-1]
            merged[-1] = (first, max(end, merged[-1][1]), wakes + 1)
        else:
            merged.append((start, end, 0))
    return merged


class RoutineBaseline:
    """One person's normal day; ``fit(history)`` learns it, defaults apply until ``min_days``."""

    def __init__(
        self,
        tz: str = "UTC",
        *,
        min_days: int = 7,
        gap_quantile: float = 1.0,
        gap_margin: float = 1.5,
        getup_quantile: float = 0.9,
        getup_margin_h: float = 1.0,
        bathroom_quantile: float = 1.0,
        bathroom_margin: float = 1.5,
        meal_regularity: float = 0.95,
        meal_min_days: int = 28,
        sample_step_min: float = 5.0,
        limit_by: str = "start",
        usual_getup: str = "",
    ) -> None:
        self.tz = tz
        self.min_days = min_days
        self.gap_quantile = gap_quantile
        self.gap_margin = gap_margin
        self.getup_quantile = getup_quantile
        self.getup_margin_h = getup_margin_h
        self.bathroom_quantile = bathroom_quantile
        self.bathroom_margin = bathroom_margin
        self.meal_regularity = meal_regularity
        self.meal_min_days = meal_min_days
        self.sample_step_min = sample_step_min
        self.limit_by = limit_by
        self.usual_getup = usual_getup  # "HH:MM" told by staff or family, "" when not known

    # ----------------------------------------------------------------------------- fitting
    def fit(
        self, history: Iterable[SensorEvent] | Timeline, days: Iterable[date] | None = None
    ) -> RoutineBaseline:
        """Learn from ``history``; only the complete local ``days`` given (default all) count.

        The wearable's steps are left out: limits learned where the person wore it would be too
        short on the days they do not; the detectors count steps as signs of activity, so a
        step can only ever shorten the silence they judge."""
        tz = zone(self.tz)
        timeline = (
            history
            if isinstance(history, Timeline)
            else Timeline(e for e in history if e.kind != STEPS)
        )
        if timeline.steps:
            raise ValueError("a baseline learns without the wearable's steps: give a Timeline of "
                             "the home's sensors only")  # fmt: skip
        complete = complete_days(timeline, tz)
        chosen = sorted(set(complete) if days is None else set(days) & set(complete))
        excluded = set(complete) - set(chosen)
        self.days_ = len(chosen)
        self.baseline_ready_ = self.days_ >= max(self.min_days, 1)
        self.has_bed_sensor_ = timeline.bed_events > 0
        self.bathroom_observable_ = BATHROOM in timeline.motion_rooms
        self._defaults(tz)
        if not self.baseline_ready_:
            if chosen:
                self._learning_getup(timeline, tz, complete, excluded)
            log.info("routine_baseline_defaults days=%d min_days=%d", self.days_, self.min_days)
            return self
        self._fit_nights(timeline, tz, complete, excluded)
        self._fit_gaps(timeline, tz, chosen)
        self._fit_bathroom(timeline, tz, set(chosen))
        log.info(
            "routine_baseline_fitted days=%d nights=%d visits=%d meals=%d bed_sensor=%s",
            self.days_,
            len(self.getup_hours_),
            len(self.bathroom_stays_s_),
            len(self.meal_windows_),
            self.has_bed_sensor_,
        )
        return self

    def _defaults(self, tz: ZoneInfo) -> None:
        limits = default_limits(
            Watch(self.gap_margin, self.bathroom_margin, self.getup_margin_h), self.usual_getup
        )
        getup, alert = limits.getup_hour, limits.not_up_hour
        self.window_ = SleepWindow(
            tz,
            to_night_hour(DEFAULT_BEDTIME_EARLY),
            to_night_hour(getup),
            to_night_hour(alert),
            self.has_bed_sensor_,
            self.bathroom_observable_,
        )
        self.bathroom_at_night_ = self.bathroom_observable_
        self.getup_hours_: tuple[float, ...] = ()
        self.bedtime_hours_: tuple[float, ...] = ()
        self.night_wakes_: tuple[int, ...] = ()
        self.usual_getup_hour_ = getup
        self.night_exit_window_ = (
            to_night_hour(NIGHT_EXIT_DEFAULT[0]),
            to_night_hour(NIGHT_EXIT_DEFAULT[1]),
        )
        active, resting = limits.active_s, limits.resting_s
        self.normal_gap_active_s_ = (active / self.gap_margin,) * HOURS
        self.normal_gap_resting_s_ = (resting / self.gap_margin,) * HOURS
        self.threshold_active_s_ = (active,) * HOURS
        self.threshold_resting_s_ = (resting,) * HOURS
        self.usual_longest_s_: dict[tuple[str, bool], tuple[float, ...]] = {}
        self.bathroom_stays_s_: tuple[float, ...] = ()
        self.bathroom_threshold_s_: float | None = (
            limits.bathroom_s if self.bathroom_observable_ else None
        )
        self.meal_windows_: tuple[tuple[float, float], ...] = ()
        self.away_periods_ = 0

    def _learning_getup(
        self, timeline: Timeline, tz: ZoneInfo, complete: list[date], excluded: set[date]
    ) -> None:
        """Before a baseline: the nights seen so far may only make the not-up limit later.

        A late riser (in bed until 12:30) would otherwise be "not up" at the default 11:00 every
        morning of the first week — the week in which a station decides whether to trust this.
        Nothing else moves: an earlier limit, or a longer sleep window in the evening, would
        hold back alerts on the strength of a few days.
        """
        getups, _, _, _ = self._observe_nights(timeline, tz, complete, excluded)
        self.getup_hours_ = tuple((g + 15.0) % 24.0 for g in getups)
        if not getups:
            return
        latest = max(getups)
        default = self.window_
        self.window_ = replace(
            default,
            getup_hi=max(default.getup_hi, latest),
            getup_alert=max(
                default.getup_alert,
                min(latest + self.getup_margin_h, to_night_hour(GETUP_ALERT_LATEST)),
            ),
        )

    def _fit_nights(
        self, timeline: Timeline, tz: ZoneInfo, complete: list[date], excluded: set[date]
    ) -> None:
        getups, bedtimes, wakes, spans = self._observe_nights(timeline, tz, complete, excluded)
        self.getup_hours_ = tuple((g + 15.0) % 24.0 for g in getups)
        self.bedtime_hours_ = tuple((b + 15.0) % 24.0 for b in bedtimes)
        self.night_wakes_ = tuple(wakes)
        if len(getups) < MIN_NIGHTS:
            return
        getup_hi = _quantile(getups, self.getup_quantile)
        alert = min(getup_hi + self.getup_margin_h, to_night_hour(GETUP_ALERT_LATEST))
        bed_lo = _quantile(bedtimes, 1.0 - self.getup_quantile)
        self.bathroom_at_night_ = self._bathroom_at_night(timeline, spans, complete, excluded)
        getup_lo = _quantile(getups, 1.0 - self.getup_quantile)
        self.window_ = SleepWindow(
            tz, bed_lo, getup_hi, alert, self.has_bed_sensor_, self.bathroom_at_night_, getup_lo
        )
        self.usual_getup_hour_ = (_quantile(getups, 0.5) + 15.0) % 24.0
        self.night_exit_window_ = (bed_lo, _quantile(getups, 0.5))

    def _bathroom_at_night(
        self,
        timeline: Timeline,
        spans: list[tuple[float, float]],
        complete: list[date],
        excluded: set[date],
    ) -> bool:
        """Whether quiet that begins in the bathroom at night is kept from counting as sleep.

        Without a bed mat it is (a fall there must not wait for the morning) — unless this
        person's own nights show that it would cry wolf: nights that began last seen in the
        bathroom and outlasted the longest allowed awake silence, once a month or more, mean the
        bedroom is out of the sensors' sight and every such night would be an alarm.
        """
        if self.has_bed_sensor_ or not self.bathroom_observable_:
            return self.bathroom_observable_
        wolf = 0
        for start, end in spans:
            i = timeline.last_index(start)
            wolf += i >= 0 and timeline.room[i] == BATHROOM and end - start > GAP_CEILING_ACTIVE_S
        days = len(set(complete) - excluded)
        if wolf * 30.0 / max(days, 1) < 1.0:
            return True
        log.warning("routine_bathroom_night_watch_off nights=%d days=%d", wolf, days)
        return False

    def _observe_nights(
        self, timeline: Timeline, tz: ZoneInfo, complete: list[date], excluded: set[date]
    ) -> tuple[list[float], list[float], list[int], list[tuple[float, float]]]:
        """(get-up, bedtime in night hours, wakes, span) of each main sleep the recording shows."""
        pieces = _sleep_pieces(timeline, self.has_bed_sensor_)
        first, last = timeline.t[0], timeline.t[-1]
        getups: list[float] = []
        bedtimes: list[float] = []
        wakes: list[int] = []
        spans: list[tuple[float, float]] = []
        for morning in [
            complete[0] - timedelta(days=1),
            *complete,
            complete[-1] + timedelta(days=1),
        ]:
            if morning in excluded or morning - timedelta(days=1) in excluded:
                continue
            lo = _midnight(morning, tz) - (24.0 - 15.0) * 3600.0
            hi = lo + 24 * 3600.0
            if lo < first or hi > last:
                continue
            # a quiet span that runs across 15:00 cannot be timed as a night (its start or end
            # would read as 15:00, the earliest bedtime and get-up there are): it is left out
            touching = [(s, e) for s, e in pieces if e > lo and s < hi]
            nights = [
                (s, e, w)
                for s, e, w in _merge(touching)
                if lo <= s
                and e <= hi
                and e - s >= NIGHT_MIN_S
                and NIGHT_MID_RANGE[0] <= night_hour((s + e) / 2, tz) <= NIGHT_MID_RANGE[1]
            ]
            if not nights:
                continue
            start, end, woke = max(nights, key=lambda n: n[1] - n[0])
            bedtimes.append(night_hour(start, tz))
            getups.append(night_hour(end, tz))
            wakes.append(woke)
            spans.append((start, end))
        return getups, bedtimes, wakes, spans

    def _fit_gaps(self, timeline: Timeline, tz: ZoneInfo, chosen: list[date]) -> None:
        if self.limit_by not in ("clock", "start"):
            raise ValueError(f"limit_by must be 'clock' or 'start', not {self.limit_by!r}")
        episodes = self._episodes(timeline, tz, chosen)
        awake = [e for e in episodes if e.status is Status.AWAKE]
        step = self.sample_step_min * 60.0
        reached: dict[tuple[bool, int], list[Sample]] = {}
        kitchen_hours = np.zeros((len(chosen), HOURS), dtype=bool)
        home_share = np.zeros((len(chosen), HOURS), dtype=float)
        per_hour = round(3600.0 / step)
        for d, day in enumerate(chosen):
            start = _midnight(day, tz)
            end = _midnight(day + timedelta(days=1), tz)
            day_max: dict[tuple[bool, int], float] = {}
            s = start
            while s < end:
                hour = int(local_hour(s, tz))
                situation = classify(timeline, self.window_, s)
                if situation.status is Status.AWAKE:
                    key = (situation.resting, hour)
                    day_max[key] = max(day_max.get(key, 0.0), situation.silence_s)
                    home_share[d, hour] += 1.0 / per_hour
                s += step
            for (resting, hour), value in day_max.items():
                reached.setdefault((resting, hour), []).append(Sample(day, hour, value))
            for hour in range(HOURS):
                lo = start + hour * 3600.0
                kitchen_hours[d, hour] = count_between(timeline.kitchen, lo, lo + 3600.0) > 0
        by_start: dict[tuple[bool, int], list[Sample]] = {}
        for ep in awake:
            hour = int(ep.hour) % HOURS
            by_start.setdefault((ep.resting, hour), []).append(Sample(ep.day, hour, ep.duration))
        samples = reached if self.limit_by == "clock" else by_start
        self.normal_gap_active_s_, self.threshold_active_s_ = self._gap_table(
            samples, False, DEFAULT_GAP_ACTIVE_S, GAP_CEILING_ACTIVE_S
        )
        self.normal_gap_resting_s_, self.threshold_resting_s_ = self._gap_table(
            samples, True, DEFAULT_GAP_RESTING_S, GAP_CEILING_RESTING_S
        )
        self.usual_longest_s_ = _longest_by_hour(episodes, tz)
        self.meal_windows_ = self._meal_windows(timeline, tz, chosen, kitchen_hours, home_share)
        first, last = _midnight(chosen[0], tz), _midnight(chosen[-1] + timedelta(days=1), tz)
        self.away_periods_ = count_between(timeline.departures, first, last)

    def _episodes(self, timeline: Timeline, tz: ZoneInfo, chosen: list[date]) -> list[Episode]:
        """Every silence between two signs of activity that starts on a chosen day."""
        days = set(chosen)
        out: list[Episode] = []
        for i in range(len(timeline.t) - 1):
            start, end = timeline.t[i], timeline.t[i + 1]
            if end <= start or datetime.fromtimestamp(start, tz).date() not in days:
                continue
            situation = classify(timeline, self.window_, start)
            status = Status.ASLEEP if situation.status is Status.NOT_UP else situation.status
            out.append(
                Episode(
                    start,
                    min(end - start, EPISODE_MAX_S),
                    status,
                    timeline.resting[i],
                    datetime.fromtimestamp(start, tz).date(),
                    local_hour(start, tz),
                )
            )
        return out

    def _gap_table(
        self,
        samples: dict[tuple[bool, int], list[Sample]],
        resting: bool,
        default: float,
        ceiling: float,
    ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per hour: the longest usual silence (pooled over neighbouring hours until seen on
        enough days) and the limit derived from it."""
        normal: list[float] = []
        threshold: list[float] = []
        for hour in range(HOURS):
            pooled: list[Sample] = []
            for width in POOL_WIDTHS:
                pooled = [
                    x
                    for h in range(hour - width, hour + width + 1)
                    for x in samples.get((resting, h % HOURS), [])
                ]
                if len({(x.day, x.hour) for x in pooled}) >= MIN_POOL:
                    break
            if len({(x.day, x.hour) for x in pooled}) < MIN_POOL:
                normal.append(default / self.gap_margin)
                threshold.append(default)
                continue
            gap = _quantile([x.seconds for x in pooled], self.gap_quantile)
            normal.append(gap)
            threshold.append(_clamp(gap * self.gap_margin, GAP_FLOOR_S, ceiling))
        return tuple(normal), tuple(threshold)

    def _meal_windows(
        self,
        timeline: Timeline,
        tz: ZoneInfo,
        chosen: list[date],
        kitchen_hours: np.ndarray,
        home_share: np.ndarray,
    ) -> tuple[tuple[float, float], ...]:
        share = kitchen_hours.mean(axis=0)
        windows: list[tuple[float, float]] = []
        hour = 0
        while hour < HOURS:
            if share[hour] < MEAL_HOUR_SHARE:
                hour += 1
                continue
            end = hour
            while end < HOURS and share[end] >= MEAL_HOUR_SHARE:
                end += 1
            if end - hour <= MEAL_MAX_WIDTH_H:
                hits = eligible = 0
                for d, day in enumerate(chosen):
                    if home_share[d, hour:end].mean() < MEAL_MIN_HOME_SHARE:
                        continue
                    eligible += 1
                    lo = _midnight(day, tz) + (hour - MEAL_SLACK_H) * 3600.0
                    hi = _midnight(day, tz) + (end + MEAL_SLACK_H) * 3600.0
                    hits += count_between(timeline.kitchen, lo, hi) > 0
                if eligible >= self.meal_min_days and hits >= self.meal_regularity * eligible:
                    windows.append((float(hour), float(end)))
            hour = end
        return tuple(windows)

    def _fit_bathroom(self, timeline: Timeline, tz: ZoneInfo, chosen: set[date]) -> None:
        stays: list[float] = []
        start = math.nan
        for i, room in enumerate(timeline.room):
            if room == BATHROOM:
                start = stay_start(timeline, self.window_, i)  # as the detector will see it
                continue
            if not math.isnan(start):
                day = datetime.fromtimestamp(start, tz).date()
                # only stays the rule judges: awake at home until seen elsewhere (a visit that
                # turned into the night's sleep, or into going out, is not one)
                ended = classify(timeline, self.window_, timeline.t[i] - 1.0).status
                if day in chosen and ended is Status.AWAKE:
                    stays.append(timeline.t[i] - start)
                start = math.nan
        self.bathroom_stays_s_ = tuple(stays)
        if len(stays) < MIN_VISITS or not self.bathroom_observable_:
            return
        over = sum(stay > BATHROOM_CEILING_S for stay in stays)
        if over * 30.0 / max(len(chosen), 1) >= 1.0:
            # "stays" longer than the ceiling on normal days, a month's false alarm or more:
            # leaving the bathroom is not seen in this home (the next room has no sensor), so
            # the rule could only cry wolf; the inactivity rule still covers the bathroom
            self.bathroom_threshold_s_ = None
            log.warning(
                "routine_bathroom_rule_off stays_over_ceiling=%d days=%d ceiling_s=%d",
                over,
                len(chosen),
                BATHROOM_CEILING_S,
            )
            return
        self.bathroom_threshold_s_ = _clamp(
            _quantile(stays, self.bathroom_quantile) * self.bathroom_margin,
            BATHROOM_FLOOR_S,
            BATHROOM_CEILING_S,
        )


def _sleep_pieces(timeline: Timeline, has_bed_sensor: bool) -> list[tuple[float, float]]:
    """Spans that may be sleep: bed occupancy, or (no bed mat) long quiet not on a seat."""
    pieces: list[tuple[float, float]] = []
    if has_bed_sensor:
        start = math.nan
        for i, in_bed in enumerate(timeline.in_bed):
            if in_bed and math.isnan(start):
                start = timeline.bed_since[i]
            elif not in_bed and not math.isnan(start):
                pieces.append((start, timeline.t[i]))
                start = math.nan
        return [(s, e) for s, e in pieces if e - s >= SLEEP_PIECE_MIN_S]
    for i in range(len(timeline.t) - 1):
        gap = timeline.t[i + 1] - timeline.t[i]
        if gap >= SLEEP_PIECE_MIN_S and not timeline.resting[i] and not timeline.away[i]:
            pieces.append((timeline.t[i], timeline.t[i + 1]))
    return pieces


def complete_days(timeline: Timeline, tz: ZoneInfo) -> list[date]:
    """Local dates wholly inside the recording (first to last activity)."""
    if len(timeline) == 0:
        return []
    first, last = timeline.t[0], timeline.t[-1]
    day = datetime.fromtimestamp(first, tz).date()
    end_day = datetime.fromtimestamp(last, tz).date()
    days: list[date] = []
    while day <= end_day:
        if _midnight(day, tz) >= first and _midnight(day + timedelta(days=1), tz) <= last:
            days.append(day)
        day += timedelta(days=1)
    return days
