"""Whether the periodic detectors are actually running — so that their failure is not silent.

A detector that cannot run (the time-series store unreachable, a bug on odd data) raises nothing:
to the care station that looks exactly like "everyone is fine". The runner records each failure
here; the console shows a banner and ``/healthz`` says ``degraded`` until the detector has run
again for a while without failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

HEALTHY_AFTER_S = 120.0  # a restarted detector counts as running again after this long


@dataclass(frozen=True, slots=True)
class DetectorProblem:
    """One detector not (fully) running: since when, why, and for how many homes (0: all).

    ``gateways`` names the homes a partly failing detector could not check (empty: all homes).
    """

    name: str
    since: datetime
    error: str
    homes: int = 0
    gateways: tuple[str, ...] = ()


@dataclass
class _Failure:
    since: datetime
    error: str
    restarted_at: float | None = None


class DetectorHealth:
    """Failures reported by the detector runner, and partial failures reported by a detector."""

    def __init__(
        self,
        healthy_after_s: float = HEALTHY_AFTER_S,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._healthy_after_s = healthy_after_s
        self._monotonic = monotonic
        self._now = now
        self._failures: dict[str, _Failure] = {}
        self._partial: dict[str, Callable[[], DetectorProblem | None]] = {}

    def failed(self, name: str, error: BaseException) -> None:
        """``name`` stopped with ``error`` (the earliest failure of an episode is kept)."""
        summary = f"{type(error).__name__}: {error}"[:300]
        held = self._failures.get(name)
        if held is None:
            self._failures[name] = _Failure(self._now(), summary)
        else:
            held.error, held.restarted_at = summary, None

    def restarted(self, name: str) -> None:
        """``name`` was started again after a failure."""
        held = self._failures.get(name)
        if held is not None:
            held.restarted_at = self._monotonic()

    def watch(self, name: str, partial: Callable[[], DetectorProblem | None]) -> None:
        """Ask ``partial`` too: a detector that runs but fails for some homes says so there."""
        self._partial[name] = partial

    def problems(self) -> list[DetectorProblem]:
        """What is not running now, oldest first."""
        now = self._monotonic()
        for name, held in list(self._failures.items()):
            if held.restarted_at is not None and now - held.restarted_at >= self._healthy_after_s:
                del self._failures[name]
        found = [DetectorProblem(n, f.since, f.error) for n, f in self._failures.items()]
        for name, partial in self._partial.items():
            problem = partial()
            if problem is not None and name not in self._failures:
                found.append(problem)
        return sorted(found, key=lambda p: p.since)
