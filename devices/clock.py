"""Injected time: every part that needs ``now`` gets a Clock, so tests and the demo can move time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of the current time (timezone-aware UTC) and a way to wait on it."""

    def now(self) -> datetime:
        """The current time, UTC."""
        ...

    def to_real_seconds(self, simulated_seconds: float) -> float:
        """How many real seconds pass while ``simulated_seconds`` pass on this clock."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current time, UTC."""
        return datetime.now(UTC)

    def to_real_seconds(self, simulated_seconds: float) -> float:
        """Real and simulated time are the same."""
        return simulated_seconds


@dataclass
class ScaledClock:
    """Simulated time that runs ``speed`` times real time from ``start`` (the demo's --speed)."""

    speed: float
    start: datetime
    _t0: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        """``start`` plus the elapsed real time times ``speed``."""
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def to_real_seconds(self, simulated_seconds: float) -> float:
        """Simulated seconds divided by the speed."""
        return simulated_seconds / self.speed


@dataclass
class ManualClock:
    """A clock that moves only when told (tests)."""

    current: datetime

    def now(self) -> datetime:
        """The time last set."""
        return self.current

    def advance(self, seconds: float) -> datetime:
        """Move time forward and return the new time."""
        self.current += timedelta(seconds=seconds)
        return self.current

    def to_real_seconds(self, simulated_seconds: float) -> float:
        """Manual time does not pass by itself; waits are immediate."""
        return 0.0
