"""What a home's sensors cannot tell apart, as the installer and the station are told."""

from __future__ import annotations

from dashboard.coverage import (
    NO_BATHROOM_MOTION,
    NO_FRONT_DOOR,
    NO_SLEEP_SENSOR,
    NO_WEARABLE,
    gaps,
)


def test_an_empty_home_lacks_everything() -> None:
    assert gaps([]) == (NO_FRONT_DOOR, NO_SLEEP_SENSOR, NO_BATHROOM_MOTION, NO_WEARABLE)


def test_a_complete_kit_has_no_gaps() -> None:
    kit = [("door", "hallway"), ("bed", "bedroom"), ("pir", "bathroom"), ("wearable", "")]
    assert gaps(kit) == ()


def test_a_bedroom_motion_sensor_also_tells_sleep_apart() -> None:
    kit = [("door", "hallway"), ("pir", "bedroom"), ("pir", "bathroom"), ("wearable", "")]
    assert gaps(kit) == ()
    # a motion sensor in the kitchen does not see the bathroom, nor the bed
    assert gaps([("pir", "kitchen"), ("door", "hallway"), ("wearable", "")]) == (
        NO_SLEEP_SENSOR,
        NO_BATHROOM_MOTION,
    )
