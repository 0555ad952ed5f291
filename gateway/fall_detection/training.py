"""Stage 2 training with scikit-learn: candidate rows from trials, the classifier, export to a file."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from gateway.fall_detection import TrainingDataError
from gateway.fall_detection.features import FEATURES, extract
from gateway.fall_detection.model import Estimator, FallModel, Tree
from gateway.fall_detection.rules import RuleParams, candidates
from gateway.fall_detection.signals import (
    INTERNAL_RATE_HZ,
    FloatArray,
    Trial,
    clipped,
    resample,
    sampled,
)

log = logging.getLogger(__name__)

MODEL_VERSION = "falls-v2"
"""Version string written into the shipped model file (v2: trained with device variants)."""

DEVICE_VARIANTS: tuple[tuple[str, Callable[[Trial], Trial]], ...] = (
    ("clipped at ±2 g", lambda trial: clipped(trial, 2.0)),
    ("sampled at 18 Hz", lambda trial: sampled(trial, 18.0)),
)
"""Copies of every training trial as cheaper wearables record it: phones and many bands saturate
at ±2 g, some sensors sample at 18–25 Hz. The classifier then learns falls that such a device
shows, not only SisFall's ±16 g at 200 Hz (docs/detection.md, "Other devices")."""

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class CandidateRows:
    """Stage-2 training rows: features, label, subject and trial of each stage-1 candidate."""

    x: FloatArray
    y: IntArray
    subjects: tuple[str, ...]
    trial_ids: IntArray
    n_fall_trials: int
    n_adl_trials: int


def training_set(
    trials: Sequence[Trial],
    variants: Sequence[tuple[str, Callable[[Trial], Trial]]] = DEVICE_VARIANTS,
) -> tuple[list[Trial], list[int]]:
    """The trials followed by their ``variants``, and for each the original's position."""
    out = list(trials)
    origin = list(range(len(trials)))
    for _, variant in variants:
        out.extend(variant(trial) for trial in trials)
        origin.extend(range(len(trials)))
    return out, origin


def select_rows(rows: CandidateRows, trials: Sequence[Trial], keep: set[int]) -> CandidateRows:
    """The rows of the trials numbered ``keep`` (positions in the ``trials`` the rows came from)."""
    mask = np.isin(rows.trial_ids, sorted(keep))
    n_fall = sum(trials[i].is_fall for i in keep)
    return CandidateRows(
        x=rows.x[mask],
        y=rows.y[mask],
        subjects=tuple(s for s, m in zip(rows.subjects, mask.tolist(), strict=True) if m),
        trial_ids=rows.trial_ids[mask],
        n_fall_trials=n_fall,
        n_adl_trials=len(keep) - n_fall,
    )


def candidate_rows(
    trials: Sequence[Trial], rate_hz: float = INTERNAL_RATE_HZ, rules: RuleParams | None = None
) -> CandidateRows:
    """Features of every stage-1 candidate; in a fall trial only the largest impact is the fall.

    SisFall does not mark when in a trial the fall happens; the other candidates of a fall trial
    are left out of training rather than guessed at.
    """
    params = rules or RuleParams()
    xs: list[FloatArray] = []
    ys: list[int] = []
    subjects: list[str] = []
    ids: list[int] = []
    for number, trial in enumerate(trials):
        _, acc = resample(trial.t, trial.acc_g, rate_hz)
        found = candidates(acc, rate_hz, params)
        if trial.is_fall and found:
            found = [max(found, key=lambda c: c.peak_g)]
        for cand in found:
            xs.append(extract(acc, cand.index, rate_hz, params))
            ys.append(int(trial.is_fall))
            subjects.append(trial.subject)
            ids.append(number)
    n_fall = sum(t.is_fall for t in trials)
    return CandidateRows(
        x=np.asarray(xs, dtype=np.float64).reshape(-1, len(FEATURES)),
        y=np.asarray(ys, dtype=np.int64),
        subjects=tuple(subjects),
        trial_ids=np.asarray(ids, dtype=np.int64),
        n_fall_trials=n_fall,
        n_adl_trials=len(trials) - n_fall,
    )


def choose_threshold(
    trial_scores: dict[int, float],
    fall_trials: set[int],
    n_fall_trials: int,
    n_adl_trials: int,
    target_specificity: float,
) -> float:
    """Lowest threshold whose per-trial specificity reaches the target (trials without rows are
    negatives by construction: stage 1 let nothing through)."""
    grid = np.round(np.arange(0.05, 0.99, 0.01), 2)
    best = float(grid[-1])
    for threshold in grid:
        false_alarms = sum(
            1 for i, s in trial_scores.items() if i not in fall_trials and s >= threshold
        )
        if n_adl_trials == 0 or 1.0 - false_alarms / n_adl_trials >= target_specificity:
            best = float(threshold)
            break
    return best


class FallClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Stage-2 classifier with a decision threshold picked on inner, subject-grouped folds.

    ``kind`` is ``forest`` (default: best and steadiest thresholds in leave-subjects-out on
    SisFall), ``boosting`` or ``linear`` (standardised logistic regression).
    """

    def __init__(
        self,
        kind: str = "forest",
        n_estimators: int = 150,
        max_depth: int = 3,
        learning_rate: float = 0.1,
        target_specificity: float = 0.99,
        inner_folds: int = 4,
        random_state: int = 0,
    ) -> None:
        self.kind = kind
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.target_specificity = target_specificity
        self.inner_folds = inner_folds
        self.random_state = random_state

    def _new_estimator(self) -> Any:
        """A fresh, unfitted scikit-learn estimator of the configured kind."""
        if self.kind == "boosting":
            return GradientBoostingClassifier(
                n_estimators=self.n_estimators,
                max_depth=self.max_depth,
                learning_rate=self.learning_rate,
                subsample=0.8,
                random_state=self.random_state,
            )
        if self.kind == "forest":
            return RandomForestClassifier(
                n_estimators=self.n_estimators,
                max_depth=self.max_depth + 5,
                min_samples_leaf=2,
                n_jobs=1,
                random_state=self.random_state,
            )
        if self.kind == "linear":
            return LogisticRegression(C=1.0, max_iter=2000, random_state=self.random_state)
        raise ValueError(f"unknown classifier kind {self.kind!r}")

    def _fit_one(self, x: FloatArray, y: IntArray) -> tuple[Any, Any]:
        """Fit scaler (linear only) and estimator on rows, classes weighted to balance."""
        scaler = StandardScaler().fit(x) if self.kind == "linear" else None
        est = self._new_estimator()
        est.fit(
            scaler.transform(x) if scaler is not None else x,
            y,
            sample_weight=compute_sample_weight("balanced", y),
        )
        return scaler, est

    @staticmethod
    def _proba(scaler: Any, est: Any, x: FloatArray) -> FloatArray:
        """Fall probability of each row under one fitted pair."""
        z = scaler.transform(x) if scaler is not None else x
        return np.asarray(est.predict_proba(z)[:, 1], dtype=np.float64)

    def fit(
        self,
        x: FloatArray,
        y: IntArray,
        groups: Sequence[str] | None = None,
        trial_ids: IntArray | None = None,
        n_trials: tuple[int, int] | None = None,
    ) -> Self:
        """Fit on candidate rows; ``groups`` (subjects), ``trial_ids`` and ``n_trials`` (falls, ADLs)
        let the threshold be chosen per trial on held-out subjects of the training data."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if len(set(y.tolist())) < 2:
            raise TrainingDataError("training needs candidates from both fall and ADL trials")
        ids = np.arange(len(y)) if trial_ids is None else np.asarray(trial_ids)
        subj = np.asarray(groups if groups is not None else ids.astype(str))
        n_fall, n_adl = n_trials if n_trials is not None else (int(y.sum()), int((1 - y).sum()))
        if len(set(subj.tolist())) < 2:
            # One training subject: the threshold can only be chosen on held-out trials.
            log.warning("falls.threshold_within_subject rows=%d", len(y))
            subj = ids.astype(str)
        oof = np.zeros(len(y))
        folds = min(self.inner_folds, len(set(subj.tolist())))
        for train, test in GroupKFold(n_splits=folds).split(x, y, subj):
            if len(set(y[train].tolist())) < 2:
                oof[test] = float(y[train][0]) if len(train) else 0.5
                continue
            scaler, est = self._fit_one(x[train], y[train])
            oof[test] = self._proba(scaler, est, x[test])
        scores: dict[int, float] = {}
        for i, p in zip(ids.tolist(), oof.tolist(), strict=True):
            scores[i] = max(scores.get(i, 0.0), p)
        falls = {i for i, label in zip(ids.tolist(), y.tolist(), strict=True) if label == 1}
        self.threshold_ = choose_threshold(scores, falls, n_fall, n_adl, self.target_specificity)
        self.scaler_, self.estimator_ = self._fit_one(x, y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """Columns: probability of no fall, of a fall."""
        p = self._proba(self.scaler_, self.estimator_, np.asarray(x, dtype=np.float64))
        return np.column_stack((1.0 - p, p))

    def predict(self, x: FloatArray) -> IntArray:
        """1 where the fall probability reaches ``threshold_``."""
        return (self.predict_proba(x)[:, 1] >= self.threshold_).astype(np.int64)

    def export(self) -> Estimator:
        """The fitted estimator in the pickle-free form of ``gateway.fall_detection.model``."""
        est = self.estimator_
        if self.kind == "linear":
            return Estimator(
                kind="linear",
                mean=tuple(map(float, self.scaler_.mean_)),
                scale=tuple(map(float, self.scaler_.scale_)),
                coef=tuple(map(float, est.coef_[0])),
                intercept=float(est.intercept_[0]),
            )
        if self.kind == "boosting":
            trees = tuple(_tree(t.tree_, column=0) for t in est.estimators_[:, 0])
            probe = np.zeros((1, est.n_features_in_))
            summed = sum(t.predict(probe[0]) for t in trees)
            init = float(est.decision_function(probe)[0]) - est.learning_rate * summed
            return Estimator(
                kind="boosting", intercept=init, learning_rate=float(est.learning_rate), trees=trees
            )
        trees = tuple(_tree(t.tree_, column=None) for t in est.estimators_)
        return Estimator(kind="forest", trees=trees)


def _tree(tree: Any, column: int | None) -> Tree:
    """Flat arrays of a fitted sklearn tree; ``column`` None means class-1 fraction of a classifier."""
    if column is None:
        counts = np.asarray(tree.value[:, 0, :], dtype=np.float64)
        values = counts[:, 1] / np.maximum(counts.sum(axis=1), 1e-12)
    else:
        values = np.asarray(tree.value[:, column, 0], dtype=np.float64)
    return Tree(
        left=tuple(int(v) for v in tree.children_left),
        right=tuple(int(v) for v in tree.children_right),
        feature=tuple(max(int(v), 0) for v in tree.feature),
        threshold=tuple(float(v) for v in tree.threshold),
        value=tuple(round(float(v), 9) for v in values),
    )


def train_model(
    trials: Sequence[Trial],
    classifier: FallClassifier | None = None,
    description: str = "",
    rows: CandidateRows | None = None,
) -> FallModel:
    """Fit stage 2 on ``trials`` and their device variants (or on precomputed ``rows`` of
    ``training_set(trials)``) and wrap it as a ``FallModel``."""
    data = rows if rows is not None else candidate_rows(training_set(trials)[0])
    clf = classifier if classifier is not None else FallClassifier()
    clf.fit(data.x, data.y, data.subjects, data.trial_ids, (data.n_fall_trials, data.n_adl_trials))
    subjects = sorted({t.subject for t in trials})
    n_fall = sum(t.is_fall for t in trials)
    return FallModel(
        version=MODEL_VERSION,
        rate_hz=INTERNAL_RATE_HZ,
        features=FEATURES,
        threshold=float(clf.threshold_),
        estimator=clf.export(),
        rules=RuleParams(),
        training={
            "description": description,
            "subjects": subjects,
            "fall_trials": n_fall,
            "adl_trials": len(trials) - n_fall,
            "device_variants": [name for name, _ in DEVICE_VARIANTS],
            "candidate_rows": len(data.y),
            "classifier": clf.get_params(),
        },
    )
