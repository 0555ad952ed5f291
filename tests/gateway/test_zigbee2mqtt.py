"""The zigbee2mqtt adapter: documented payloads mapped onto the catalog, on a real Mosquitto bus."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from anxin.localservers import Server
from devices.clock import ManualClock
from devices.payloads import EventKind
from gateway.adapters.base import DeviceData
from gateway.adapters.zigbee2mqtt import PairedDevice, Zigbee2MqttAdapter, map_state
from tests.gateway.conftest import T0

FIXTURES = Path(__file__).parent.parent / "fixtures" / "zigbee2mqtt"


def fixture(name: str) -> dict[str, object]:
    """One recorded zigbee2mqtt state message."""
    loaded = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def values(data: DeviceData) -> dict[str, float]:
    """measurement -> value of the readings."""
    return {r.measurement: r.value for r in data.readings}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("RTCGQ11LM", {"motion": 1.0, "battery": 100.0, "linkquality": 162.0}),
        ("MCCGQ11LM", {"contact_open": 1.0, "battery": 91.0, "linkquality": 87.0}),
        ("SJCGQ11LM", {"water_leak": 1.0, "battery": 97.0, "linkquality": 141.0}),
        ("DJT11LM", {"motion": 1.0, "battery": 100.0, "linkquality": 120.0}),
        ("TS0215A_sos", {"battery": 100.0, "linkquality": 150.0}),
        ("TS0601_fall_radar", {"motion": 1.0, "linkquality": 204.0}),
    ],
)
def test_documented_fields_map_onto_the_catalog(name: str, expected: dict[str, float]) -> None:
    data = map_state("dev-1", fixture(name), T0)
    assert values(data) == expected
    assert all(r.time == T0 and r.device == "dev-1" for r in data.readings)


def test_sos_action_is_a_press_and_radar_fall_is_a_fall_event() -> None:
    sos = map_state("sos-1", fixture("TS0215A_sos"), T0)
    assert [(p.device, p.time) for p in sos.presses] == [("sos-1", T0)]
    radar = map_state("radar-1", fixture("TS0601_fall_radar"), T0)
    assert [(e.kind, e.device) for e in radar.events] == [(EventKind.FALL, "radar-1")]
    calm = map_state("radar-1", {**fixture("TS0601_fall_radar"), "fall_down_status": "none"}, T0)
    assert calm.events == ()


def test_contact_true_is_closed_and_unknown_fields_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    data = map_state("door-1", {"contact": True, "mystery": 3}, T0)
    assert values(data) == {"contact_open": 0.0}
    assert "zigbee2mqtt.field_ignored dev=door-1 field=mystery" in caplog.text


@pytest.fixture
async def bus(mosquitto_server: Server) -> AsyncIterator[aiomqtt.Client]:
    """A client playing zigbee2mqtt on the real broker."""
    async with aiomqtt.Client("127.0.0.1", mosquitto_server.port) as client:
        yield client


@pytest.mark.mosquitto
async def test_pairing_opens_the_network_then_the_device_is_read(
    mosquitto_server: Server, bus: aiomqtt.Client
) -> None:
    base = f"z2m-{id(bus)}"
    adapter = Zigbee2MqttAdapter(
        "127.0.0.1",
        mosquitto_server.port,
        ManualClock(T0),
        base_topic=base,
        paired=(PairedDevice("hall motion", "pir-hall", "pir", "hallway"),),
    )
    await bus.subscribe(f"{base}/bridge/request/#", qos=1)
    task = asyncio.create_task(adapter.run())
    try:
        async with asyncio.timeout(10):
            await adapter.ready.wait()
            leak = json.dumps(fixture("SJCGQ11LM"))
            await bus.publish(f"{base}/0x00158d0001e2a3b4", leak, qos=1)  # not paired yet
            await bus.publish(f"{base}/hall motion", json.dumps(fixture("RTCGQ11LM")), qos=1)
            first = await adapter.read()
            assert {r.device for r in first.readings} == {"pir-hall"}
            paired = await adapter.pair(
                {"ieee": "0x00158d0001e2a3b4", "kind": "leak", "room": "bathroom"}
            )
            request = await anext(bus.messages)
            assert request.topic.value == f"{base}/bridge/request/permit_join"
            assert isinstance(request.payload, bytes)
            assert json.loads(request.payload)["value"] is True
            await bus.publish(f"{base}/0x00158d0001e2a3b4", leak, qos=1)
            second = await adapter.read()
        assert paired.device == "0x00158d0001e2a3b4"
        assert values(second)["water_leak"] == 1.0
        assert {r.device for r in second.readings} == {paired.device}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
