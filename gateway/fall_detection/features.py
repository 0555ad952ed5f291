"""Stage 2 inputs: features of the signal around a candidate impact, all orientation-agnostic."""

from __future__ import annotations

import numpy as np

from gateway.fall_detection.rules import RuleParams, post_std_g, posture_change_deg, window_slice
from gateway.fall_detection.signals import FloatArray

FREE_FALL_G = 0.6
"""|a| below this is counted as (partial) free fall; a real free fall reads ~0 g."""

FEATURES: tuple[str, ...] = (
    "peak_g",
    "pre_min_g",
    "free_fall_s",
    "drop_velocity_gs",
    "max_jerk_gps",
    "impact_area_gs",
    "impact_width_s",
    "posture_change_deg",
    "post_std_g",
    "post_mean_dev_g",
    "pre_std_g",
    "late_posture_change_deg",
)
"""Feature names in the order of the vector ``extract`` returns (stored in the model file)."""

_PRE_S = (-1.0, 0.0)
_IMPACT_S = (-0.5, 0.5)
_ACTIVITY_BEFORE_S = (-2.0, -1.0)
_LATE_POSTURE_S = (-0.2, 0.2)


def extract(acc_g: FloatArray, index: int, rate_hz: float, params: RuleParams) -> FloatArray:
    """The feature vector (``FEATURES`` order) of the candidate peak at ``index``."""
    mag = np.linalg.norm(acc_g, axis=1)
    n = len(mag)
    pre = mag[window_slice(n, index, _PRE_S, rate_hz)]
    impact = mag[window_slice(n, index, _IMPACT_S, rate_hz)]
    post = mag[window_slice(n, index, params.post_still_s, rate_hz)]
    before = mag[window_slice(n, index, _ACTIVITY_BEFORE_S, rate_hz)]
    jerk = np.abs(np.diff(impact)) * rate_hz if len(impact) > 1 else np.zeros(1)
    # Posture right at the impact against after it: separates "fell, then lay" from "lay down".
    at_impact = acc_g[window_slice(n, index, _LATE_POSTURE_S, rate_hz)].mean(axis=0)
    after = acc_g[window_slice(n, index, params.post_posture_s, rate_hz)].mean(axis=0)
    cos = float(at_impact @ after) / max(
        float(np.linalg.norm(at_impact) * np.linalg.norm(after)), 1e-9
    )
    values = (
        float(mag[index]),
        float(pre.min()),
        float(np.count_nonzero(pre < FREE_FALL_G)) / rate_hz,
        float(np.clip(1.0 - pre, 0.0, None).sum()) / rate_hz,
        float(jerk.max()),
        float(np.abs(impact - 1.0).sum()) / rate_hz,
        float(np.count_nonzero(impact > params.impact_g * 0.75)) / rate_hz,
        posture_change_deg(acc_g, index, rate_hz, params),
        post_std_g(mag, index, rate_hz, params),
        abs(float(post.mean()) - 1.0),
        float(before.std()),
        float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))),
    )
    return np.asarray(values, dtype=np.float64)
