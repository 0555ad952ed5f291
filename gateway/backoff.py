"""Capped exponential backoff with jitter, so that a thousand gateways do not reconnect in step."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

RECONNECT_INITIAL_S = 1.0  # first retry after a lost link
RECONNECT_CAP_S = 60.0  # never wait longer: a fall may be waiting in the outbox


@dataclass
class Backoff:
    """Delays of ``initial * 2**n`` capped at ``cap``, each drawn from its upper half at random.

    "Equal jitter": a delay lies in [d/2, d] for the current step d, so retries spread out after a
    broker restart (paho's own backoff doubles without jitter) while never falling to zero.
    """

    initial: float = RECONNECT_INITIAL_S
    cap: float = RECONNECT_CAP_S
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failed attempt."""
        step = min(self.cap, self.initial * 2.0 ** min(self.attempts, 32))
        self.attempts += 1
        return step / 2 + self.rng.uniform(0, step / 2)

    def reset(self) -> None:
        """The link is up: start from ``initial`` again next time."""
        self.attempts = 0
