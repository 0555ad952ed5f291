"""The pickle-free model file: round trip, refusal of bad files, equality with scikit-learn."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gateway.fall_detection import ModelFileError, TrainingDataError
from gateway.fall_detection.features import FEATURES
from gateway.fall_detection.model import SHIPPED_MODEL_PATH, FallModel, load_model, save_model
from gateway.fall_detection.rules import RuleParams
from gateway.fall_detection.training import FallClassifier


def _rows(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(240, len(FEATURES)))
    y = (x[:, 0] + 0.5 * x[:, 7] + rng.normal(0, 0.5, 240) > 0).astype(np.int64)
    groups = [f"S{i % 8}" for i in range(240)]
    return x, y, groups


@pytest.mark.parametrize("kind", ["forest", "boosting", "linear"])
def test_exported_estimator_matches_scikit_learn(kind: str) -> None:
    x, y, groups = _rows()
    clf = FallClassifier(kind=kind, n_estimators=20, random_state=3).fit(x, y, groups)
    assert clf.fit(x, y, groups) is clf
    assert 0.0 < clf.threshold_ < 1.0
    exported = clf.export()
    probe = np.random.default_rng(9).normal(size=(50, len(FEATURES)))
    ours = np.array([exported.probability(row) for row in probe])
    assert np.allclose(ours, clf.predict_proba(probe)[:, 1], atol=1e-6)


def test_classifier_refuses_one_class_training() -> None:
    x, _, groups = _rows()
    with pytest.raises(TrainingDataError):
        FallClassifier().fit(x, np.ones(len(x), dtype=np.int64), groups)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    x, y, groups = _rows(1)
    clf = FallClassifier(n_estimators=5).fit(x, y, groups)
    model = FallModel(
        version="falls-test",
        rate_hz=50.0,
        features=FEATURES,
        threshold=clf.threshold_,
        estimator=clf.export(),
        rules=RuleParams(impact_g=1.7),
        training={"description": "synthetic"},
    )
    path = tmp_path / "m.json"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded == model
    assert loaded.probability(x[0]) == model.probability(x[0])


def test_load_refuses_foreign_or_mismatched_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(missing)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelFileError, match="not an"):
        load_model(other)
    doc = json.loads(SHIPPED_MODEL_PATH.read_text())
    doc["features"] = doc["features"][:-1]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="features"):
        load_model(changed)
    doc = json.loads(SHIPPED_MODEL_PATH.read_text())
    doc["format_version"] = 99
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="format_version"):
        load_model(newer)


def test_shipped_model_is_small_versioned_and_described(shipped_model: FallModel) -> None:
    assert SHIPPED_MODEL_PATH.stat().st_size < 1_000_000
    assert shipped_model.version == "falls-v2"
    assert shipped_model.rate_hz == 50.0
    assert shipped_model.features == FEATURES
    assert "SisFall" in shipped_model.training["description"]
    assert shipped_model.estimator.kind == "forest"
    assert replace(shipped_model, threshold=0.5).threshold == 0.5
