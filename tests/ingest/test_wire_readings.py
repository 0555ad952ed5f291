"""The msgspec hot path decides as the pydantic codec does, and writes the very same lines.

Differential tests: Hypothesis builds readings payloads near and across the schema's edges
(patterns, lengths, aware/naive/odd timestamps, numbers of every JSON kind, unknown and missing
fields, broken JSON) and the hot path is compared with ``devices.codec.decode_uplink``.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from devices.catalog import MEASUREMENTS
from devices.codec import decode_uplink
from devices.errors import DecodeError
from devices.payloads import ReadingsMessage
from ingest.decoding import decode
from ingest.line_protocol import reading_lines
from ingest.validation import split_readings
from ingest.wire_readings import WireReadings, decode_readings, encode_lines
from tests.ingest.test_line_protocol import point_line

TOPIC_GW = "gw-1"

ids = st.sampled_from(["gw-1", "band-1", "pir:2", "a.b_c-d", "x" * 64]) | st.text(
    alphabet=st.sampled_from(list("ab1_-.:/ \n\t\\é")), min_size=0, max_size=66
)
digits = st.integers(0, 9).map(str)
fractions = st.sampled_from(["", ".5", ".123456", ".1234567", ".123456789", ".", ".12a"])
zones = st.sampled_from(["Z", "z", "+00:00", "+08:00", "-05:30", "", "+0800", "+24:00", " UTC"])
dates = st.sampled_from(
    ["2024-05-01", "2024-02-29", "2023-02-29", "2024-13-01", "1969-12-31", "9999-12-31", "2024-5-1"]
)
clocks = st.sampled_from(["00:00:00", "23:59:59", "23:59:60", "24:00:00", "12:30", "7:00:00"])
separators = st.sampled_from(["T", "t", " ", "_"])
timestamps: st.SearchStrategy[Any] = (
    st.builds(lambda d, s, c, f, z: d + s + c + f + z, dates, separators, clocks, fractions, zones)
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.none()
    | st.text(max_size=30)
    | st.datetimes(timezones=st.just(UTC) | st.none()).map(datetime.isoformat)
)
in_range = st.sampled_from(sorted(MEASUREMENTS)).flatmap(
    lambda m: st.tuples(
        st.just(m),
        st.floats(MEASUREMENTS[m].low, MEASUREMENTS[m].high) | st.just(-0.0),
    )
)
numbers: st.SearchStrategy[Any] = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**20), 10**20)
    | st.booleans()
    | st.sampled_from(["72", "1.5", "nan", None])
)
measurement_keys = st.sampled_from(sorted(MEASUREMENTS)) | st.text(max_size=34)


@st.composite
def reading_items(draw: st.DrawFn) -> dict[str, Any]:
    """One reading object, mostly valid, sometimes off in one or more fields."""
    m, val = draw(in_range)
    item: dict[str, Any] = {"dev": "band-1", "m": m, "val": val, "t": "2024-05-01T08:00:00.25Z"}
    if draw(st.booleans()):
        item["dev"] = draw(ids)
    if draw(st.booleans()):
        item["m"] = draw(measurement_keys)
    if draw(st.booleans()):
        item["val"] = draw(numbers)
    if draw(st.booleans()):
        item["t"] = draw(timestamps)
    if draw(st.integers(0, 9)) == 0:
        item["extra"] = 1
    if draw(st.integers(0, 9)) == 0:
        del item[draw(st.sampled_from(sorted(item)))]
    return item


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """A readings payload for topic gw-1, mostly valid, sometimes off in any field or its JSON."""
    body: dict[str, Any] = {
        "v": 1,
        "gw": TOPIC_GW,
        "boot": "boot-1",
        "seq": 7,
        "sent_at": "2024-05-01T08:00:01Z",
        "readings": draw(st.lists(reading_items(), min_size=0, max_size=6)),
    }
    if draw(st.booleans()):
        body["gw"] = draw(ids)
    if draw(st.booleans()):
        body["boot"] = draw(ids)
    if draw(st.booleans()):
        body["seq"] = draw(numbers)
    if draw(st.booleans()):
        body["sent_at"] = draw(timestamps)
    if draw(st.integers(0, 5)) == 0:
        body["v"] = draw(st.sampled_from([0, 2, 1.0, True, "1", None]))
    if draw(st.integers(0, 9)) == 0:
        del body[draw(st.sampled_from(sorted(body)))]
    if draw(st.integers(0, 9)) == 0:
        body["unknown"] = "x"
    raw = json.dumps(body, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    cut = draw(st.integers(0, 19))
    return raw[: len(raw) - cut] if cut < 3 else raw  # sometimes broken JSON


def _outcome(result: Any) -> Any:
    """What a decode returned or raised, comparable across decoders."""
    if isinstance(result, DecodeError):
        return ("rejected", result.reason, result.detail)
    gateway, message = result
    # as JSON text: NaN != NaN would make equal messages unequal
    return ("accepted", gateway, message.model_dump_json())


def _try(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except DecodeError as err:
        return err


def _same_time(a: datetime, b: datetime) -> bool:
    return a == b and a.utcoffset() == b.utcoffset()


def _assert_same_message(fast: WireReadings, ref: ReadingsMessage) -> None:
    assert (fast.v, fast.gw, fast.boot, fast.seq) == (ref.v, ref.gw, ref.boot, ref.seq)
    assert _same_time(fast.sent_at, ref.sent_at)
    assert len(fast.readings) == len(ref.readings)
    for ours, theirs in zip(fast.readings, ref.readings, strict=True):
        assert (ours.dev, ours.m) == (theirs.dev, theirs.m)
        assert type(ours.val) is float
        assert type(theirs.val) is float
        assert ours.val == theirs.val or (math.isnan(ours.val) and math.isnan(theirs.val))
        assert math.copysign(1, ours.val) == math.copysign(1, theirs.val)
        assert _same_time(ours.t, theirs.t)


@settings(max_examples=1000, deadline=None)
@given(payloads())
@example(b'{"gw":"gw-1","boot":"b","seq":1,"sent_at":"2024-05-01T00:00:00Z","readings":[]}')
@example(
    b'{"gw":"gw-1","boot":"b","seq":1,"sent_at":"2024-05-01T00:00:00Z",'
    b'"readings":[{"dev":"d\\n","m":"motion","val":1,"t":"2024-05-01T00:00:00Z"}]}'
)
def test_hot_path_decides_as_the_codec(payload: bytes) -> None:
    """Accepted by the hot path => accepted by the codec with equal values; else same outcome."""
    topic_name = f"anxin/v1/{TOPIC_GW}/readings"
    result = _try(decode_uplink, topic_name, payload)
    reference = _outcome(result)
    fast = decode_readings(topic_name, payload)
    if fast is not None:
        assert reference[0] == "accepted", reference
        assert isinstance(result[1], ReadingsMessage)
        _assert_same_message(fast, result[1])
    else:
        # what the hot path leaves to the fallback gets the codec's own outcome and reason
        assert _outcome(_try(decode, topic_name, payload)) == reference


@settings(max_examples=500, deadline=None)
@given(payloads(), st.datetimes(timezones=st.just(UTC)))
def test_hot_path_lines_equal_the_slow_path_and_point(payload: bytes, rx: datetime) -> None:
    """Same accepted readings, same lines (same point identity), byte for byte as Point."""
    topic_name = f"anxin/v1/{TOPIC_GW}/readings"
    fast = decode_readings(topic_name, payload)
    if fast is None:
        return
    _, slow = decode_uplink(topic_name, payload)
    assert isinstance(slow, ReadingsMessage)
    good, bad = split_readings(topic_name, slow, rx)
    lines = encode_lines(fast, rx)
    if bad:
        assert lines is None  # the slow path quarantines exactly those readings
    else:
        assert lines == reading_lines(good)
        assert lines == [point_line(r) for r in good]


def test_messages_with_a_refused_reading_go_the_slow_way() -> None:
    body = {
        "gw": TOPIC_GW,
        "boot": "b",
        "seq": 1,
        "sent_at": "2024-05-01T00:00:00Z",
        "readings": [
            {"dev": "d", "m": "spo2", "val": 97, "t": "2024-05-01T00:00:00Z"},
            {"dev": "d", "m": "spo2", "val": 12, "t": "2024-05-01T00:00:01Z"},
        ],
    }
    fast = decode_readings(f"anxin/v1/{TOPIC_GW}/readings", json.dumps(body).encode())
    assert fast is not None
    assert encode_lines(fast, datetime(2024, 5, 1, tzinfo=UTC)) is None
    assert decode_readings(f"anxin/v1/{TOPIC_GW}/events", json.dumps(body).encode()) is None
    assert decode_readings("anxin/v1/other/readings", json.dumps(body).encode()) is None
