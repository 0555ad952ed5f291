"""The device catalog as data: device kinds, their measurements, units and valid ranges."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from devices.errors import UnknownKindError


class ValueKind(StrEnum):
    """How a measurement's value is read."""

    BINARY = "binary"  # 0 or 1: a state (occupied, open) or a pulse (flush, motion)
    GAUGE = "gauge"  # a level at an instant (heart rate, battery)
    COUNTER = "counter"  # increments since the last reading (steps)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement a device can report."""

    key: str
    unit: str
    low: float
    high: float
    value_kind: ValueKind
    activity: bool  # True when a reading of ``activity_from`` or more is a sign of activity
    # from how much a reading is a sign that someone is active at home: 1 for the binary
    # sensors; 10 steps in a reading for the wearable (walking — a few steps a minute come from
    # an arm moving in bed or in a chair). One definition for the detectors and the console.
    activity_from: float = 1.0

    def accepts(self, value: float) -> bool:
        """True when ``value`` lies in the valid range (inclusive)."""
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class DeviceKind:
    """A kind of device and what it measures."""

    key: str
    label_en: str
    label_zh: str
    measurements: tuple[str, ...]
    wearable: bool = False


MEASUREMENTS: dict[str, Measurement] = {
    m.key: m
    for m in (
        Measurement("motion", "", 0, 1, ValueKind.BINARY, activity=True),
        Measurement("contact_open", "", 0, 1, ValueKind.BINARY, activity=True),
        Measurement("bed_occupied", "", 0, 1, ValueKind.BINARY, activity=False),
        Measurement("flush", "", 0, 1, ValueKind.BINARY, activity=True),
        Measurement("heart_rate", "bpm", 20, 250, ValueKind.GAUGE, activity=False),
        Measurement("spo2", "%", 50, 100, ValueKind.GAUGE, activity=False),
        Measurement(
            "steps", "steps", 0, 10_000, ValueKind.COUNTER, activity=True, activity_from=10.0
        ),
        Measurement("battery", "%", 0, 100, ValueKind.GAUGE, activity=False),
        Measurement("worn", "", 0, 1, ValueKind.BINARY, activity=False),
        Measurement("water_leak", "", 0, 1, ValueKind.BINARY, activity=False),
        Measurement("linkquality", "lqi", 0, 255, ValueKind.GAUGE, activity=False),
    )
}

DEVICE_KINDS: dict[str, DeviceKind] = {
    k.key: k
    for k in (
        DeviceKind("pir", "Motion sensor", "人体感应", ("motion", "battery")),
        DeviceKind("door", "Front-door contact", "门磁", ("contact_open", "battery")),
        DeviceKind("fridge", "Fridge-door contact", "冰箱门磁", ("contact_open", "battery")),
        DeviceKind("bed", "Bed pressure mat", "床垫传感器", ("bed_occupied",)),
        DeviceKind("toilet", "Toilet flush sensor", "马桶冲水", ("flush", "battery")),
        DeviceKind("leak", "Water-leak sensor", "水浸传感器", ("water_leak", "battery")),
        DeviceKind(
            "wearable",
            "Wearable (watch/pendant)",
            "智能手环",
            ("heart_rate", "spo2", "steps", "battery", "worn"),
            wearable=True,
        ),
    )
}

ROOMS: tuple[str, ...] = ("bedroom", "bathroom", "kitchen", "living_room", "hallway")


def measurement(key: str) -> Measurement:
    """The catalog row for a measurement key, or UnknownKindError."""
    try:
        return MEASUREMENTS[key]
    except KeyError:
        raise UnknownKindError(f"unknown measurement {key!r}") from None


def device_kind(key: str) -> DeviceKind:
    """The catalog row for a device kind, or UnknownKindError."""
    try:
        return DEVICE_KINDS[key]
    except KeyError:
        raise UnknownKindError(f"unknown device kind {key!r}") from None
