"""The edge fall rule on constructed accelerometer signals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from devices.payloads import EventKind
from gateway.falls import FallDetector, Phase

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
HZ = 50.0

Sample = tuple[float, float, float]


def still(seconds: float, g: Sample = (1.0, 0.0, 0.0)) -> list[Sample]:
    """Lying still: gravity along one axis with a little sensor noise."""
    n = int(seconds * HZ)
    return [(g[0] + 0.005 * math.sin(i), g[1], g[2] + 0.005 * math.cos(i)) for i in range(n)]


def walking(seconds: float) -> list[Sample]:
    """Upright gait: |a| swinging 0.7..1.3 g."""
    n = int(seconds * HZ)
    return [(0.05, 0.0, 1.0 + 0.3 * math.sin(2 * math.pi * 1.8 * i / HZ)) for i in range(n)]


def impact(peak: float = 3.5) -> list[Sample]:
    """Free fall then a short hard impact."""
    return [(0.1, 0.1, 0.3)] * 20 + [(0.6 * peak, 0.3 * peak, 0.74 * peak)] * 5


def test_walking_and_lying_down_gently_raise_nothing() -> None:
    det = FallDetector()
    assert det.feed(T0, HZ, walking(60) + still(60)) == []
    assert det.poll(T0 + timedelta(minutes=5)) == []
    assert det.phase is Phase.IDLE


def test_impact_then_still_pre_alerts_then_confirms_after_the_window() -> None:
    det = FallDetector()
    signal = walking(5) + impact(3.5) + still(10)
    found = det.feed(T0, HZ, signal)
    assert [f.kind for f in found] == [EventKind.PRE_ALERT]
    pre = found[0]
    impact_at = T0 + timedelta(seconds=(250 + 20) / HZ)
    assert abs((pre.impact_at - impact_at).total_seconds()) < 0.05
    assert 1.0 + 4.0 <= (pre.time - pre.impact_at).total_seconds() <= 1.0 + 4.0 + 0.1
    assert pre.peak_g > 3.4
    assert det.poll(pre.time + timedelta(seconds=29)) == []
    confirmed = det.poll(pre.time + timedelta(seconds=30))
    assert [(f.kind, f.impact_at) for f in confirmed] == [(EventKind.FALL, pre.impact_at)]
    assert det.phase is Phase.IDLE
    assert det.poll(pre.time + timedelta(minutes=5)) == []


def test_button_within_the_window_cancels() -> None:
    det = FallDetector(cancel_window_s=20.0)
    [pre] = det.feed(T0, HZ, impact() + still(8))
    cancel = det.press(pre.time + timedelta(seconds=19))
    assert [f.kind for f in cancel] == [EventKind.CANCEL]
    assert det.poll(pre.time + timedelta(minutes=1)) == []


def test_button_after_the_window_confirms_first() -> None:
    det = FallDetector(cancel_window_s=20.0)
    [pre] = det.feed(T0, HZ, impact() + still(8))
    assert [f.kind for f in det.press(pre.time + timedelta(seconds=21))] == [EventKind.FALL]


def test_button_with_nothing_pending_is_not_a_cancel() -> None:
    assert FallDetector().press(T0) == []


def test_impact_followed_by_movement_is_a_stumble() -> None:
    det = FallDetector()
    assert det.feed(T0, HZ, impact(3.0) + walking(30) + still(30)) == []
    assert det.phase is Phase.IDLE


def test_below_the_impact_threshold_is_no_fall() -> None:
    assert FallDetector().feed(T0, HZ, impact(2.3) + still(10)) == []


def test_samples_may_arrive_in_small_blocks() -> None:
    det = FallDetector()
    signal = walking(3) + impact() + still(8)
    found = []
    for i in range(0, len(signal), 7):
        found += det.feed(T0 + timedelta(seconds=i / HZ), HZ, signal[i : i + 7])
    whole = FallDetector().feed(T0, HZ, signal)
    assert [(f.kind, f.impact_at) for f in found] == [(f.kind, f.impact_at) for f in whole]
    assert len(found) == 1


def test_noisy_stillness_is_not_enough() -> None:
    det = FallDetector(still_std_g=0.01)
    jitter = [(1.0 + 0.1 * (-1) ** i, 0.0, 0.0) for i in range(int(10 * HZ))]
    assert det.feed(T0, HZ, impact() + jitter) == []
