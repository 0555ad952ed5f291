"""Stage 1, stage 2 and the streaming detector on constructed signals."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.fall_detection.detector import REFRACTORY_S, FallDetector, SuspectedFall
from gateway.fall_detection.model import FallModel
from gateway.fall_detection.rules import candidates
from gateway.fall_detection.signals import resample
from tests.fall_detection.conftest import fall_signal, sit_hard_signal, walking_signal


def _stream(model: FallModel, t: np.ndarray, acc: np.ndarray, chunk: int) -> list[SuspectedFall]:
    detector = FallDetector(model)
    found: list[SuspectedFall] = []
    for lo in range(0, len(t), chunk):
        found.extend(detector.feed(t[lo : lo + chunk], acc[lo : lo + chunk]))
    return found


def test_rule_finds_the_constructed_fall() -> None:
    _t, acc = fall_signal(50.0)
    found = candidates(acc, 50.0)
    assert len(found) == 1
    assert found[0].index == 200
    assert found[0].posture_change_deg > 80
    assert found[0].post_std_g < 0.05


@pytest.mark.parametrize("rate_hz", [50.0, 100.0, 200.0])
def test_clean_impact_and_lying_still_is_suspected_once(
    shipped_model: FallModel, rate_hz: float
) -> None:
    t, acc = fall_signal(rate_hz)
    falls = _stream(shipped_model, t + 1000.0, acc, chunk=int(rate_hz // 4))
    assert len(falls) == 1
    assert falls[0].time_s == pytest.approx(1004.0, abs=0.05)
    assert falls[0].probability >= shipped_model.threshold
    assert falls[0].peak_g > 3.0


def test_irregular_timestamps_still_find_the_fall(shipped_model: FallModel) -> None:
    rng = np.random.default_rng(7)
    t_reg, acc_reg = fall_signal(400.0)
    t = np.sort(rng.choice(t_reg, size=len(t_reg) // 6, replace=False))
    acc = acc_reg[np.searchsorted(t_reg, t)]
    falls = _stream(shipped_model, t, acc, chunk=17)
    assert len(falls) == 1
    assert falls[0].time_s == pytest.approx(4.0, abs=0.1)


def test_walking_like_oscillation_is_not_a_fall(shipped_model: FallModel) -> None:
    t, acc = walking_signal(100.0)
    _, resampled = resample(t, acc)
    assert np.linalg.norm(resampled, axis=1).max() > 1.6  # impacts happen; the rule must say no
    assert candidates(resampled, 50.0) == []
    assert _stream(shipped_model, t, acc, chunk=50) == []


def test_sitting_down_hard_without_posture_change_is_not_a_fall(shipped_model: FallModel) -> None:
    t, acc = sit_hard_signal(100.0)
    _, resampled = resample(t, acc)
    assert np.linalg.norm(resampled, axis=1).max() > 2.5
    assert candidates(resampled, 50.0) == []
    assert _stream(shipped_model, t, acc, chunk=100) == []


def test_chunking_does_not_change_the_result(shipped_model: FallModel) -> None:
    t, acc = fall_signal(200.0, impact_s=6.3, seed=4)
    whole = _stream(shipped_model, t, acc, chunk=len(t))
    assert whole == _stream(shipped_model, t, acc, chunk=1)
    assert whole == _stream(shipped_model, t, acc, chunk=333)
    assert len(whole) == 1


def test_second_fall_within_refractory_is_not_reported_again(shipped_model: FallModel) -> None:
    t1, a1 = fall_signal(50.0)
    t2, a2 = fall_signal(50.0, seed=2)
    # Fall at 4 s, up again by 6.5 s, and a second fall at 9 s: within REFRACTORY_S of the first.
    second = t2 >= 1.5
    t = np.concatenate((t1[t1 < 6.5], t2[second] + 5.0))
    a = np.vstack((a1[t1 < 6.5], a2[second]))
    assert REFRACTORY_S > 5.0
    assert [round(f.time_s) for f in _stream(shipped_model, t, a, chunk=25)] == [4]
    # The second fall on its own is detected, so it was the refractory period that held it back.
    alone = t >= 6.5
    assert [round(f.time_s) for f in _stream(shipped_model, t[alone], a[alone], chunk=25)] == [9]
    # Far enough apart, both are reported.
    t_far = np.concatenate((t1, t2 + 10.0))
    a_far = np.vstack((a1, a2))
    assert [round(f.time_s) for f in _stream(shipped_model, t_far, a_far, chunk=25)] == [4, 14]


def test_a_gap_in_the_stream_is_not_interpolated(shipped_model: FallModel) -> None:
    t, acc = fall_signal(50.0)
    detector = FallDetector(shipped_model)
    assert detector.feed(t[:190], acc[:190]) == []
    # Samples resume 30 s later lying down: no impact was ever seen, so nothing is suspected.
    assert detector.feed(t[220:] + 30.0, acc[220:]) == []
    assert detector.feed([], np.empty((0, 3))) == []


def test_feed_rejects_mismatched_shapes(shipped_model: FallModel) -> None:
    with pytest.raises(ValueError, match="acc_g"):
        FallDetector(shipped_model).feed([0.0, 0.1], np.zeros((3, 3)))
