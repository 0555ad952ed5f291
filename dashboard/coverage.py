"""What a home's sensors let the detectors tell apart, and what they cannot.

Measured in docs/detection.md ("Homes that see less"): without a front-door contact being out
cannot be told from lying still (a false inactivity alarm on most days out); without a bed mat or
a bedroom motion sensor a night that begins with a toilet visit looks like a stay in the
bathroom; without a bathroom motion sensor long bathroom stays are not watched; without a
wearable no fall is detected at all. The installer sees the gaps while pairing, the station on
the resident page.
"""

from __future__ import annotations

from collections.abc import Iterable

NO_FRONT_DOOR = "coverage.no_front_door"
NO_SLEEP_SENSOR = "coverage.no_sleep_sensor"
NO_BATHROOM_MOTION = "coverage.no_bathroom_motion"
NO_WEARABLE = "coverage.no_wearable"


def gaps(devices: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Message keys of what the home's devices (``(kind, room)`` pairs) leave undetectable."""
    paired = set(devices)
    kinds = {kind for kind, _ in paired}
    found: list[str] = []
    if "door" not in kinds:
        found.append(NO_FRONT_DOOR)
    if "bed" not in kinds and ("pir", "bedroom") not in paired:
        found.append(NO_SLEEP_SENSOR)
    if ("pir", "bathroom") not in paired:
        found.append(NO_BATHROOM_MOTION)
    if "wearable" not in kinds:
        found.append(NO_WEARABLE)
    return tuple(found)
