"""Downsampling a stored readings message when the outbox runs short of room (pure, no I/O).

The first step of the outbox's budget policy: before anything is dropped, old readings lose
resolution. For a state (binary measurement) only the changes are kept — a door that stayed open
still reads as open; for gauges and counters every second sample of each (device, measurement)
series is kept, counters summed into the kept sample so totals (steps) stay right.
The message keeps its (boot, seq): ingest treats a thinned redelivery as the same message.
"""

from __future__ import annotations

from collections import defaultdict

from devices.catalog import MEASUREMENTS, ValueKind
from devices.codec import decode_as, encode
from devices.errors import DecodeError
from devices.payloads import ReadingIn, ReadingsMessage


def thin_readings(readings: list[ReadingIn]) -> list[ReadingIn]:
    """About half the readings (fewer for steady states), in the original order."""
    series: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(readings):
        series[(r.dev, r.m)].append(i)
    keep: dict[int, ReadingIn] = {}
    for (_, m), idx in series.items():
        row = MEASUREMENTS.get(m)
        kind = row.value_kind if row is not None else ValueKind.GAUGE
        if kind is ValueKind.BINARY:
            last: float | None = None
            for i in idx:
                if readings[i].val != last:
                    keep[i] = readings[i]
                last = readings[i].val
        elif kind is ValueKind.COUNTER:
            for a in range(0, len(idx), 2):
                pair = idx[a : a + 2]
                total = sum(readings[i].val for i in pair)
                high = row.high if row is not None else total
                keep[pair[-1]] = readings[pair[-1]].model_copy(update={"val": min(total, high)})
        else:
            for a in range(0, len(idx), 2):
                keep[idx[a]] = readings[idx[a]]
    return [keep[i] for i in sorted(keep)]


def thin_payload(payload: bytes) -> bytes | None:
    """The payload of a readings message with thinned readings, or None if it cannot shrink."""
    try:
        message = decode_as(ReadingsMessage, payload)
    except DecodeError:
        return None  # not a readings message: nothing we know how to thin
    kept = thin_readings(message.readings)
    if len(kept) >= len(message.readings) or not kept:
        return None
    return encode(message.model_copy(update={"readings": kept}))


def readings_span(payload: bytes) -> tuple[int, str | None, str | None]:
    """(number of readings, first and last reading time as ISO text) of a readings payload."""
    try:
        message = decode_as(ReadingsMessage, payload)
    except DecodeError:
        return (0, None, None)
    times = [r.t for r in message.readings]
    return (len(times), min(times).isoformat(), max(times).isoformat())
