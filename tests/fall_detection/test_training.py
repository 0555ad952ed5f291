"""Training with device variants, and leave-subjects-out keeping them with their subject."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from gateway.fall_detection import evaluation
from gateway.fall_detection.model import FallModel
from gateway.fall_detection.signals import Trial
from gateway.fall_detection.training import DEVICE_VARIANTS, CandidateRows, training_set
from tests.fall_detection.conftest import fall_signal, sit_hard_signal


def _trials(subjects: Sequence[str]) -> list[Trial]:
    out = []
    for k, subject in enumerate(subjects):
        t, acc = fall_signal(200.0, seed=k)
        out.append(Trial(f"F01_{subject}_R01", subject, True, t, acc))
        t, acc = sit_hard_signal(200.0)
        out.append(Trial(f"D07_{subject}_R01", subject, False, t, acc))
    return out


def test_training_set_holds_every_trial_then_each_device_variant() -> None:
    trials = _trials(["SA01", "SA02"])
    augmented, origin = training_set(trials)
    assert len(augmented) == len(trials) * (1 + len(DEVICE_VARIANTS))
    assert augmented[: len(trials)] == trials
    assert origin == list(range(len(trials))) * (1 + len(DEVICE_VARIANTS))
    for copy, i in zip(augmented, origin, strict=True):
        assert (copy.subject, copy.is_fall) == (trials[i].subject, trials[i].is_fall)
    assert [t.name for t in augmented[len(trials) :]] == [
        "F01_SA01_R01@2g", "D07_SA01_R01@2g", "F01_SA02_R01@2g", "D07_SA02_R01@2g",
        "F01_SA01_R01@18Hz", "D07_SA01_R01@18Hz", "F01_SA02_R01@18Hz", "D07_SA02_R01@18Hz",
    ]  # fmt: skip
    assert float(np.abs(augmented[4].acc_g).max()) <= 2.0


def test_no_fold_trains_on_a_variant_of_a_held_out_subject(
    monkeypatch: pytest.MonkeyPatch, shipped_model: FallModel
) -> None:
    """A clipped or slowed copy of someone's fall is still that person: it stays out of the
    model that scores them."""
    trials = _trials(["SA01", "SA02", "SA03", "SA04"])
    trained_on: list[set[str]] = []

    def record(fold_trials: Sequence[Trial], classifier: object, rows: CandidateRows) -> FallModel:
        assert rows.n_fall_trials == 3 * (1 + len(DEVICE_VARIANTS))
        trained_on.append(set(rows.subjects))
        return shipped_model

    scored: list[str] = []
    monkeypatch.setattr(evaluation, "train_model", record)
    real_run = evaluation.run_trial

    def run(model: FallModel, trial: Trial) -> evaluation.TrialOutcome:
        scored.append(trial.subject)
        return real_run(model, trial)

    monkeypatch.setattr(evaluation, "run_trial", run)
    outcomes = evaluation.leave_subjects_out(trials, folds=4)
    assert len(outcomes) == len(trials)  # the variants are trained on, never scored
    assert len(trained_on) == 4
    for subjects, held_out in zip(trained_on, scored[::2], strict=True):
        assert held_out not in subjects
        assert len(subjects) == 3


def test_leave_subjects_out_as_falls_v1_trains_on_the_trials_only(
    monkeypatch: pytest.MonkeyPatch, shipped_model: FallModel
) -> None:
    """``--no-device-variants``: the comparison with falls-v1 in docs/detection.md."""
    counts: list[int] = []

    def record(fold_trials: Sequence[Trial], classifier: object, rows: CandidateRows) -> FallModel:
        counts.append(rows.n_fall_trials + rows.n_adl_trials)
        return shipped_model

    monkeypatch.setattr(evaluation, "train_model", record)
    trials = _trials(["SA01", "SA02", "SA03", "SA04"])
    evaluation.leave_subjects_out(trials, folds=4, device_variants=False)
    assert counts == [6, 6, 6, 6]  # three subjects' two trials, no copies
