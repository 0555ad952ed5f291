"""Pure checks of decoded uplink messages against the device catalog."""

from __future__ import annotations

from datetime import datetime

from devices.catalog import MEASUREMENTS
from devices.payloads import EventMessage, ReadingsMessage
from devices.values import Event, Reading
from ingest.quarantine import QuarantinedMessage, RejectReason, quarantined


def split_readings(
    topic: str, message: ReadingsMessage, received_at: datetime
) -> tuple[list[Reading], list[QuarantinedMessage]]:
    """The readings the catalog accepts, and one quarantine item per reading it does not."""
    good: list[Reading] = []
    bad: list[QuarantinedMessage] = []
    for item in message.readings:
        spec = MEASUREMENTS.get(item.m)
        if spec is None:
            reason, detail = RejectReason.UNKNOWN_MEASUREMENT, f"measurement {item.m!r}"
        elif not spec.accepts(item.val):
            reason = RejectReason.RANGE
            detail = f"{item.m}={item.val} outside [{spec.low}, {spec.high}]"
        else:
            good.append(Reading(message.gw, item.dev, item.m, item.val, item.t, received_at))
            continue
        where = f"{detail} (boot={message.boot} seq={message.seq} dev={item.dev})"
        bad.append(quarantined(reason, topic, item.model_dump_json().encode(), received_at, where))
    return good, bad


def to_event(message: EventMessage, received_at: datetime) -> Event:
    """The stored form of an event message."""
    return Event(
        message.id,
        message.gw,
        message.dev,
        message.kind.value,
        message.t,
        received_at,
        dict(message.data),
    )
