"""Loaders on tiny recordings written in the published layouts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts.routine.errors import DataFormatError
from alerts.routine.events import APPLIANCE, BED, CONTACT, DOOR, FLUSH, MOTION, SEAT, from_reading
from alerts.routine.loaders import load_recording

ORDONEZ_SENSORS = (
    "Start time          \tEnd time            \tLocation\tType\t\tPlace\r\n"
    "--------------------\t--------------------\t--------\t--------\t-----\r\n"
    "2012-11-11 00:30:00\t\t2012-11-11 08:00:00\t\tBed\t\t\tPressure\tBedroom\r\n"
    "2012-11-11 08:02:00\t\t2012-11-11 08:03:00\t\tDoor\t\tPIR\t\t\tBathroom\r\n"
    "2012-11-11 08:05:00\t\t2012-11-11 08:05:10\t\tToilet\t\tFlush\t\tBathroom\r\n"
    "2012-11-11 08:10:00\t\t2012-11-11 08:10:30\t\tMaindoor\t\tMagnetic\tEntrance\r\n"
    "2012-11-11 09:00:00\t\t2012-11-11 09:01:00\t\tFridge\t\tMagnetic\tKitchen\r\n"
    "2012-11-11 09:02:00\t\t2012-11-11 09:04:00\t\tMicrowave\t\tElectric\tKitchen\r\n"
    "2012-11-11 09:10:00\t\t2012-11-11 11:00:00\t\tSeat\t\tPressure\tLiving\r\n"
)
ORDONEZ_ADLS = (
    "Start time          \tEnd time            \tActivity\t\r\n"
    "--------------------\t--------------------\t--------\r\n"
    "2012-11-11 00:30:00\t\t2012-11-11 08:00:00\t\tSleeping\t\t\r\n"
    "2012-11-11 08:10:00\t\t2012-11-11 08:55:00\t\tLeaving\t\r\n"
)
KASTEREN_SENSE = (
    "Start time: Time sensor started firing\r\n"
    "Sensor IDs are: \r\n"
    "    [ 5]    'Hall-Toilet door'  \r\n"
    "    [ 8]    'Fridge'            \r\n"
    "    [12]    'Frontdoor'         \r\n"
    "    [14]    'ToiletFlush'       \r\n"
    "\r\n"
    "Start time          \tEnd time            \tID\tVal\r\n"
    "--------------------\t--------------------\t--\t---\r\n"
    "25-Feb-2008 09:36:43\t25-Feb-2008 09:37:04\t5\t1\r\n"
    "25-Feb-2008 09:37:51\t25-Feb-2008 09:37:52\t14\t1\r\n"
    "25-Feb-2008 09:49:39\t25-Feb-2008 09:49:44\t8\t1\r\n"
    "25-Feb-2008 10:19:00\t25-Feb-2008 10:19:05\t12\t1\r\n"
)
KASTEREN_ACT = (
    "activity id list:\n1: 'leave house'\n4: 'use toilet'\n\n"
    "Start time          \tEnd time            \tID\n"
    "25-Feb-2008 09:37:17\t25-Feb-2008 09:38:02\t4\n"
    "25-Feb-2008 10:19:06\t25-Feb-2008 16:55:38\t1\n"
)


def test_ordonez_any_home_prefix(tmp_path: Path) -> None:
    (tmp_path / "OrdonezB_Sensors.txt").write_text(ORDONEZ_SENSORS, encoding="utf-8")
    (tmp_path / "OrdonezB_ADLs.txt").write_text(ORDONEZ_ADLS, encoding="utf-8")
    rec = load_recording("ordonez", tmp_path)
    assert rec.tz == "Europe/Madrid"
    assert len(rec.events) == 14  # seven intervals, on and off
    first = rec.events[0]
    assert first.time == datetime(2012, 11, 10, 23, 30, tzinfo=UTC)  # 00:30 CET
    assert (first.kind, first.room, first.value) == (BED, "bedroom", 1.0)
    by_sensor = {e.sensor: e for e in rec.events if e.value == 1.0}
    assert by_sensor["Door-Bathroom"].kind == MOTION
    assert by_sensor["Maindoor-Entrance"].kind == DOOR
    assert by_sensor["Maindoor-Entrance"].room == "hallway"
    assert by_sensor["Fridge-Kitchen"].kind == CONTACT
    assert by_sensor["Toilet-Bathroom"].kind == FLUSH
    assert by_sensor["Microwave-Kitchen"].kind == APPLIANCE
    assert by_sensor["Seat-Living"].kind == SEAT
    assert by_sensor["Seat-Living"].room == "living_room"
    assert [(a.start.hour, a.end.hour) for a in rec.away] == [(7, 7)]


def test_ordonez_time_zone_can_be_named(tmp_path: Path) -> None:
    (tmp_path / "OrdonezA_Sensors.txt").write_text(ORDONEZ_SENSORS, encoding="utf-8")
    rec = load_recording("ordonez", tmp_path, tz="UTC")
    assert rec.events[0].time == datetime(2012, 11, 11, 0, 30, tzinfo=UTC)
    assert rec.away == ()


def test_kasteren_with_its_id_table(tmp_path: Path) -> None:
    (tmp_path / "kasterenSenseData.txt").write_text(KASTEREN_SENSE, encoding="utf-8")
    (tmp_path / "kasterenActData.txt").write_text(KASTEREN_ACT, encoding="utf-8")
    rec = load_recording("kasteren", tmp_path)
    assert len(rec.events) == 8
    ons = [e for e in rec.events if e.value == 1.0]
    assert [(e.sensor, e.room, e.kind) for e in ons] == [
        ("Hall-Toilet door", "bathroom", CONTACT),
        ("ToiletFlush", "bathroom", FLUSH),
        ("Fridge", "kitchen", CONTACT),
        ("Frontdoor", "hallway", DOOR),
    ]
    assert ons[0].time == datetime(2008, 2, 25, 8, 36, 43, tzinfo=UTC)  # 09:36:43 CET
    assert len(rec.away) == 1
    assert rec.away[0].start == datetime(2008, 2, 25, 9, 19, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "room", "kind"),
    [
        ("Hall-Bedroom door", "bedroom", CONTACT),
        ("Front door", "hallway", DOOR),
        ("Toilet flush", "bathroom", FLUSH),
        ("Groceries Cupboard", "kitchen", CONTACT),
        ("Washingmachine", "utility", APPLIANCE),
        # names of the kind other houses use (PIR, pressure mats): never a kitchen cupboard
        ("PIR bathroom", "bathroom", MOTION),
        ("Bathroom PIR", "bathroom", MOTION),
        ("Pressure mat bed right", "bedroom", BED),
        ("Bed pressure mat", "bedroom", BED),
        ("Pressure mat couch", "living_room", SEAT),
        ("Motion sensor kitchen", "kitchen", MOTION),
    ],
)
def test_kasteren_sensor_names(tmp_path: Path, name: str, room: str, kind: str) -> None:
    text = KASTEREN_SENSE.replace("'Fridge'      ", f"'{name}'")
    (tmp_path / "kasterenSenseData.txt").write_text(text, encoding="utf-8")
    rec = load_recording("kasteren", tmp_path)
    (event,) = [e for e in rec.events if e.sensor == name and e.value == 1.0]
    assert (event.room, event.kind) == (room, kind)


def test_events_csv(tmp_path: Path) -> None:
    (tmp_path / "home.csv").write_text(
        "timestamp,sensor,room,kind,value\n"
        "2024-03-04T07:00:00Z,bed-1,bedroom,bed,0\n"
        "2024-03-04T08:30:00+01:00,pir-k,Kitchen,motion,1\n"
        "2024-03-04T07:30:00,pir-b,bathroom,motion,1\n",
        encoding="utf-8",
    )
    rec = load_recording("events-csv", tmp_path, tz="Asia/Shanghai")
    assert [e.sensor for e in rec.events] == ["pir-b", "bed-1", "pir-k"]
    assert rec.events[0].time == datetime(2024, 3, 3, 23, 30, tzinfo=UTC)  # naive = --tz
    assert rec.events[2].room == "kitchen"


def test_events_csv_exported_by_other_tools(tmp_path: Path) -> None:
    """A byte-order mark, CRLF, upper-case names, columns in another order and extra columns."""
    (tmp_path / "export.csv").write_bytes(
        "\ufeffValue,Timestamp,Kind,Room,Sensor,battery\r\n"
        "1,2024-03-04T07:00:00Z,motion,hall,pir-h,87\r\n".encode()
    )
    (event,) = load_recording("events-csv", tmp_path).events
    assert (event.sensor, event.room, event.kind, event.value) == ("pir-h", "hall", MOTION, 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "time,sensor,room,kind,value\n2024-03-04T07:00:00Z,a,b,motion,1\n",
        "timestamp,sensor,room,kind,value\n2024-03-04T07:00:00Z,a,b,teleport,1\n",
        "timestamp,sensor,room,kind,value\nyesterday,a,b,motion,1\n",
        "timestamp,sensor,room,kind,value\n",
        "timestamp,sensor,room,kind,value\n2024-03-04T07:00:00Z,a,b\n",
    ],
)
def test_events_csv_refuses_bad_files(tmp_path: Path, text: str) -> None:
    (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError):
        load_recording("events-csv", tmp_path)


def test_missing_or_unknown(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError):
        load_recording("ordonez", tmp_path)
    with pytest.raises(DataFormatError):
        load_recording("kasteren", tmp_path)
    with pytest.raises(DataFormatError):
        load_recording("casas", tmp_path)


def test_from_reading_maps_the_catalog() -> None:
    now = datetime(2024, 3, 4, 7, tzinfo=UTC)
    door = from_reading("door", "hallway", "contact_open", 1, now)
    fridge = from_reading("fridge", "kitchen", "contact_open", 1, now)
    assert door is not None
    assert door.kind == DOOR
    assert fridge is not None
    assert fridge.kind == CONTACT
    motion = from_reading("pir", "kitchen", "motion", 1, now)
    assert motion is not None
    assert (motion.kind, motion.room) == (MOTION, "kitchen")
    bed = from_reading("bed", "bedroom", "bed_occupied", 0, now)
    assert bed is not None
    assert bed.kind == BED
    assert bed.is_activity
    flush = from_reading("toilet", "bathroom", "flush", 0, now)
    assert flush is not None
    assert not flush.is_activity
    assert from_reading("wearable", "bedroom", "heart_rate", 70, now) is None
    assert from_reading("pir", "kitchen", "battery", 80, now) is None
