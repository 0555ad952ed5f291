"""Per-trial evaluation of the streaming detector: Wilson and bootstrap intervals, leave-subjects-out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupKFold

from gateway.fall_detection.detector import FallDetector
from gateway.fall_detection.model import FallModel
from gateway.fall_detection.signals import Trial
from gateway.fall_detection.training import (
    DEVICE_VARIANTS,
    FallClassifier,
    candidate_rows,
    select_rows,
    train_model,
    training_set,
)

log = logging.getLogger(__name__)

CHUNK_S = 1.0
"""Trials are fed to the detector in chunks of this many seconds, as a gateway would."""

BOOTSTRAP_ROUNDS = 1000
"""Resamples of trials for the F1 interval."""

Z95 = 1.959964
"""Two-sided 95 % normal quantile."""


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """Result for one trial: its label, how many falls were flagged, its length."""

    name: str
    subject: str
    is_fall: bool
    flags: int
    duration_s: float
    max_probability: float


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a 95 % interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Metrics:
    """Per-trial sensitivity, specificity, F1 and false alarms per hour of ADL recording."""

    trials: int
    falls: int
    adls: int
    sensitivity: Interval
    specificity: Interval
    f1: Interval
    false_alarms: int
    adl_hours: float
    false_alarms_per_hour: float


def run_trial(model: FallModel, trial: Trial, chunk_s: float = CHUNK_S) -> TrialOutcome:
    """Stream one trial through a fresh ``FallDetector`` in chunks and count what it flags."""
    detector = FallDetector(model)
    falls = []
    edges = np.searchsorted(trial.t, np.arange(trial.t[0], trial.t[-1] + chunk_s, chunk_s))
    for lo, hi in zip(edges[:-1], [*edges[1:-1], len(trial.t)], strict=True):
        if hi > lo:
            falls.extend(detector.feed(trial.t[lo:hi], trial.acc_g[lo:hi]))
    return TrialOutcome(
        name=trial.name,
        subject=trial.subject,
        is_fall=trial.is_fall,
        flags=len(falls),
        duration_s=trial.duration_s,
        max_probability=max((f.probability for f in falls), default=0.0),
    )


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """Proportion with its Wilson score interval (0/0 gives NaN)."""
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, float(centre - half)), min(1.0, float(centre + half)))


def _f1(truth: np.ndarray, flagged: np.ndarray) -> float:
    """F1 of the fall class."""
    tp = int(np.sum(truth & flagged))
    fp = int(np.sum(~truth & flagged))
    fn = int(np.sum(truth & ~flagged))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def metrics(outcomes: Sequence[TrialOutcome], seed: int = 0) -> Metrics:
    """Summarise per-trial outcomes (a trial is flagged if the detector reported anything)."""
    truth = np.array([o.is_fall for o in outcomes], dtype=bool)
    flagged = np.array([o.flags > 0 for o in outcomes], dtype=bool)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(BOOTSTRAP_ROUNDS if len(outcomes) else 0):
        pick = rng.integers(0, len(outcomes), len(outcomes))
        boots.append(_f1(truth[pick], flagged[pick]))
    finite = [b for b in boots if not np.isnan(b)]
    f1 = _f1(truth, flagged)
    low, high = np.percentile(finite, [2.5, 97.5]) if finite else (float("nan"),) * 2
    adl_hours = sum(o.duration_s for o in outcomes if not o.is_fall) / 3600.0
    false_alarms = sum(o.flags for o in outcomes if not o.is_fall)
    return Metrics(
        trials=len(outcomes),
        falls=int(truth.sum()),
        adls=int((~truth).sum()),
        sensitivity=wilson(int(np.sum(truth & flagged)), int(truth.sum())),
        specificity=wilson(int(np.sum(~truth & ~flagged)), int((~truth).sum())),
        f1=Interval(f1, float(low), float(high)),
        false_alarms=false_alarms,
        adl_hours=adl_hours,
        false_alarms_per_hour=false_alarms / adl_hours if adl_hours > 0 else float("nan"),
    )


def as_recorded(trial: Trial) -> Trial:
    """Score a trial as it was recorded (the default ``device`` below)."""
    return trial


def score(
    model: FallModel, trials: Sequence[Trial], device: Callable[[Trial], Trial] = as_recorded
) -> list[TrialOutcome]:
    """Outcomes of ``trials`` under one fixed model (e.g. the shipped one); ``device`` turns each
    trial into what another device would have recorded before it is scored."""
    return [run_trial(model, device(t)) for t in trials]


def leave_subjects_out(
    trials: Sequence[Trial],
    folds: int = 5,
    classifier: Callable[[], FallClassifier] = FallClassifier,
    device: Callable[[Trial], Trial] = as_recorded,
    device_variants: bool = True,
) -> list[TrialOutcome]:
    """Group k-fold by subject: every trial is scored by a model trained without its subject
    (nor any device variant of its subject's trials); ``device_variants=False`` trains as
    falls-v1 did, on the trials as recorded only."""
    augmented, origin = training_set(trials, DEVICE_VARIANTS if device_variants else ())
    rows = candidate_rows(augmented)
    subjects = np.array([t.subject for t in trials])
    n_folds = min(folds, len(set(subjects.tolist())))
    outcomes: list[TrialOutcome] = []
    for fold, (train, test) in enumerate(
        GroupKFold(n_splits=n_folds).split(subjects, groups=subjects)
    ):
        train_trials = [trials[i] for i in train]
        kept = set(train.tolist())
        fold_rows = select_rows(rows, augmented, {j for j, i in enumerate(origin) if i in kept})
        model = train_model(train_trials, classifier(), rows=fold_rows)
        held_out = sorted(set(subjects[test].tolist()))
        log.info(
            "falls.loso_fold fold=%d held_out=%s threshold=%.2f",
            fold,
            ",".join(held_out),
            model.threshold,
        )
        outcomes.extend(run_trial(model, device(trials[i])) for i in test)
    return outcomes
