"""Stage 1: a physically sensible rule that picks candidate falls (impact, posture change, stillness).

Works on acceleration already resampled to one rate. A candidate is a local peak of |a| above an
impact threshold; it passes when the direction of gravity (the mean acceleration vector, i.e. a
low-pass filter) turned by enough between before the impact and after it, and the body was still
enough after it. Thresholds are deliberately lenient: this stage is tuned for recall and only
decides what the classifier (stage 2) looks at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gateway.fall_detection.signals import FloatArray


@dataclass(frozen=True, slots=True)
class RuleParams:
    """Thresholds and window lengths of the rule stage (seconds and g)."""

    impact_g: float = 1.6
    """|a| peak that counts as an impact; SisFall falls at the waist all peak above ~1.75 g at 50 Hz."""
    peak_half_window_s: float = 1.0
    """A peak must be the largest |a| within this many seconds either side (one candidate per impact)."""
    pre_posture_s: tuple[float, float] = (-2.0, -1.0)
    """Window before the peak whose mean vector is the posture (gravity direction) before."""
    post_posture_s: tuple[float, float] = (1.5, 2.5)
    """Window after the peak whose mean vector is the posture after."""
    post_still_s: tuple[float, float] = (1.0, 2.5)
    """Window after the peak in which the body should be still."""
    min_posture_change_deg: float = 30.0
    """Lying after standing or sitting turns gravity by ~60–110°; sitting down hard by little."""
    max_post_std_g: float = 0.5
    """Std of |a| after the impact; walking on is ~0.2–0.4 g at the waist, jogging well above."""

    @property
    def lookahead_s(self) -> float:
        """How many seconds after a peak must be seen before it can be judged."""
        return max(self.post_posture_s[1], self.post_still_s[1], self.peak_half_window_s)

    def lookahead_samples(self, rate_hz: float) -> int:
        """Samples that must follow a peak before it is judged (the streaming delay)."""
        return int(np.ceil(self.lookahead_s * rate_hz)) + 1

    @property
    def lookbehind_s(self) -> float:
        """How many seconds before a peak the rule and the features look at."""
        return max(-self.pre_posture_s[0], self.peak_half_window_s)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A peak that passed stage 1: sample index, |a| at the peak, posture change, post stillness."""

    index: int
    peak_g: float
    posture_change_deg: float
    post_std_g: float


def window_slice(n: int, index: int, window_s: tuple[float, float], rate_hz: float) -> slice:
    """Sample slice of a window relative to ``index``, clipped to the signal, never empty."""
    start = min(max(0, index + round(window_s[0] * rate_hz)), n - 1)
    stop = max(min(n, index + round(window_s[1] * rate_hz)), start + 1)
    return slice(start, stop)


def angle_deg(u: FloatArray, v: FloatArray) -> float:
    """Angle between two vectors in degrees (0 if either is zero)."""
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu == 0.0 or nv == 0.0:
        return 0.0
    return float(np.degrees(np.arccos(np.clip(float(u @ v) / (nu * nv), -1.0, 1.0))))


def posture_change_deg(acc_g: FloatArray, index: int, rate_hz: float, params: RuleParams) -> float:
    """Angle between the gravity direction before and after the peak at ``index``."""
    n = len(acc_g)
    before = acc_g[window_slice(n, index, params.pre_posture_s, rate_hz)].mean(axis=0)
    after = acc_g[window_slice(n, index, params.post_posture_s, rate_hz)].mean(axis=0)
    return angle_deg(before, after)


def post_std_g(mag: FloatArray, index: int, rate_hz: float, params: RuleParams) -> float:
    """Standard deviation of |a| in the stillness window after the peak."""
    return float(mag[window_slice(len(mag), index, params.post_still_s, rate_hz)].std())


def is_peak(mag: FloatArray, index: int, rate_hz: float, params: RuleParams) -> bool:
    """Whether ``index`` is an impact: above threshold and the first maximum of its neighbourhood."""
    if mag[index] < params.impact_g:
        return False
    half = round(params.peak_half_window_s * rate_hz)
    lo, hi = max(0, index - half), min(len(mag), index + half + 1)
    window = mag[lo:hi]
    return bool(lo + int(np.argmax(window)) == index)


def judge(
    acc_g: FloatArray, mag: FloatArray, index: int, rate_hz: float, params: RuleParams
) -> Candidate | None:
    """Stage 1 for one sample: a ``Candidate`` if it is an impact that passes the rule, else None."""
    if not is_peak(mag, index, rate_hz, params):
        return None
    change = posture_change_deg(acc_g, index, rate_hz, params)
    still = post_std_g(mag, index, rate_hz, params)
    if change < params.min_posture_change_deg or still > params.max_post_std_g:
        return None
    return Candidate(
        index=index, peak_g=float(mag[index]), posture_change_deg=change, post_std_g=still
    )


def candidates(
    acc_g: FloatArray, rate_hz: float, params: RuleParams | None = None
) -> list[Candidate]:
    """All stage-1 candidates of a whole (already resampled) recording, as a stream would see them.

    Peaks closer to the end than the look-ahead are not judged, exactly like ``FallDetector``.
    """
    rules = params or RuleParams()
    mag = np.linalg.norm(acc_g, axis=1)
    last = len(mag) - rules.lookahead_samples(rate_hz)
    found = []
    for index in np.flatnonzero(mag[: max(last, 0)] >= rules.impact_g):
        cand = judge(acc_g, mag, int(index), rate_hz, rules)
        if cand is not None:
            found.append(cand)
    return found
