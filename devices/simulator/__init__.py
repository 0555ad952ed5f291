"""Simulated homes: a resident's day, the home's sensors and wearable, and random incidents.

Pure code: no I/O; time (``now``) and randomness (``random.Random``) come in as arguments.
"""

from __future__ import annotations

HOME_DEVICES: tuple[tuple[str, str, str], ...] = (
    ("pir-bedroom", "pir", "bedroom"),
    ("pir-bathroom", "pir", "bathroom"),
    ("pir-kitchen", "pir", "kitchen"),
    ("pir-living_room", "pir", "living_room"),
    ("pir-hallway", "pir", "hallway"),
    ("door-front", "door", "hallway"),
    ("bed-1", "bed", "bedroom"),
    ("toilet-1", "toilet", "bathroom"),
    ("fridge-1", "fridge", "kitchen"),
    ("wear-1", "wearable", ""),
)
"""(device id, catalog kind, room) of every device in a simulated home; the wearable has no room."""

from devices.simulator.home import (  # noqa: E402  (HOME_DEVICES first: home.py reads it)
    ACCEL_HZ,
    AccelBlock,
    ButtonPress,
    SimReading,
    SimulatedHome,
    StepOutput,
)
from devices.simulator.routine import (  # noqa: E402
    NO_INCIDENTS,
    Activity,
    Incident,
    IncidentKind,
    IncidentRates,
    Segment,
)

__all__ = [
    "ACCEL_HZ",
    "HOME_DEVICES",
    "NO_INCIDENTS",
    "AccelBlock",
    "Activity",
    "ButtonPress",
    "Incident",
    "IncidentKind",
    "IncidentRates",
    "Segment",
    "SimReading",
    "SimulatedHome",
    "StepOutput",
]
