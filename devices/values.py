"""Domain values shared by the cloud stages (frozen, slotted dataclasses; UTC times)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Reading:
    """One stored sample: identity is (gateway, device, measurement, time)."""

    gateway: str
    device: str
    measurement: str
    value: float
    time: datetime  # device time (UTC)
    received_at: datetime  # when ingest received it (UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """One urgent event as ingest stored it; ``event_id`` is stable across redeliveries."""

    event_id: str
    gateway: str
    device: str
    kind: str
    time: datetime
    received_at: datetime
    data: dict[str, object]
