"""Readers that turn published smart-home recordings into a stream of ``SensorEvent``.

Activation intervals (start, end) become an "on" event at the start and an "off" event at the
end. The published files hold local wall-clock time without an offset; the caller names the time
zone (defaults below are where the studies were recorded) and times are converted to UTC.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.routine.errors import DataFormatError
from alerts.routine.events import (
    APPLIANCE,
    BATHROOM,
    BED,
    BEDROOM,
    CONTACT,
    DOOR,
    FLUSH,
    KINDS,
    KITCHEN,
    MOTION,
    OTHER,
    SEAT,
    SensorEvent,
)

log = logging.getLogger(__name__)

FORMATS = ("ordonez", "kasteren", "events-csv")
DEFAULT_TZ: dict[str, str] = {
    "ordonez": "Europe/Madrid",  # UCI ADL binary data set, recorded in Spain
    "kasteren": "Europe/Amsterdam",  # van Kasteren house A, recorded in the Netherlands
    "events-csv": "UTC",  # only used for timestamps written without an offset
}
CSV_COLUMNS = ("timestamp", "sensor", "room", "kind", "value")

_ISO = r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})"
_ORDONEZ_ROW = re.compile(rf"^\s*{_ISO}\s+{_ISO}\s+(.+?)\s*$")
_KASTEREN_ROW = re.compile(
    r"^\s*(\d{1,2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}:\d{2})\s+"
    r"(\d{1,2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}:\d{2})\s+(\d+)(?:\s+(\S+))?\s*$"
)
_KASTEREN_ID = re.compile(r"^\s*\[\s*(\d+)\]\s+'([^']+)'")
_ORDONEZ_ROOMS = {"living": "living_room", "entrance": "hallway", "hall": "hallway"}
_KASTEREN_LEAVE = "leave house"


@dataclass(frozen=True, slots=True)
class Interval:
    """A labelled span of time (UTC)."""

    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True, slots=True)
class Recording:
    """A home's event stream plus what the study labelled (``away`` is empty when unlabelled)."""

    events: tuple[SensorEvent, ...]
    away: tuple[Interval, ...]
    tz: str
    source: str


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``, or DataFormatError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise DataFormatError(f"unknown time zone {name!r}") from err


def load_recording(fmt: str, folder: Path, tz: str | None = None) -> Recording:
    """Load the recording in ``folder`` written in ``fmt`` (one of ``FORMATS``)."""
    tz_name = tz or DEFAULT_TZ.get(fmt, "UTC")
    if fmt == "ordonez":
        return load_ordonez(folder, tz_name)
    if fmt == "kasteren":
        return load_kasteren(folder, tz_name)
    if fmt == "events-csv":
        return load_events_csv(folder, tz_name)
    raise DataFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _one_file(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise DataFormatError(f"expected exactly one {pattern} in {folder}, found {len(found)}")
    return found[0]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        raise DataFormatError(f"cannot read {path}: {err}") from err


def _local_to_utc(text: str, fmt: str, tz: ZoneInfo) -> datetime:
    # fold=0: an ambiguous wall-clock time at the autumn change is taken as the first one
    return datetime.strptime(text, fmt).replace(tzinfo=tz).astimezone(UTC)


def _on_off(
    start: datetime, end: datetime, sensor: str, room: str, kind: str
) -> tuple[SensorEvent, SensorEvent]:
    return SensorEvent(start, sensor, room, kind, 1.0), SensorEvent(
        max(end, start), sensor, room, kind, 0.0
    )


def _sorted(events: Iterable[SensorEvent]) -> tuple[SensorEvent, ...]:
    return tuple(sorted(events, key=lambda e: (e.time, -e.value)))


def _ordonez_kind(location: str, sensor_type: str, place: str) -> str:
    loc, typ = location.lower(), sensor_type.lower()
    if typ == "pir":
        return MOTION
    if typ == "magnetic":
        front = "main" in loc or "front" in loc or (place.lower() == "entrance" and "door" in loc)
        return DOOR if front else CONTACT
    if typ == "pressure":
        return BED if "bed" in loc else SEAT
    if typ == "flush":
        return FLUSH
    if typ == "electric":
        return APPLIANCE
    return OTHER


def _ordonez_rows(path: Path) -> Iterator[tuple[str, str, list[str]]]:
    skipped = 0
    for line in _lines(path):
        match = _ORDONEZ_ROW.match(line)
        if match is None:
            skipped += line.strip() != "" and not line.lstrip().startswith(("Start", "---"))
            continue
        yield match.group(1), match.group(2), match.group(3).split()
    if skipped:
        log.warning("routine_loader_skipped_rows file=%s rows=%d", path.name, skipped)


def load_ordonez(folder: Path, tz: str = DEFAULT_TZ["ordonez"]) -> Recording:
    """Read ``Ordonez?_Sensors.txt`` (and ``Ordonez?_ADLs.txt`` if present) of any home."""
    zinfo = zone(tz)
    stamp = "%Y-%m-%d %H:%M:%S"
    events: list[SensorEvent] = []
    for start, end, fields in _ordonez_rows(_one_file(folder, "Ordonez*_Sensors.txt")):
        if len(fields) < 3:
            continue
        location, sensor_type, place = fields[0], fields[1], " ".join(fields[2:])
        room = _ORDONEZ_ROOMS.get(place.lower(), place.lower())
        kind = _ordonez_kind(location, sensor_type, place)
        events.extend(
            _on_off(
                _local_to_utc(start, stamp, zinfo),
                _local_to_utc(end, stamp, zinfo),
                f"{location}-{place}",
                room,
                kind,
            )
        )
    if not events:
        raise DataFormatError(f"no sensor rows in {folder}")
    away: list[Interval] = []
    adls = sorted(folder.glob("Ordonez*_ADLs.txt"))
    if adls:
        for start, end, fields in _ordonez_rows(adls[0]):
            if fields and fields[0].lower() == "leaving":
                away.append(
                    Interval(
                        _local_to_utc(start, stamp, zinfo), _local_to_utc(end, stamp, zinfo), "away"
                    )
                )
    return Recording(_sorted(events), tuple(away), tz, f"ordonez:{folder.name}")


def _kasteren_room(low: str) -> str:
    for word, room in (
        ("bathroom", BATHROOM), ("toilet", BATHROOM), ("shower", BATHROOM),
        ("bedroom", BEDROOM), ("kitchen", KITCHEN), ("living", "living_room"),
        ("couch", "living_room"), ("sofa", "living_room"), ("hall", "hallway"),
    ):  # fmt: skip
        if word in low:
            return room
    return OTHER


def _kasteren_sensor(name: str) -> tuple[str, str]:
    """(room, kind) from a sensor's name; van Kasteren's houses name sensors in plain English."""
    low = name.lower().replace("-", " ").replace("_", " ")
    compact = low.replace(" ", "")
    if "pir" in low.split() or "motion" in low:
        return _kasteren_room(low), MOTION
    if "pressure" in low or "mat" in low.split():
        if "bed" in low.split() or "bed" in compact.replace("bedroom", ""):
            return BEDROOM, BED
        return _kasteren_room(low) if _kasteren_room(low) != OTHER else "living_room", SEAT
    if any(w in compact for w in ("frontdoor", "maindoor", "entrancedoor", "housedoor")):
        return "hallway", DOOR
    if "toilet" in low and "flush" in compact:
        return BATHROOM, FLUSH
    if "toilet" in low or "bathroom" in low:
        return BATHROOM, CONTACT
    if "bedroom" in low:
        return BEDROOM, CONTACT
    if "washingmachine" in compact:
        return "utility", APPLIANCE
    return KITCHEN, CONTACT  # house A's remaining sensors: kitchen cupboards and appliances


def load_kasteren(folder: Path, tz: str = DEFAULT_TZ["kasteren"]) -> Recording:
    """Read ``kasterenSenseData.txt`` with its sensor id table (and ``kasterenActData.txt``)."""
    zinfo = zone(tz)
    stamp = "%d-%b-%Y %H:%M:%S"
    lines = _lines(folder / "kasterenSenseData.txt")
    names = {int(m.group(1)): m.group(2).strip() for m in map(_KASTEREN_ID.match, lines) if m}
    if not names:
        raise DataFormatError(f"no sensor id table in {folder / 'kasterenSenseData.txt'}")
    events: list[SensorEvent] = []
    for line in lines:
        match = _KASTEREN_ROW.match(line)
        if match is None:
            continue
        sensor_id = int(match.group(3))
        name = names.get(sensor_id, f"sensor-{sensor_id}")
        room, kind = _kasteren_sensor(name)
        start = _local_to_utc(match.group(1), stamp, zinfo)
        end = _local_to_utc(match.group(2), stamp, zinfo)
        events.extend(_on_off(start, end, name, room, kind))
    if not events:
        raise DataFormatError(f"no sensor rows in {folder / 'kasterenSenseData.txt'}")
    away: list[Interval] = []
    acts = folder / "kasterenActData.txt"
    if acts.exists():
        labels = {
            int(m.group(1)): m.group(2)
            for m in (re.match(r"^\s*(\d+)\s*:\s*'([^']+)'", line) for line in _lines(acts))
            if m
        }
        for line in _lines(acts):
            match = _KASTEREN_ROW.match(line)
            if match and labels.get(int(match.group(3)), "") == _KASTEREN_LEAVE:
                away.append(
                    Interval(
                        _local_to_utc(match.group(1), stamp, zinfo),
                        _local_to_utc(match.group(2), stamp, zinfo),
                        "away",
                    )
                )
    return Recording(_sorted(events), tuple(away), tz, f"kasteren:{folder.name}")


def _csv_time(text: str, zinfo: ZoneInfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise DataFormatError(f"bad ISO 8601 timestamp {text!r}") from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zinfo)
    return parsed.astimezone(UTC)


def load_events_csv(folder: Path, tz: str = DEFAULT_TZ["events-csv"]) -> Recording:
    """Read every ``*.csv`` in ``folder`` with columns ``timestamp,sensor,room,kind,value``."""
    zinfo = zone(tz)
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else [folder]
    if not files:
        raise DataFormatError(f"no .csv files in {folder}")
    events: list[SensorEvent] = []
    for path in files:
        # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the first column name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            reader.fieldnames = [f.strip().lower() for f in reader.fieldnames or ()]
            if not set(CSV_COLUMNS) <= set(reader.fieldnames):
                raise DataFormatError(
                    f"{path.name}: header must name {','.join(CSV_COLUMNS)} (any order, other "
                    f"columns ignored), got {','.join(reader.fieldnames)}"
                )
            for number, row in enumerate(reader, start=2):
                if any(row[c] is None for c in CSV_COLUMNS):
                    raise DataFormatError(f"{path.name}:{number}: missing columns")
                kind = row["kind"].strip().lower()
                if kind not in KINDS:
                    raise DataFormatError(f"{path.name}:{number}: unknown kind {kind!r}")
                try:
                    value = float(row["value"])
                except ValueError as err:
                    raise DataFormatError(f"{path.name}:{number}: bad value") from err
                events.append(
                    SensorEvent(
                        _csv_time(row["timestamp"], zinfo),
                        row["sensor"].strip(),
                        row["room"].strip().lower(),
                        kind,
                        value,
                    )
                )
    if not events:
        raise DataFormatError(f"no events in {folder}")
    return Recording(_sorted(events), (), tz, f"events-csv:{folder.name}")
