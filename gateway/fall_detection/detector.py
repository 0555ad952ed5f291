"""Streaming fall detector: feed accelerometer chunks, get each suspected fall once.

API (called by the gateway's confirmation state machine, ``gateway/falls.py``)::

    model = load_model(Path("gateway/fall_detection/model/falls-v2.json"))
    detector = FallDetector(model)
    for t, acc in chunks:                   # t: (N,) seconds, acc: (N, 3) in g, any rate
        for fall in detector.feed(t, acc):  # list[SuspectedFall], usually empty
            ...                             # fall.time_s, fall.probability, fall.peak_g

Samples may arrive at any (even irregular) rate; they are linearly resampled to the model's rate
(50 Hz). Timestamps must increase from chunk to chunk; a gap longer than ``MAX_GAP_S`` starts a
new segment (nothing is interpolated across it). A fall is reported ``RuleParams.lookahead_s``
(2.5 s) after its impact, because the rule needs to see posture and stillness after it; the
reported ``time_s`` is the impact's time on the caller's clock. After a report, further impacts
within ``REFRACTORY_S`` are not reported again (one report per fall).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gateway.fall_detection.features import extract
from gateway.fall_detection.model import FallModel
from gateway.fall_detection.rules import judge
from gateway.fall_detection.signals import FloatArray

log = logging.getLogger(__name__)

MAX_GAP_S = 1.0
"""A longer silence between samples is a gap (wearable out of range), not something to interpolate."""

REFRACTORY_S = 10.0
"""After a reported fall, impacts this close after it belong to the same fall (bounces, getting up)."""


@dataclass(frozen=True, slots=True)
class SuspectedFall:
    """A fall suspected at the edge: impact time (caller's seconds), probability, |a| peak in g."""

    time_s: float
    probability: float
    peak_g: float


class FallDetector:
    """Incremental stage 1 + stage 2 over a stream of accelerometer samples (see module docstring)."""

    def __init__(self, model: FallModel) -> None:
        self._model = model
        self._rate = model.rate_hz
        rules = model.rules
        self._ahead = rules.lookahead_samples(self._rate)
        self._behind = int(np.ceil(max(rules.lookbehind_s, 2.0) * self._rate)) + 1
        self._reset_segment()
        self._last_t: float | None = None
        self._last_acc: FloatArray | None = None
        self._quiet_until_s = -np.inf

    def _reset_segment(self) -> None:
        """Forget buffered samples; the next sample starts a new uniform grid."""
        self._seg_t0 = 0.0
        self._buf = np.empty((0, 3))
        self._buf_start = 0
        self._next_judge = 0
        self._next_grid = 0

    def feed(self, t: Sequence[float] | FloatArray, acc_g: FloatArray) -> list[SuspectedFall]:
        """Add samples (``t`` seconds, ``acc_g`` N×3 in g); return the falls now suspected."""
        times = np.asarray(t, dtype=np.float64)
        acc = np.asarray(acc_g, dtype=np.float64)
        if times.ndim != 1 or acc.shape != (len(times), 3):
            raise ValueError(f"expected t (N,) and acc_g (N, 3), got {times.shape} and {acc.shape}")
        if len(times) == 0:
            return []
        if self._last_t is not None and times[0] - self._last_t > MAX_GAP_S:
            log.info("fall_detector.gap seconds=%.3f", times[0] - self._last_t)
            self._reset_segment()
            self._last_t, self._last_acc = None, None
        if self._last_t is None or self._last_acc is None:
            self._seg_t0 = float(times[0])
            src_t, src_a = times, acc
        else:
            src_t = np.concatenate(([self._last_t], times))
            src_a = np.vstack((self._last_acc, acc))
        keep = np.concatenate(([True], np.diff(src_t) > 0))
        if not keep.all():
            log.debug("fall_detector.non_increasing dropped=%d", int((~keep).sum()))
            src_t, src_a = src_t[keep], src_a[keep]
        self._last_t, self._last_acc = float(src_t[-1]), src_a[-1].copy()
        last_grid = int(np.floor((src_t[-1] - self._seg_t0) * self._rate + 1e-9))
        if last_grid >= self._next_grid:
            grid = self._seg_t0 + np.arange(self._next_grid, last_grid + 1) / self._rate
            new = np.column_stack([np.interp(grid, src_t, src_a[:, k]) for k in range(3)])
            self._buf = np.vstack((self._buf, new))
            self._next_grid = last_grid + 1
        return self._judge_ready()

    def _judge_ready(self) -> list[SuspectedFall]:
        """Run the rule and the classifier on every sample that now has enough context."""
        found: list[SuspectedFall] = []
        end = self._buf_start + len(self._buf)
        ready_to = end - self._ahead
        if ready_to > self._next_judge:
            mag = np.linalg.norm(self._buf, axis=1)
            lo = self._next_judge - self._buf_start
            hi = ready_to - self._buf_start
            for local in lo + np.flatnonzero(mag[lo:hi] >= self._model.rules.impact_g):
                fall = self._classify(int(local), mag)
                if fall is not None:
                    found.append(fall)
            self._next_judge = ready_to
        drop = self._next_judge - self._behind - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return found

    def _classify(self, local: int, mag: FloatArray) -> SuspectedFall | None:
        """Stage 1 then stage 2 for the buffered sample ``local``."""
        time_s = self._seg_t0 + (self._buf_start + local) / self._rate
        if time_s < self._quiet_until_s:
            return None
        cand = judge(self._buf, mag, local, self._rate, self._model.rules)
        if cand is None:
            return None
        probability = self._model.probability(
            extract(self._buf, local, self._rate, self._model.rules)
        )
        log.debug(
            "fall_detector.candidate time_s=%.2f peak_g=%.2f p=%.3f",
            time_s,
            cand.peak_g,
            probability,
        )
        if probability < self._model.threshold:
            return None
        self._quiet_until_s = time_s + REFRACTORY_S
        log.info(
            "fall_detector.suspected time_s=%.2f peak_g=%.2f p=%.3f",
            time_s,
            cand.peak_g,
            probability,
        )
        return SuspectedFall(time_s=time_s, probability=probability, peak_g=cand.peak_g)
