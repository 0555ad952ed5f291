"""The common event stream every routine detector reads, whatever the home's sensors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from devices.catalog import MEASUREMENTS

# Kinds of sensor event. "door" is only the front (entrance) door: away detection keys on it.
MOTION = "motion"
DOOR = "door"
CONTACT = "contact"  # cupboards, fridge, inner doors
BED = "bed"
SEAT = "seat"
FLUSH = "flush"
APPLIANCE = "appliance"
OTHER = "other"
# The wearable's step count: the person walked, somewhere at home — it says nothing of where (no
# room), and nothing of coming home (steps counted outside may reach the gateway late, with their
# own times). A reading counts as a sign of activity only from WALKING_STEPS up: a few steps a
# minute come from an arm moving in bed or on the sofa.
STEPS = "steps"
WALKING_STEPS = MEASUREMENTS[STEPS].activity_from  # 10: the catalog's, as the console counts
KINDS: frozenset[str] = frozenset(
    {MOTION, DOOR, CONTACT, BED, SEAT, FLUSH, APPLIANCE, OTHER, STEPS}
)

OCCUPANCY_KINDS: frozenset[str] = frozenset({BED, SEAT})  # a 1 means someone is lying or sitting
ON_EDGE_ONLY: frozenset[str] = frozenset({FLUSH, APPLIANCE})  # their 0 happens by itself

BATHROOM = "bathroom"
KITCHEN = "kitchen"
BEDROOM = "bedroom"

_MEASUREMENT_KIND: dict[str, str] = {
    "motion": MOTION,
    "bed_occupied": BED,
    "flush": FLUSH,
    "steps": STEPS,
}
_CONTACT_DEVICE_KIND: dict[str, str] = {"door": DOOR}  # other contact devices are cupboards
# the catalog measurements ``from_reading`` turns into events: what the routine monitor fetches
READ_MEASUREMENTS: frozenset[str] = frozenset({*_MEASUREMENT_KIND, "contact_open"})


@dataclass(frozen=True, slots=True)
class SensorEvent:
    """One state change of one binary sensor in a home (``time`` is timezone-aware UTC)."""

    time: datetime
    sensor: str
    room: str
    kind: str
    value: float

    @property
    def is_activity(self) -> bool:
        """True when the event is a sign that someone moved (a 0 of a flush/appliance is not, nor
        a step count under ``WALKING_STEPS``)."""
        if self.kind == STEPS:
            return self.value >= WALKING_STEPS
        return self.value > 0 or self.kind not in ON_EDGE_ONLY


def from_reading(
    device_kind: str, room: str, measurement: str, value: float, time: datetime
) -> SensorEvent | None:
    """The event a catalog reading stands for, or None when it says nothing about activity."""
    if time.tzinfo is None:
        raise ValueError("time must be timezone-aware")
    if measurement == "contact_open":
        kind = _CONTACT_DEVICE_KIND.get(device_kind, CONTACT)
    else:
        found = _MEASUREMENT_KIND.get(measurement)
        if found is None:
            return None
        kind = found
    event = SensorEvent(time, f"{device_kind}-{room}", room, kind, float(value))
    return event if kind != STEPS or event.is_activity else None
