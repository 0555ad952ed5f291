"""Weeks of one home's sensor events, kept compactly in memory.

The routine monitor holds five weeks per home (about 14,000 events for a home with a motion
sensor in every room). As ``SensorEvent`` objects that is about 150 bytes an event, 1.1 GB for
500 homes; here an event is two floats and a small integer (18 bytes), and the objects are
made again only for what a detector reads: the whole history once a day for the fit, the last
two days at each sweep.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable
from datetime import UTC, datetime

from alerts.routine.events import SensorEvent


class EventHistory:
    """Events in time order, each once; ``extend`` adds, ``prune`` drops the oldest."""

    def __init__(self) -> None:
        self._t = array("d")  # epoch seconds, ascending
        self._code = array("H")  # index into _keys: (sensor, room, kind)
        self._value = array("d")
        self._keys: list[tuple[str, str, str]] = []
        self._index: dict[tuple[str, str, str], int] = {}

    def __len__(self) -> int:
        return len(self._t)

    def extend(self, events: Iterable[SensorEvent]) -> None:
        """Add events in any order; one already held (same time, sensor and value) is not added
        again, so a caller may fetch overlapping windows to catch readings that came late."""
        rows = [(e.time.timestamp(), self._code_of(e), float(e.value)) for e in events]
        if not rows:
            return
        cut = bisect.bisect_left(self._t, min(r[0] for r in rows))
        merged = sorted(
            {*zip(self._t[cut:], self._code[cut:], self._value[cut:], strict=True), *rows}
        )
        del self._t[cut:]
        del self._code[cut:]
        del self._value[cut:]
        for t, code, value in merged:
            self._t.append(t)
            self._code.append(code)
            self._value.append(value)

    def _code_of(self, event: SensorEvent) -> int:
        key = (event.sensor, event.room, event.kind)
        code = self._index.get(key)
        if code is None:
            code = self._index[key] = len(self._keys)
            self._keys.append(key)
        return code

    def prune(self, before: datetime) -> None:
        """Forget events older than ``before``."""
        cut = bisect.bisect_left(self._t, before.timestamp())
        if cut:
            del self._t[:cut]
            del self._code[:cut]
            del self._value[:cut]

    def since(self, start: datetime | None) -> list[SensorEvent]:
        """The events at or after ``start`` (all with None), as objects, in time order."""
        first = 0 if start is None else bisect.bisect_left(self._t, start.timestamp())
        keys = self._keys
        return [
            SensorEvent(datetime.fromtimestamp(t, UTC), *keys[c], float(v))
            for t, c, v in zip(
                self._t[first:], self._code[first:], self._value[first:], strict=True
            )
        ]
