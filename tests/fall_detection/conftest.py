"""Constructed accelerometer signals and the shipped model for the fall-detection tests."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.fall_detection.model import SHIPPED_MODEL_PATH, FallModel, load_model

UPRIGHT = np.array([0.0, -1.0, 0.0])
LYING = np.array([0.0, 0.0, 1.0])


def _still(t: np.ndarray, gravity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gravity along ``gravity`` plus sensor noise."""
    return gravity + rng.normal(0.0, 0.01, (len(t), 3))


def fall_signal(
    rate_hz: float, impact_s: float = 4.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Standing, 0.4 s of free fall, a 4 g impact, then lying still (10 s in all)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 10.0, 1.0 / rate_hz)
    acc = _still(t, UPRIGHT, rng)
    fall = (t >= impact_s - 0.4) & (t < impact_s)
    acc[fall] = UPRIGHT * 0.15
    hit = (t >= impact_s) & (t < impact_s + 0.08)
    acc[hit] = np.array([0.5, -2.5, 3.0])
    after = t >= impact_s + 0.08
    acc[after] = _still(t[after], LYING, rng)
    return t, acc


def walking_signal(rate_hz: float, seconds: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Upright, with a 2 Hz vertical bounce that peaks near 1.8 g and a sway (no posture change)."""
    t = np.arange(0.0, seconds, 1.0 / rate_hz)
    acc = np.tile(UPRIGHT, (len(t), 1)).astype(float)
    acc[:, 1] -= 0.8 * np.sin(2 * np.pi * 2.0 * t)
    acc[:, 0] += 0.2 * np.sin(2 * np.pi * 1.0 * t)
    return t, acc


def sit_hard_signal(rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Standing, dropping onto a chair with a 3 g jolt, then sitting still slightly reclined."""
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 10.0, 1.0 / rate_hz)
    acc = _still(t, UPRIGHT, rng)
    drop = (t >= 3.7) & (t < 4.0)
    acc[drop] = UPRIGHT * 0.5
    hit = (t >= 4.0) & (t < 4.08)
    acc[hit] = UPRIGHT * 3.0
    seated = np.array([0.0, -np.cos(np.radians(12)), np.sin(np.radians(12))])
    acc[t >= 4.08] = _still(t[t >= 4.08], seated, rng)
    return t, acc


@pytest.fixture(scope="session")
def shipped_model() -> FallModel:
    """The model file committed to the repository."""
    return load_model(SHIPPED_MODEL_PATH)
