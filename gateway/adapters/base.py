"""The device-adapter interface: what any source of device data gives the agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from devices.payloads import EventKind


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """One report of one device (measurement key of ``devices.catalog``)."""

    device: str
    measurement: str
    value: float
    time: datetime


@dataclass(frozen=True, slots=True)
class AccelBlock:
    """Consecutive accelerometer samples (x, y, z in g) of a wearable at ``rate_hz`` from ``start``."""

    device: str
    start: datetime
    rate_hz: float
    samples: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A wearable's call button was pressed."""

    device: str
    time: datetime


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """An event a device decided by itself (e.g. a radar's confirmed fall); goes out as it is."""

    device: str
    kind: EventKind
    time: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeviceData:
    """What the devices reported since the adapter was last read."""

    readings: tuple[DeviceReading, ...] = ()
    accel: tuple[AccelBlock, ...] = ()
    presses: tuple[ButtonPress, ...] = ()
    events: tuple[DeviceEvent, ...] = ()


class DeviceAdapter(Protocol):
    """A source of device data: the simulator, zigbee2mqtt, a vendor's wearable bridge."""

    async def read(self) -> DeviceData:
        """Wait until the devices report something, and return it."""
        ...


@runtime_checkable
class PairingAdapter(DeviceAdapter, Protocol):
    """An adapter that can adopt a new device when the platform says ``pair_device``."""

    async def pair(self, args: dict[str, Any]) -> object:
        """Open the network for joining and adopt the device ``args`` names."""
        ...
