"""The production time-series store: InfluxDB through the 1.x HTTP API (/write, InfluxQL /query).

Reading lines are encoded by ``ingest.line_protocol`` (proved byte-equal to influxdb_client's
``Point``), event lines by ``Point`` itself; influxdb_client's write and query APIs are not used
because they speak Flux and /api/v2/write, which InfluxDB 1.x lacks and 3.x dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from devices.values import Event, Reading
from ingest.errors import StoreError, StoreUnavailableError
from ingest.line_protocol import reading_line, reading_lines
from ingest.queries import (
    BED_MEASUREMENT,
    OccupancySpan,
    RoomHour,
    TrendPoint,
    bucket_ns,
    half_open,
    occupancy_spans,
    room_hours,
)
from ingest.retention import Retention, RetentionReport
from ingest.store import (
    ACTIVITY_FROM,
    READING_MEASUREMENTS,
    ROOM_ACTIVITY_FROM,
    check_measurements,
    from_ns,
    to_ns,
)

log = logging.getLogger(__name__)

EVENT_MEASUREMENT = "event"
WRITE_CHUNK_POINTS = 5_000  # InfluxDB's recommended batch size per /write request
WRITE_CONCURRENCY = 2  # requests in flight per write: one per core of the node measured
GATEWAYS_PER_QUERY = 200  # keeps a last_activity query's WHERE clause a sensible length
# last_activity looks back this far first (most homes were active in the last hours), then wider
LAST_ACTIVITY_WINDOWS: tuple[timedelta | None, ...] = (
    timedelta(hours=6),
    timedelta(days=2),
    timedelta(days=14),
    None,
)
HTTP_TIMEOUT_S = 30.0  # a large write to a busy server can take seconds; never hang forever

Row = dict[str, Any]


class InfluxStore:
    """ReadingStore on an InfluxDB 1.x database (also 2.x/3.x v1-compatibility endpoints)."""

    def __init__(self, client: httpx.AsyncClient, database: str) -> None:
        self._client = client
        self._db = database
        self._created = False

    @classmethod
    async def open(cls, url: str, database: str) -> InfluxStore:
        """Connect to ``url`` and create ``database`` if it does not exist.

        A server that cannot be reached now (down, restarting: StoreUnavailableError) does not
        stop the caller from starting — the fall path of ``anxin up`` must not wait for the
        time-series store: the database is created before the first write or query that reaches
        the server, and until then those raise StoreUnavailableError (ingest keeps the readings
        unacknowledged and retries). Any other error (refused, not InfluxDB) is raised here.
        """
        client = httpx.AsyncClient(base_url=url, timeout=HTTP_TIMEOUT_S)
        store = cls(client, database)
        unreachable: StoreUnavailableError | None = None
        try:
            await store._ensure_database()
        except StoreUnavailableError as err:
            unreachable = err
        except StoreError:
            await client.aclose()
            raise
        if unreachable is not None:  # expected while InfluxDB starts: no traceback
            log.error("store_unreachable kind=influxdb url=%s error=%s", url, unreachable)
        else:
            log.info("store_opened kind=influxdb url=%s database=%s", url, database)
        return store

    async def _ensure_database(self) -> None:
        if not self._created:
            await self._query("POST", f"CREATE DATABASE {ident(self._db)}")
            self._created = True

    async def write_readings(self, readings: Sequence[Reading]) -> None:
        """Write readings; a point with the same series and time is overwritten by InfluxDB."""
        check_measurements(readings)
        await self.write_reading_lines(reading_lines(readings))

    async def write_reading_lines(self, lines: Sequence[str]) -> None:
        """Write readings already encoded by ``reading_lines`` (or the proven-equal hot path)."""
        await self._write(lines)

    async def write_events(self, events: Sequence[Event]) -> None:
        """Write events; ``id`` is a tag, so a rewrite hits the same series and time."""
        await self._write(event_line(e) for e in events)

    async def recent_readings(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> list[Reading]:
        """Readings of one device and measurement with since <= time <= until, ascending time."""
        rows = await self._select(
            f'SELECT "value", "rx" FROM {ident(measurement)} WHERE "gw" = {literal(gateway)}'
            f' AND "dev" = {literal(device)} AND time >= {to_ns(since)} AND time <= {to_ns(until)}'
            " ORDER BY time ASC"
        )
        return [
            Reading(
                gateway,
                device,
                measurement,
                float(r["value"]),
                from_ns(r["time"]),
                from_ns(r["rx"]),
            )
            for r in rows
        ]

    async def last_seen(self, gateway: str) -> dict[str, datetime]:
        """Device id -> time of its latest reading, for one gateway."""
        rows = await self._select(
            f'SELECT last("value") FROM {",".join(map(ident, READING_MEASUREMENTS))}'
            f' WHERE "gw" = {literal(gateway)} GROUP BY "dev"'
        )
        return _latest_by(rows, "dev")

    async def last_activity(self, gateways: Sequence[str], until: datetime) -> dict[str, datetime]:
        """Gateway -> time of its latest activity reading (value >= ``activity_from``: 1, steps
        10) at or before ``until``.

        ``value >= 1`` is a field filter, which InfluxDB answers by reading every point in the
        time range; so look back in widening windows and ask the wider ones only for gateways
        not found yet (a latest activity within a window is the latest of all).
        """
        found: dict[str, datetime] = {}
        missing = list(dict.fromkeys(gateways))
        for window in LAST_ACTIVITY_WINDOWS:
            since = None if window is None else until - window
            for start in range(0, len(missing), GATEWAYS_PER_QUERY):
                found.update(
                    await self._last_activity_of(
                        missing[start : start + GATEWAYS_PER_QUERY], since, until
                    )
                )
            missing = [gw for gw in missing if gw not in found]
            if not missing:
                break
        return found

    async def _last_activity_of(
        self, gateways: Sequence[str], since: datetime | None, until: datetime
    ) -> dict[str, datetime]:
        which = " OR ".join(f'"gw" = {literal(gw)}' for gw in gateways)
        after = "" if since is None else f" AND time >= {to_ns(since)}"
        latest: dict[str, datetime] = {}
        for level, names in ACTIVITY_FROM:  # one field filter per query: a query per level
            rows = await self._select(
                f'SELECT last("value") FROM {",".join(map(ident, names))} WHERE ({which})'
                f' AND "value" >= {level!r}{after} AND time <= {to_ns(until)} GROUP BY "gw"'
            )
            for gw, at in _latest_by(rows, "gw").items():
                latest[gw] = max(at, latest.get(gw, at))
        return latest

    async def events(self, gateway: str, since: datetime) -> list[Event]:
        """Events of one gateway with time >= since, ascending time."""
        rows = await self._select(
            f'SELECT "id", "kind", "dev", "data", "rx" FROM {ident(EVENT_MEASUREMENT)}'
            f' WHERE "gw" = {literal(gateway)} AND time >= {to_ns(since)}'
        )
        rows.sort(key=lambda r: (r["time"], r["id"]))
        return [
            Event(
                r["id"],
                gateway,
                r["dev"],
                r["kind"],
                from_ns(r["time"]),
                from_ns(r["rx"]),
                json.loads(r["data"]),
            )
            for r in rows
        ]

    async def count_readings(self) -> int:
        """How many reading points the store holds."""
        rows = await self._select(
            f'SELECT count("value") FROM {",".join(map(ident, READING_MEASUREMENTS))}'
        )
        return sum(int(r["count"]) for r in rows)

    async def activity_per_room_hour(
        self, gateway: str, rooms: Mapping[str, str], since: datetime, until: datetime
    ) -> list[RoomHour]:
        """Activity readings (value >= ``activity_from``) per room (device -> room) per UTC hour,
        since <= t < until."""
        low, high = half_open(since, until)
        rows = [
            row
            for level, names in ROOM_ACTIVITY_FROM
            for row in await self._select(
                f'SELECT count("value") FROM {",".join(map(ident, names))}'
                f' WHERE "gw" = {literal(gateway)} AND "value" >= {level!r} AND time >= {low}'
                f' AND time < {high} GROUP BY time(1h), "dev" fill(none)'
            )
        ]
        return room_hours(((r["dev"], r["time"], int(r["count"])) for r in rows), rooms)

    async def bed_occupancy_spans(
        self, gateway: str, since: datetime, until: datetime
    ) -> list[OccupancySpan]:
        """Spans of ``bed_occupied`` = 1 per bed device from readings with since <= t <= until."""
        rows = await self._select(
            f'SELECT "value", "rx" FROM {ident(BED_MEASUREMENT)} WHERE "gw" = {literal(gateway)}'
            f' AND time >= {to_ns(since)} AND time <= {to_ns(until)} GROUP BY "dev"'
        )
        return occupancy_spans(
            Reading(
                gateway,
                r["dev"],
                BED_MEASUREMENT,
                float(r["value"]),
                from_ns(r["time"]),
                from_ns(r["rx"]),
            )
            for r in rows
        )

    async def vitals_trend(
        self,
        gateway: str,
        device: str,
        measurement: str,
        since: datetime,
        until: datetime,
        bucket: timedelta,
    ) -> list[TrendPoint]:
        """Mean/min/max/count per epoch-aligned bucket with since <= t < until; empty ones left out."""
        seconds = bucket_ns(bucket) // 1_000_000_000
        low, high = half_open(since, until)
        rows = await self._select(
            'SELECT mean("value"), min("value"), max("value"), count("value")'
            f' FROM {ident(measurement)} WHERE "gw" = {literal(gateway)}'
            f' AND "dev" = {literal(device)} AND time >= {low} AND time < {high}'
            f" GROUP BY time({seconds}s) fill(none)"
        )
        return [_trend(r, "mean", "min", "max", "count") for r in rows]

    async def rollups(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> list[TrendPoint]:
        """Hourly rollups kept by retention, with since <= hour start < until."""
        low, high = half_open(since, until)
        rows = await self._select(
            f'SELECT "mean", "low", "high", "count" FROM {ident(rollup_measurement(measurement))}'
            f' WHERE "gw" = {literal(gateway)} AND "dev" = {literal(device)}'
            f" AND time >= {low} AND time < {high} ORDER BY time ASC"
        )
        return [_trend(r, "mean", "low", "high", "count") for r in rows]

    async def apply_retention(
        self, now: datetime, policies: Mapping[str, Retention]
    ) -> RetentionReport:
        """Roll expiring raw points up into hours, then delete them and expired rollups."""
        from ingest.influx_retention import apply_retention  # that module imports this one

        return await apply_retention(self, now, policies)

    async def select(self, q: str) -> list[Row]:
        """Run one InfluxQL read statement (for ingest's own modules); rows with tags merged in."""
        return await self._select(q)

    async def execute(self, q: str) -> None:
        """Run one InfluxQL statement that changes data (DELETE, DROP …)."""
        await self._post_query(q)

    async def write_lines(self, lines: Iterable[str]) -> None:
        """Write pre-encoded line protocol in chunks."""
        await self._write(lines)

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()
        log.info("store_closed kind=influxdb database=%s", self._db)

    async def _write(self, lines: Iterable[str]) -> None:
        """POST in chunks, a few at a time (InfluxDB writes concurrent requests in parallel)."""
        chunks: list[list[str]] = []
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= WRITE_CHUNK_POINTS:
                chunks.append(chunk)
                chunk = []
        if chunk:
            chunks.append(chunk)
        if len(chunks) == 1:
            await self._post_write(chunks[0])
            return
        slots = asyncio.Semaphore(WRITE_CONCURRENCY)

        async def post(part: list[str]) -> None:
            async with slots:
                await self._post_write(part)

        try:
            async with asyncio.TaskGroup() as tg:
                for part in chunks:
                    tg.create_task(post(part))
        except* StoreError as group:
            # one failed chunk fails the write; the caller retries it all (points are idempotent)
            raise group.exceptions[0] from group

    async def _post_write(self, lines: list[str]) -> None:
        await self._ensure_database()
        body = "\n".join(lines).encode()
        await self._request("POST", "/write", {"db": self._db, "precision": "ns"}, body)

    async def _post_query(self, q: str) -> list[Row]:
        await self._ensure_database()
        return await self._query("POST", q)

    async def _select(self, q: str) -> list[Row]:
        await self._ensure_database()
        return await self._query("GET", q)

    async def _query(self, method: str, q: str) -> list[Row]:
        """Run one InfluxQL statement; rows of every series, each with its tags merged in."""
        params = {"db": self._db, "q": q, "epoch": "ns"}
        response = await self._request(method, "/query", params, None)
        try:
            body = response.json()
        except ValueError as err:
            raise StoreError(f"influxdb: unreadable query response: {err}") from err
        rows: list[Row] = []
        for result in body.get("results", []):
            if "error" in result:
                raise StoreError(f"influxdb: {result['error']} in {q!r}")
            for series in result.get("series", []):
                tags = series.get("tags", {})
                for values in series.get("values", []):
                    rows.append({**tags, **dict(zip(series["columns"], values, strict=True))})
        return rows

    async def _request(
        self, method: str, path: str, params: dict[str, str], body: bytes | None
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, path, params=params, content=body)
        except httpx.TransportError as err:
            raise StoreUnavailableError(f"influxdb {path}: {err!r}") from err
        except httpx.HTTPError as err:
            raise StoreError(f"influxdb {path}: {err!r}") from err
        if response.status_code >= 500:
            raise StoreUnavailableError(f"influxdb {path}: {response.status_code} {response.text}")
        if response.status_code >= 400:
            raise StoreError(f"influxdb {path}: {response.status_code} {response.text}")
        return response


__all__ = [
    "InfluxStore",
    "event_line",
    "ident",
    "literal",
    "point_line",
    "reading_line",
    "rollup_measurement",
]


def rollup_measurement(measurement: str) -> str:
    """Where the hourly rollups of a measurement live."""
    return f"{measurement}_1h"


def _trend(row: Row, mean: str, low: str, high: str, count: str) -> TrendPoint:
    return TrendPoint(
        from_ns(row["time"]),
        float(row[mean]),
        float(row[low]),
        float(row[high]),
        int(row[count]),
    )


def event_line(event: Event) -> str:
    """The line protocol of one event: measurement ``event``, tags gw/kind/id, fields dev/data/rx."""
    return point_line(
        EVENT_MEASUREMENT,
        {"gw": event.gateway, "kind": event.kind, "id": event.event_id},
        {
            "dev": event.device,
            "data": json.dumps(event.data, sort_keys=True),
            "rx": to_ns(event.received_at),
        },
        to_ns(event.time),
    )


def point_line(
    measurement: str, tags: dict[str, str], fields: dict[str, str | float | int], time_ns: int
) -> str:
    """Line protocol by influxdb_client's Point (whose builder methods are untyped)."""
    point = Point(measurement)  # type: ignore[no-untyped-call]
    for key, tag in tags.items():
        point = point.tag(key, tag)  # type: ignore[no-untyped-call]
    for key, field in fields.items():
        point = point.field(key, field)  # type: ignore[no-untyped-call]
    point = point.time(time_ns, WritePrecision.NS)  # type: ignore[no-untyped-call]
    line: str = point.to_line_protocol()
    return line


def ident(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    """An InfluxQL single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _latest_by(rows: list[Row], tag: str) -> dict[str, datetime]:
    """Tag value -> the latest ``time`` among rows (one row per measurement and tag value)."""
    latest: dict[str, int] = {}
    for row in rows:
        key = row.get(tag)
        if key:
            latest[key] = max(latest.get(key, row["time"]), row["time"])
    return {key: from_ns(t) for key, t in latest.items()}
