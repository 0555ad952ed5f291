"""A device adapter for a local zigbee2mqtt bus: ``zigbee2mqtt/<friendly_name>`` JSON onto the catalog.

Only adopted devices are read (a device is adopted by the platform's ``pair_device`` command);
messages of other devices, and fields the table below does not know, are ignored with a log line.

| zigbee2mqtt field | catalog / event |
|---|---|
| ``occupancy``, ``presence`` (true/false) | ``motion`` 1/0 |
| ``vibration`` (true) | ``motion`` 1 (a bed or chair moved: someone is active) |
| ``contact`` (false = open) | ``contact_open`` 1/0 |
| ``water_leak`` | ``water_leak`` 1/0 |
| ``battery`` (%), ``linkquality`` (lqi) | ``battery``, ``linkquality`` |
| ``action`` of SOS buttons (``emergency``, ``sos``, …) | a call-button press |
| ``fall_down_status`` = ``fall`` (mmWave radars) | a FALL event (the radar confirmed it itself) |
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiomqtt

from devices.clock import Clock
from devices.payloads import EventKind
from gateway.adapters.base import ButtonPress, DeviceData, DeviceEvent, DeviceReading

log = logging.getLogger(__name__)

BASE_TOPIC = "zigbee2mqtt"
PERMIT_JOIN_S = 254  # zigbee2mqtt's longest permit-join short of "forever"
QUEUE_MAX = 1_000  # device messages waiting for the agent; a full queue holds back the bus client
SOS_ACTIONS = frozenset({"emergency", "sos", "panic"})  # Tuya TS0215A_sos, HEIMAN, Aqara
FLAGS: dict[str, tuple[str, bool]] = {  # field -> (measurement, value that means 1)
    "occupancy": ("motion", True),
    "presence": ("motion", True),
    "contact": ("contact_open", False),
    "water_leak": ("water_leak", True),
}
GAUGES: dict[str, str] = {"battery": "battery", "linkquality": "linkquality"}
KNOWN_IGNORED = frozenset(  # documented fields the platform has no use for: ignored quietly
    {
        "voltage",
        "device_temperature",
        "power_outage_count",
        "illuminance",
        "illuminance_lux",
        "battery_low",
        "strength",
        "sensitivity",
        "angle_x",
        "angle_y",
        "angle_z",
        "motion_speed",
        "motion_direction",
        "radar_scene",
        "radar_sensitivity",
        "tumble_switch",
        "fall_sensitivity",
        "tumble_alarm_time",
        "static_dwell_alarm",
        "last_seen",
        "elapsed",
        "update",
    }
)
_DEVICE_ID_BAD = re.compile(r"[^A-Za-z0-9_.:-]")


@dataclass(frozen=True, slots=True)
class PairedDevice:
    """A zigbee device adopted by this gateway: its bus name, platform device id, kind and room."""

    friendly_name: str
    device: str
    kind: str
    room: str


def device_id(name: str) -> str:
    """A platform device id made from a zigbee2mqtt friendly name or IEEE address."""
    return _DEVICE_ID_BAD.sub("-", name)[:64] or "zigbee"


def map_state(device: str, state: dict[str, Any], now: datetime) -> DeviceData:
    """One zigbee2mqtt state message of an adopted device as device data (pure)."""
    readings: list[DeviceReading] = []
    presses: list[ButtonPress] = []
    events: list[DeviceEvent] = []
    for field, value in state.items():
        if field in FLAGS and isinstance(value, bool):
            measurement, one = FLAGS[field]
            readings.append(DeviceReading(device, measurement, float(value is one), now))
        elif field == "vibration" and isinstance(value, bool):
            if value:
                readings.append(DeviceReading(device, "motion", 1.0, now))
        elif field in GAUGES and isinstance(value, int | float) and not isinstance(value, bool):
            readings.append(DeviceReading(device, GAUGES[field], float(value), now))
        elif field == "action" and isinstance(value, str):
            if value in SOS_ACTIONS:
                presses.append(ButtonPress(device, now))
        elif field == "fall_down_status" and isinstance(value, str):
            if value == "fall":
                events.append(DeviceEvent(device, EventKind.FALL, now, {"source": "radar"}))
        elif field not in KNOWN_IGNORED:
            log.info("zigbee2mqtt.field_ignored dev=%s field=%s", device, field)
    return DeviceData(readings=tuple(readings), presses=tuple(presses), events=tuple(events))


class Zigbee2MqttAdapter:
    """Reads adopted devices from a local zigbee2mqtt broker; pairs devices on command."""

    def __init__(
        self,
        host: str,
        port: int,
        clock: Clock,
        *,
        base_topic: str = BASE_TOPIC,
        paired: tuple[PairedDevice, ...] = (),
        queue_max: int = QUEUE_MAX,
    ) -> None:
        self.host = host
        self.port = port
        self.clock = clock
        self.base_topic = base_topic
        self.devices: dict[str, PairedDevice] = {p.friendly_name: p for p in paired}
        self._queue: asyncio.Queue[DeviceData] = asyncio.Queue(maxsize=queue_max)
        self._client: aiomqtt.Client | None = None
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Listen to the bus until cancelled (the caller owns this task and its reconnects)."""
        async with aiomqtt.Client(self.host, self.port) as client:
            self._client = client
            await client.subscribe(f"{self.base_topic}/#", qos=1)
            self.ready.set()
            log.info("zigbee2mqtt.subscribed broker=%s:%d", self.host, self.port)
            try:
                async for message in client.messages:
                    await self._take(message.topic.value, message.payload)
            finally:
                self.ready.clear()
                self._client = None

    async def read(self) -> DeviceData:
        """Wait for the next adopted device's report."""
        return await self._queue.get()

    async def pair(self, args: dict[str, Any]) -> PairedDevice:
        """Open the network for joining and adopt the device named by ``args``."""
        name = str(args.get("friendly_name") or args.get("ieee") or "")
        if not name:
            raise ValueError("pair_device needs friendly_name or ieee")
        paired = PairedDevice(
            name,
            str(args.get("device") or device_id(name)),
            str(args.get("kind", "")),
            str(args.get("room", "")),
        )
        if self._client is None:
            raise RuntimeError("zigbee2mqtt bus not connected")
        request = {"value": True, "time": PERMIT_JOIN_S}
        await self._client.publish(
            f"{self.base_topic}/bridge/request/permit_join", json.dumps(request), qos=1
        )
        self.devices[name] = paired
        log.info(
            "zigbee2mqtt.paired name=%s dev=%s kind=%s room=%s",
            name,
            paired.device,
            paired.kind,
            paired.room,
        )
        return paired

    async def _take(self, topic_name: str, payload: object) -> None:
        name = topic_name.removeprefix(f"{self.base_topic}/")
        if name.startswith("bridge/") or name.endswith(("/set", "/get", "/availability")):
            return
        paired = self.devices.get(name)
        if paired is None:
            log.info("zigbee2mqtt.device_ignored name=%s reason=not_paired", name)
            return
        try:
            state = json.loads(payload if isinstance(payload, bytes | str) else b"")
        except json.JSONDecodeError as err:
            log.warning("zigbee2mqtt.bad_json name=%s error=%s", name, err)
            return
        if not isinstance(state, dict):
            log.warning("zigbee2mqtt.not_an_object name=%s", name)
            return
        data = map_state(paired.device, state, self.clock.now())
        if data.readings or data.presses or data.events:
            await self._queue.put(data)  # backpressure onto the bus client, nothing dropped
