"""The wearable's signals: heart rate and steps by activity, and the raw 3-axis accelerometer (g)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.simulator.routine import Activity

# Heart rate above the resting rate while doing each activity (bpm); a fall frightens.
HR_OFFSET: dict[Activity, float] = {
    Activity.SLEEP: -8.0,
    Activity.LIE_IN: -5.0,
    Activity.TV: -2.0,
    Activity.EAT: 0.0,
    Activity.IDLE: 5.0,
    Activity.TOILET: 5.0,
    Activity.WASH: 8.0,
    Activity.COOK: 10.0,
    Activity.VISIT: 6.0,
    Activity.FALLEN: 25.0,
    Activity.OUT: 15.0,
}
# Mean steps per minute while doing each activity.
STEPS_PER_MIN: dict[Activity, float] = {
    Activity.SLEEP: 0.0,
    Activity.LIE_IN: 0.0,
    Activity.FALLEN: 0.0,
    Activity.TV: 1.0,
    Activity.EAT: 2.0,
    Activity.IDLE: 12.0,
    Activity.TOILET: 8.0,
    Activity.WASH: 10.0,
    Activity.COOK: 18.0,
    Activity.VISIT: 6.0,
    Activity.OUT: 60.0,
}
BATTERY_DRAIN_PER_H = 0.6  # % per hour: a wearable that lasts about a week
BATTERY_RECHARGE_BELOW = 30.0  # the resident charges it overnight when it gets this low

FREE_FALL_S = 0.4  # the body drops before it hits the floor
IMPACT_S = 0.1
BOUNCE_S = 0.5
WALK_HZ = 1.8  # cadence of an older person's gait
LYING = (1.0, 0.0, 0.0)  # gravity along the wearable's x axis when the wearer lies down
UPRIGHT = (0.0, 0.0, 1.0)
STILL = frozenset({Activity.SLEEP, Activity.LIE_IN, Activity.TV, Activity.EAT})


@dataclass(frozen=True, slots=True)
class Vitals:
    """What the wearable reports once a minute."""

    heart_rate: float
    steps: int


def vitals(activity: Activity, resting_hr: float, rng: random.Random) -> Vitals:
    """Heart rate and steps of one minute spent doing ``activity``."""
    hr = min(max(resting_hr + HR_OFFSET[activity] + rng.gauss(0, 2.0), 40.0), 180.0)
    steps = round(STEPS_PER_MIN[activity] * rng.uniform(0.5, 1.5))
    return Vitals(round(hr), steps)


def battery_after(level: float, hours: float) -> float:
    """Battery level after ``hours`` of wear."""
    return max(level - BATTERY_DRAIN_PER_H * hours, 0.0)


Sample = tuple[float, float, float]


def accel_samples(
    activity: Activity,
    times: list[float],
    segment_start: float,
    impact_g: float,
    rng: random.Random,
) -> list[Sample]:
    """Samples (g) at epoch seconds ``times`` while doing ``activity`` (a segment from ``segment_start``)."""
    rnd = rng.random

    def noise(sigma: float) -> float:
        # sum of three uniforms: close enough to a normal, and much cheaper than gauss()
        return (rnd() + rnd() + rnd() - 1.5) * 2.0 * sigma

    if activity is Activity.FALLEN:
        return [_fall(t - segment_start, impact_g, noise) for t in times]
    if activity in STILL:
        g = LYING if activity in (Activity.SLEEP, Activity.LIE_IN) else UPRIGHT
        return [(g[0] + noise(0.01), g[1] + noise(0.01), g[2] + noise(0.01)) for _ in times]
    amp = 0.1 if activity in (Activity.TOILET, Activity.EAT) else 0.25
    two_pi_f = 2 * math.pi * WALK_HZ
    return [
        (noise(0.06), noise(0.06), 1.0 + amp * math.sin(two_pi_f * t) + noise(0.04)) for t in times
    ]


def _fall(offset: float, impact_g: float, noise: Callable[[float], float]) -> Sample:
    """The accelerometer during a fall: free fall, impact, a bounce, then lying still."""
    if offset < FREE_FALL_S:
        return (0.1 + noise(0.05), 0.1 + noise(0.05), 0.3 + noise(0.05))
    if offset < FREE_FALL_S + IMPACT_S:
        return (0.6 * impact_g, 0.3 * impact_g, 0.74 * impact_g)
    if offset < FREE_FALL_S + IMPACT_S + BOUNCE_S:
        decay = 1.0 - (offset - FREE_FALL_S - IMPACT_S) / BOUNCE_S
        return (1.0 + 0.5 * decay + noise(0.05), noise(0.1), 0.3 * decay + noise(0.05))
    return (LYING[0] + noise(0.01), LYING[1] + noise(0.01), LYING[2] + noise(0.01))


def sample_times(start: datetime, end: datetime, rate_hz: float) -> tuple[datetime, list[float]]:
    """Epoch seconds of the sample grid (k / rate_hz) inside [start, end), and the first one's time."""
    lo = math.ceil(start.timestamp() * rate_hz)
    hi = math.ceil(end.timestamp() * rate_hz)
    first = start + timedelta(seconds=lo / rate_hz - start.timestamp())
    return first, [k / rate_hz for k in range(lo, hi)]
