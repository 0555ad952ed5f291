"""The hot path of readings: decoded in C by msgspec, encoded straight to line protocol.

A readings message is decoded once into msgspec Structs (schema checked in C: patterns, lengths,
aware datetimes) and its readings become line protocol without a pydantic model or a ``Reading``
per sample. The fast path only ever *accepts*: whatever msgspec refuses, or a reading the
catalog does not accept, goes back to the codec and ``split_readings``, so the quarantine reason
and detail are the codec's own. tests/ingest/test_wire_readings.py proves with Hypothesis that
what this path accepts the codec accepts with equal values, and that its lines are byte-equal to
``reading_lines`` of the ``Reading`` values the slow path builds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import msgspec

from devices.catalog import MEASUREMENTS
from devices.codec import MAX_PAYLOAD_BYTES
from devices.payloads import MAX_READINGS_PER_MESSAGE
from ingest.line_protocol import float_field, series_prefix

# \Z, not $: Python's $ also matches before a trailing newline, pydantic's (Rust) regex does not
_GATEWAY_ID = r"^[A-Za-z0-9_.-]{1,64}\Z"
_DEVICE_ID = r"^[A-Za-z0-9_.:-]{1,64}\Z"
_BOOT_ID = r"^[A-Za-z0-9_-]{1,64}\Z"
_READINGS_SUFFIX = "/readings"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]

# measurement key -> (low, high), the catalog's valid ranges as a plain lookup table
RANGES: dict[str, tuple[float, float]] = {k: (m.low, m.high) for k, m in MEASUREMENTS.items()}
# sensors repeat few values (0/1 states, whole bpm and %): their text is remembered, not rebuilt
VALUE_TEXT_CACHE_MAX = 10_000
_value_text: dict[float, str] = {}


class WireReading(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One sample as ``devices.payloads.ReadingIn`` describes it."""

    dev: Annotated[str, msgspec.Meta(pattern=_DEVICE_ID)]
    m: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    val: float
    t: AwareTime


class WireReadings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A readings message as ``devices.payloads.ReadingsMessage`` describes it (same field names)."""

    v: Literal[1] = 1
    gw: Annotated[str, msgspec.Meta(pattern=_GATEWAY_ID)]
    boot: Annotated[str, msgspec.Meta(pattern=_BOOT_ID)]
    seq: Annotated[int, msgspec.Meta(ge=0)]
    sent_at: AwareTime
    readings: Annotated[
        list[WireReading], msgspec.Meta(min_length=1, max_length=MAX_READINGS_PER_MESSAGE)
    ]


_decoder = msgspec.json.Decoder(WireReadings)


def decode_readings(topic_name: str, payload: bytes) -> WireReadings | None:
    """The message when it is a valid readings message for this topic; None: ask the codec."""
    if not topic_name.endswith(_READINGS_SUFFIX) or len(payload) > MAX_PAYLOAD_BYTES:
        return None
    parts = topic_name.split("/")
    if len(parts) != 4 or parts[0] != "anxin" or parts[1] != "v1":
        return None
    try:
        message = _decoder.decode(payload)
    except msgspec.DecodeError:
        return None  # the codec names the reason
    return message if message.gw == parts[2] else None


def time_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime, as ``ingest.store.to_ns``."""
    return (moment - _EPOCH) // _MICROSECOND * 1000


def encode_lines(message: WireReadings, received_at: datetime) -> list[str] | None:
    """The line of every reading, byte-equal to ``reading_lines``; None if one is not accepted.

    None means some reading has an unknown measurement or a value out of range: the caller
    takes the slow path, which quarantines exactly those readings with the codec's detail.
    """
    gateway = message.gw
    rx_value = f"rx={time_ns(received_at)}i,value="
    ranges = RANGES
    lines: list[str] = []
    append = lines.append
    for reading in message.readings:
        bounds = ranges.get(reading.m)
        value = reading.val
        if bounds is None or not bounds[0] <= value <= bounds[1]:
            return None  # NaN fails the comparison too, as in Measurement.accepts
        text = _value_text.get(value) if value else None  # 0.0 == -0.0, but "0" != "-0"
        if text is None:
            text = _text_of(value)
        append(
            f"{series_prefix(reading.m, gateway, reading.dev)}{rx_value}{text}"
            f" {(reading.t - _EPOCH) // _MICROSECOND * 1000}"
        )
    return lines


def _text_of(value: float) -> str:
    """The field text of a finite value (in range, so never NaN or infinite), remembered."""
    text = float_field(value)
    assert text is not None, "a value in range is finite"
    if value:
        if len(_value_text) >= VALUE_TEXT_CACHE_MAX:
            _value_text.clear()
        _value_text[value] = text
    return text
