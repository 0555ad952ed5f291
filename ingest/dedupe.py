"""A bounded memory of message ids already stored, to recognise redeliveries."""

from __future__ import annotations

from collections import OrderedDict

MessageId = tuple[str, str, int]  # (gateway, boot, seq)


class SeenMessages:
    """Least-recently-used set of (gateway, boot, seq) with a fixed capacity."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._ids: OrderedDict[MessageId, None] = OrderedDict()

    def seen(self, message_id: MessageId) -> bool:
        """True when the id was added and not yet evicted (and mark it recently used)."""
        if message_id in self._ids:
            self._ids.move_to_end(message_id)
            return True
        return False

    def __len__(self) -> int:
        """How many ids are remembered."""
        return len(self._ids)

    def add(self, message_id: MessageId) -> None:
        """Remember an id, evicting the least recently used one when full."""
        self._ids[message_id] = None
        self._ids.move_to_end(message_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
