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

__all__ = ["HOME_DEVICES"]
