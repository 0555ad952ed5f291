"""Weeks of one home's sensor events, kept compactly in memory.

The routine monitor holds five weeks per home (about 14,000 events for a home with a motion
sensor in every room). As ``SensorEvent`` objects that is about 150 bytes an event, 1.1 GB for
500 homes; here an event is a float, a small integer and a byte (14 bytes), and the objects are
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
    """Events in time order; ``extend`` appends (any order), ``prune`` drops the oldest."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._t = array("d")  # epoch seconds, ascending
        self._code = array("H")  # index into _keys: (sensor, room, kind)
        self._value = array("f")
        self._keys: list[tuple[str, str, str]] = []
        self._index: dict[tuple[str, str, str], int] = {}

    def __len__(self) -> int:
        return len(self._t)

    def extend(self, events: Iterable[SensorEvent]) -> None:
        """Add events; those older than the newest already held are merged into place."""
        new = sorted(events, key=lambda e: e.time)
        if not new:
            return
        if self._t and new[0].time.timestamp() < self._t[-1]:
            merged = sorted([*self.since(None), *new], key=lambda e: e.time)
            self._clear()  # rebuild: rare (readings that arrive late)
            new = merged
        for event in new:
            key = (event.sensor, event.room, event.kind)
            code = self._index.get(key)
            if code is None:
                code = self._index[key] = len(self._keys)
                self._keys.append(key)
            self._t.append(event.time.timestamp())
            self._code.append(code)
            self._value.append(event.value)

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
