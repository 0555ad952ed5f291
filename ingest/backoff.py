"""Capped exponential backoff with full jitter, for reconnects and store retries."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of uniform(0, min(cap, initial * 2**attempt)) seconds; ``reset`` after a success."""

    initial_s: float = 0.1
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (and count this attempt)."""
        ceiling = min(self.cap_s, self.initial_s * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return self.rng.uniform(0, ceiling)

    def reset(self) -> None:
        """Start again from the initial delay."""
        self.attempt = 0
