"""In-memory login rate limit per (username, client address): failures lead to a lockout."""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.errors import LoginLockedError

log = logging.getLogger(__name__)

MAX_FAILURES = 5  # failures in a row before a lockout: enough for typos, too few to guess
LOCKOUT = timedelta(minutes=5)  # long enough to make guessing slow, short for a locked-out nurse
FAILURE_WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
MAX_KEYS = 10_000  # bounded memory: the oldest keys are forgotten first


@dataclass(slots=True)
class _Record:
    failures: int
    last_failure: datetime
    locked_until: datetime | None


class LoginThrottle:
    """Counts failed logins per key and locks the key after MAX_FAILURES."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        lockout: timedelta = LOCKOUT,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._max_failures = max_failures
        self._lockout = lockout
        self._max_keys = max_keys
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()

    @staticmethod
    def key(username: str, address: str) -> tuple[str, str]:
        """The throttle key of a login attempt."""
        return (username.strip().lower(), address)

    def check(self, key: tuple[str, str], now: datetime) -> None:
        """Raise LoginLockedError while ``key`` is locked out."""
        record = self._records.get(key)
        if record is None or record.locked_until is None:
            return
        if now < record.locked_until:
            raise LoginLockedError(math.ceil((record.locked_until - now).total_seconds()))
        del self._records[key]

    def failed(self, key: tuple[str, str], now: datetime) -> None:
        """Count a failed attempt; lock the key when it reaches the limit."""
        record = self._records.pop(key, None)
        if record is None or now - record.last_failure > FAILURE_WINDOW:
            record = _Record(0, now, None)
        record.failures += 1
        record.last_failure = now
        if record.failures >= self._max_failures:
            record.locked_until = now + self._lockout
            log.warning(
                "login_locked username=%s address=%s failures=%d", key[0], key[1], record.failures
            )
        self._records[key] = record
        while len(self._records) > self._max_keys:
            self._records.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        """Forget the failures of ``key`` after a good login."""
        self._records.pop(key, None)
