"""A detector that is not running is reported until it has run again for a while."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.detector_health import DetectorHealth, DetectorProblem

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def test_a_failure_is_reported_until_the_detector_has_run_again_long_enough() -> None:
    mono = [0.0]
    health = DetectorHealth(healthy_after_s=120, monotonic=lambda: mono[0], now=lambda: NOW)
    assert health.problems() == []
    health.failed("routine", OSError("store unreachable"))
    health.restarted("routine")
    mono[0] = 60.0
    health.failed("routine", OSError("still unreachable"))  # failed again: same episode
    (problem,) = health.problems()
    assert problem == DetectorProblem("routine", NOW, "OSError: still unreachable")
    health.restarted("routine")
    mono[0] = 60.0 + 119
    assert [p.name for p in health.problems()] == ["routine"]
    mono[0] = 60.0 + 120
    assert health.problems() == []


def test_a_detector_that_fails_for_some_homes_says_so() -> None:
    health = DetectorHealth(now=lambda: NOW)
    partial: list[DetectorProblem | None] = [None]
    health.watch("routine", lambda: partial[0])
    assert health.problems() == []
    partial[0] = DetectorProblem("routine", NOW, "ValueError: odd data", homes=3)
    assert health.problems() == [partial[0]]
