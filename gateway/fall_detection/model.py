"""The fall model file: a versioned JSON document evaluated with numpy alone (no pickle).

JSON rather than joblib/pickle because a gateway should never execute code from a file it loads,
the file must outlive scikit-learn version changes, and it stays diffable and small. Training
(``gateway.fall_detection.training``) exports the fitted scikit-learn estimator into this form;
a test checks that both give the same probabilities.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gateway.fall_detection import ModelFileError
from gateway.fall_detection.features import FEATURES
from gateway.fall_detection.rules import RuleParams
from gateway.fall_detection.signals import FloatArray

FORMAT = "anxin-falls"
"""Value of the ``format`` key of every model file."""

FORMAT_VERSION = 1
"""Layout version of the file; a loader refuses versions it does not know."""

SHIPPED_MODEL_PATH = Path(__file__).parent / "model" / "falls-v2.json"
"""Where the model built by ``anxin train falls`` from SisFall is kept in the repository."""


@dataclass(frozen=True, slots=True)
class Tree:
    """One binary decision tree as flat node arrays (scikit-learn's ``tree_`` layout)."""

    left: tuple[int, ...]
    right: tuple[int, ...]
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    value: tuple[float, ...]

    def predict(self, x: FloatArray) -> float:
        """Leaf value reached by one feature vector."""
        node = 0
        while self.left[node] != -1:
            goes_left = x[self.feature[node]] <= self.threshold[node]
            node = self.left[node] if goes_left else self.right[node]
        return self.value[node]


@dataclass(frozen=True, slots=True)
class Estimator:
    """A fitted probability model: ``linear`` (scaled logistic), ``boosting`` or ``forest``."""

    kind: str
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()
    coef: tuple[float, ...] = ()
    intercept: float = 0.0
    learning_rate: float = 1.0
    trees: tuple[Tree, ...] = ()

    def probability(self, x: FloatArray) -> float:
        """Probability that one feature vector is a fall."""
        if self.kind == "linear":
            z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
            return _sigmoid(float(z @ np.asarray(self.coef)) + self.intercept)
        if self.kind == "boosting":
            raw = self.intercept + self.learning_rate * sum(t.predict(x) for t in self.trees)
            return _sigmoid(raw)
        if self.kind == "forest":
            return float(np.mean([t.predict(x) for t in self.trees]))
        raise ModelFileError(f"unknown estimator kind {self.kind!r}")


@dataclass(frozen=True, slots=True)
class FallModel:
    """A trained stage-2 model with everything needed to use it on a stream."""

    version: str
    rate_hz: float
    features: tuple[str, ...]
    threshold: float
    estimator: Estimator
    rules: RuleParams = field(default_factory=RuleParams)
    training: dict[str, Any] = field(default_factory=dict)

    def probability(self, x: FloatArray) -> float:
        """Probability that the candidate with feature vector ``x`` is a fall."""
        return self.estimator.probability(x)


def _sigmoid(z: float) -> float:
    """Logistic function, safe for large |z|."""
    return float(0.5 * (1.0 + np.tanh(0.5 * z)))


def save_model(model: FallModel, path: Path) -> None:
    """Write ``model`` as JSON to ``path``."""
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(model)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")


def load_model(path: Path) -> FallModel:
    """Read a model file written by ``save_model``; raises ``ModelFileError`` if it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"cannot read model file {path}: {err}") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not an {FORMAT} model file")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: unsupported format_version {doc.get('format_version')!r}")
    try:
        est = doc["estimator"]
        trees = tuple(
            Tree(
                left=tuple(t["left"]),
                right=tuple(t["right"]),
                feature=tuple(t["feature"]),
                threshold=tuple(t["threshold"]),
                value=tuple(t["value"]),
            )
            for t in est["trees"]
        )
        estimator = Estimator(
            kind=est["kind"],
            mean=tuple(est["mean"]),
            scale=tuple(est["scale"]),
            coef=tuple(est["coef"]),
            intercept=float(est["intercept"]),
            learning_rate=float(est["learning_rate"]),
            trees=trees,
        )
        rules: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in doc["rules"].items()
        }
        model = FallModel(
            version=str(doc["version"]),
            rate_hz=float(doc["rate_hz"]),
            features=tuple(doc["features"]),
            threshold=float(doc["threshold"]),
            estimator=estimator,
            rules=RuleParams(**rules),
            training=dict(doc["training"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: malformed model file: {err}") from err
    if model.features != FEATURES:
        raise ModelFileError(
            f"{path}: features {model.features} differ from this code's {FEATURES}"
        )
    if estimator.kind not in ("linear", "boosting", "forest"):
        raise ModelFileError(f"{path}: unknown estimator kind {estimator.kind!r}")
    return model
