"""The fast encoder writes exactly what influxdb_client's Point writes, for any tags and values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from devices.values import Reading
from ingest.line_protocol import reading_line, reading_lines
from ingest.store import to_ns

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

texts = st.text(min_size=0, max_size=20)
# printable names InfluxDB accepts, plus the characters that need escaping and a few odd ones
awkward = st.text(
    alphabet=st.sampled_from(list("ab1_-.:=, \\\"'\n\t\r#é中")) | st.characters(), max_size=20
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
# Point warns (and InfluxDB reads a comment) for a leading "#"; catalog keys never start with one
measurements = (texts | awkward).filter(lambda name: not name.startswith("#"))
values = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**6), 10**6).map(float)


def point_line(reading: Reading) -> str:
    """The reference: the line influxdb_client's Point writes for a reading."""
    point = (
        Point(reading.measurement)  # type: ignore[no-untyped-call]
        .tag("gw", reading.gateway)
        .tag("dev", reading.device)
        .field("value", float(reading.value))
        .field("rx", to_ns(reading.received_at))
        .time(to_ns(reading.time), WritePrecision.NS)
    )
    line: str = point.to_line_protocol()
    return line


@settings(max_examples=500, deadline=None)
@given(
    measurement=measurements,
    gateway=texts | awkward,
    device=texts | awkward,
    value=values,
    time=moments,
    rx=moments,
)
def test_reading_line_is_byte_equal_to_point(
    measurement: str, gateway: str, device: str, value: float, time: datetime, rx: datetime
) -> None:
    reading = Reading(gateway, device, measurement, value, time, rx)
    # surrogatepass: arbitrary text includes lone surrogates, which strict UTF-8 cannot encode
    ours = reading_line(reading).encode("utf-8", "surrogatepass")
    assert ours == point_line(reading).encode("utf-8", "surrogatepass")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(awkward, awkward, st.sampled_from(["motion", "heart_rate"]), values, moments),
        max_size=30,
    ),
    moments,
)
def test_reading_lines_of_a_batch_equal_point_line_by_line(
    items: list[tuple[str, str, str, float, datetime]], rx: datetime
) -> None:
    readings = [Reading(gw, dev, m, v, t, rx) for gw, dev, m, v, t in items]
    # a second receive time in the middle: the cached conversion must follow it
    readings += [Reading("gw", "dev", "motion", 1.0, rx, rx + timedelta(seconds=1))]
    assert reading_lines(readings) == [point_line(r) for r in readings]


def test_example_line() -> None:
    reading = Reading(
        "gw-0001",
        "band-1",
        "heart_rate",
        72.5,
        datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 8, 0, 1, tzinfo=UTC),
    )
    assert reading_line(reading) == (
        "heart_rate,dev=band-1,gw=gw-0001 rx=1714550401000000000i,value=72.5 1714550400000000000"
    )
