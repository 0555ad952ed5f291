"""Where the person is in their day at ``now``: away, asleep, not up yet, or awake at home.

The same rule labels the history when a baseline is fitted and the present when detectors run,
so thresholds are learned on exactly the moments they are applied to.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from alerts.routine.events import BATHROOM
from alerts.routine.timeline import Timeline, night_hour

SLEEP_PIECE_MIN_S = 3600.0  # a quiet span shorter than this is not part of a night's sleep
SLEEP_WAKE_MAX_S = 1800.0  # up for less than this in the night (toilet) does not end the night
BEDTIME_SLACK_H = 1.0  # going quiet up to an hour before the earliest usual bedtime is sleep too
NIGHT_MAX_S = 20 * 3600.0  # one night's sleep never explains a longer silence


class Status(StrEnum):
    """The person's situation at a moment."""

    NO_DATA = "no_data"
    AWAY = "away"
    ASLEEP = "asleep"
    NOT_UP = "not_up"  # still in the night's sleep after the latest usual get-up time + margin
    AWAKE = "awake"  # at home and awake: inactivity rules apply


@dataclass(frozen=True, slots=True)
class SleepWindow:
    """The person's night in night hours (hours since 15:00 local) and how to tell it."""

    tz: ZoneInfo
    bed_lo: float  # early usual bedtime
    getup_hi: float  # late usual get-up time
    getup_alert: float  # not up by this → finding
    has_bed_sensor: bool
    # quiet that begins last seen in the bathroom is not sleep (a bathroom with a motion sensor,
    # no bed mat, and not switched off by the person's own nights: baseline._bathroom_at_night)
    bathroom_at_night: bool
    getup_lo: float = 15.0  # early usual get-up time (default 06:00)

    def contains(self, night: float) -> bool:
        """True when a night hour lies between the early bedtime (with slack) and late get-up."""
        return self.bed_lo - BEDTIME_SLACK_H <= night <= self.getup_hi


@dataclass(frozen=True, slots=True)
class Situation:
    """The classification of one moment (times are epoch seconds, UTC)."""

    status: Status
    index: int  # last activity event at or before the moment, -1 if none
    silence_s: float
    resting: bool  # a seat or bed is occupied
    bathroom_since: float  # start of the current bathroom stay, NaN if not in the bathroom


def up_for_the_day(timeline: Timeline, window: SleepWindow, i: int) -> bool:
    """Without a bed mat: the night is over before the quiet that began at event ``i`` — a long
    quiet that began inside the sleep window ended after the early usual get-up time, and the
    person was then up for longer than a night-time wake (as nights are learned: shorter wakes
    join the night, longer ones end it)."""
    start, end = timeline.long_quiet[i]
    if math.isnan(end):
        return False
    since = timeline.t[i]
    n_start, n_end, n_since = (night_hour(x, window.tz) for x in (start, end, since))
    return (
        since - end >= SLEEP_WAKE_MAX_S
        and since - start < NIGHT_MAX_S
        and n_start <= n_end <= n_since
        and window.contains(n_start)
        and n_end >= window.getup_lo
    )


def _night_sleep(window: SleepWindow, since: float, now: float) -> bool:
    n_since, n_now = night_hour(since, window.tz), night_hour(now, window.tz)
    return now - since < NIGHT_MAX_S and n_now >= n_since and window.contains(n_since)


def stay_start(timeline: Timeline, window: SleepWindow, i: int) -> float:
    """Start of the bathroom stay that event ``i`` belongs to (NaN when not in the bathroom).

    Where the night may begin in the bathroom (``bathroom_at_night`` off: the bedroom is out of
    the sensors' sight), a night's quiet inside the stay — an hour or more beginning inside the
    sleep window — ends it: the toilet before bed and the one after getting up are two visits,
    not a nine-hour stay.
    """
    since = timeline.bath_since[i]
    if window.bathroom_at_night or window.has_bed_sensor or math.isnan(since):
        return since
    start = since
    # a stay already 20 h long alarms whatever happened before, so that far back is enough (and
    # a home whose every sensor is in the bathroom does not cost a scan of its whole history)
    first = bisect.bisect_left(timeline.t, max(since, timeline.t[i] - NIGHT_MAX_S))
    for k in range(first, i):
        quiet_from = timeline.t[k]
        if timeline.t[k + 1] - quiet_from >= SLEEP_PIECE_MIN_S and window.contains(
            night_hour(quiet_from, window.tz)
        ):
            start = timeline.t[k + 1]
    return start


def classify(timeline: Timeline, window: SleepWindow, now: float) -> Situation:
    """The situation at ``now`` (epoch seconds) from the activity seen up to then."""
    i = timeline.last_index(now)
    if i < 0:
        return Situation(Status.NO_DATA, -1, math.nan, False, math.nan)
    silence = now - timeline.t[i]
    resting = timeline.resting[i]
    bath = stay_start(timeline, window, i)
    if timeline.away[i]:
        return Situation(Status.AWAY, i, silence, resting, math.nan)
    if window.has_bed_sensor:
        asleep = timeline.in_bed[i] and _night_sleep(window, timeline.bed_since[i], now)
    else:
        # as when nights are learned (baseline._sleep_pieces): quiet on a seat is not the night
        in_bathroom = window.bathroom_at_night and timeline.room[i] == BATHROOM
        asleep = (
            not in_bathroom
            and not resting
            and _night_sleep(window, timeline.t[i], now)
            and not up_for_the_day(timeline, window, i)
        )
    if asleep:
        late = night_hour(now, window.tz) > window.getup_alert
        return Situation(Status.NOT_UP if late else Status.ASLEEP, i, silence, resting, bath)
    return Situation(Status.AWAKE, i, silence, resting, bath)
