"""Ingest against a real Mosquitto: store, ack, de-duplicate, quarantine, events, status."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import aiomqtt
import pytest

from anxin.localservers import Server
from devices.payloads import EventKind, EventMessage, GatewayState, StatusMessage
from devices.topics import Channel
from devices.values import Event, Reading
from ingest.errors import StoreUnavailableError
from ingest.influx_store import InfluxStore
from ingest.quarantine import SQLiteQuarantine
from ingest.sqlite_store import SQLiteStore
from ingest.store import ReadingStore
from tests.ingest.conftest import T_SENT, FakeGateway, IngestFactory

pytestmark = pytest.mark.mosquitto

HOUR = timedelta(hours=1)
RESEND_ATTEMPTS = 30  # one a second: ingest reconnects within its backoff cap long before


async def _readings_are_stored_and_acked(
    store: ReadingStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    await start_ingest(store, {"gw-a"})
    message = fake_gateway.readings(
        "gw-a",
        [("band-1", "heart_rate", 72.0), ("band-1", "heart_rate", 74.5), ("pir-1", "motion", 1)],
    )
    await fake_gateway.publish("gw-a", Channel.READINGS, message)
    gw, ack = await fake_gateway.next_ack()
    assert (gw, ack.boot, ack.seqs) == ("gw-a", fake_gateway.boot, [message.seq])
    # the ack promises the write has returned: no waiting needed here
    got = await store.recent_readings("gw-a", "band-1", "heart_rate", T_SENT, T_SENT + HOUR)
    assert [r.value for r in got] == [72.0, 74.5]
    assert await store.count_readings() == 3


async def test_readings_are_stored_then_acked(
    sqlite_store: SQLiteStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    await _readings_are_stored_and_acked(sqlite_store, start_ingest, fake_gateway)


@pytest.mark.influxdb
async def test_readings_are_stored_then_acked_influxdb(
    influx_store: InfluxStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    await _readings_are_stored_and_acked(influx_store, start_ingest, fake_gateway)


async def test_redelivered_message_is_stored_once_and_acked_twice(
    store: ReadingStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    ingest = await start_ingest(store, {"gw-a"})
    message = fake_gateway.readings("gw-a", [("pir-1", "motion", 1), ("pir-1", "motion", 0)])
    for _ in range(2):
        await fake_gateway.publish("gw-a", Channel.READINGS, message)
        _, ack = await fake_gateway.next_ack()
        assert ack.seqs == [message.seq]
    assert await store.count_readings() == 2
    stats = ingest.stats
    assert (stats.received, stats.duplicates, stats.written, stats.acked) == (2, 1, 2, 2)


async def test_bad_readings_are_quarantined_and_good_ones_kept(
    store: ReadingStore,
    quarantine: SQLiteQuarantine,
    start_ingest: IngestFactory,
    fake_gateway: FakeGateway,
) -> None:
    """On InfluxDB this is the hot path falling back to the codec for the refused readings."""
    ingest = await start_ingest(store, {"gw-a"})
    message = fake_gateway.readings(
        "gw-a",
        [
            ("band-1", "spo2", 97),
            ("band-1", "spo2", 12),
            ("band-1", "blood_sugar", 5),
            ("band-1", "spo2", 98),
        ],
    )
    await fake_gateway.publish("gw-a", Channel.READINGS, message)
    _, ack = await fake_gateway.next_ack()
    assert ack.seqs == [message.seq]  # fully handled: good ones stored, bad ones quarantined
    got = await store.recent_readings("gw-a", "band-1", "spo2", T_SENT, T_SENT + HOUR)
    assert [r.value for r in got] == [97.0, 98.0]
    assert await quarantine.counts() == {"range": 1, "unknown_measurement": 1}
    kept = {q.reason: q for q in await quarantine.recent(10)}
    assert b'"val":12.0' in kept["range"].payload
    assert kept["range"].topic == "anxin/v1/gw-a/readings"
    assert ingest.stats.rejected == 2


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "json"),
        (b'{"v": 1, "gw": "gw-a"}', "schema"),
    ],
)
async def test_undecodable_messages_are_quarantined_with_reason(
    payload: bytes,
    reason: str,
    sqlite_store: SQLiteStore,
    quarantine: SQLiteQuarantine,
    start_ingest: IngestFactory,
    fake_gateway: FakeGateway,
) -> None:
    await start_ingest(sqlite_store, {"gw-a"})
    await fake_gateway.publish("gw-a", Channel.READINGS, payload)
    marker = fake_gateway.readings("gw-a", [("pir-1", "motion", 1)])
    await fake_gateway.publish("gw-a", Channel.READINGS, marker)
    _, ack = await fake_gateway.next_ack()
    assert ack.seqs == [marker.seq]  # nothing was acked for the bad message
    assert await quarantine.counts() == {reason: 1}
    (kept,) = await quarantine.recent(10)
    assert kept.payload == payload


async def test_payload_gateway_must_match_topic(
    sqlite_store: SQLiteStore,
    quarantine: SQLiteQuarantine,
    start_ingest: IngestFactory,
    fake_gateway: FakeGateway,
) -> None:
    await start_ingest(sqlite_store, {"gw-a", "gw-b"})
    await fake_gateway.publish(
        "gw-b", Channel.READINGS, fake_gateway.readings("gw-a", [("p", "motion", 1)])
    )
    marker = fake_gateway.readings("gw-a", [("pir-1", "motion", 1)])
    await fake_gateway.publish("gw-a", Channel.READINGS, marker)
    assert (await fake_gateway.next_ack())[1].seqs == [marker.seq]
    assert await quarantine.counts() == {"gateway_mismatch": 1}
    assert await sqlite_store.count_readings() == 1


async def test_unknown_gateway_is_quarantined_and_not_acked(
    sqlite_store: SQLiteStore,
    quarantine: SQLiteQuarantine,
    start_ingest: IngestFactory,
    fake_gateway: FakeGateway,
) -> None:
    await start_ingest(sqlite_store, {"gw-a"})
    await fake_gateway.publish(
        "gw-x", Channel.READINGS, fake_gateway.readings("gw-x", [("p", "motion", 1)])
    )
    marker = fake_gateway.readings("gw-a", [("pir-1", "motion", 1)])
    await fake_gateway.publish("gw-a", Channel.READINGS, marker)
    gw, ack = await fake_gateway.next_ack()
    assert (gw, ack.seqs) == ("gw-a", [marker.seq])  # the first ack seen is the known gateway's
    assert await quarantine.counts() == {"unknown_gateway": 1}
    assert await sqlite_store.last_seen("gw-x") == {}


async def test_event_is_stored_and_acked(
    sqlite_store: SQLiteStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    await start_ingest(sqlite_store, {"gw-a"})
    message = EventMessage(
        gw="gw-a",
        boot=fake_gateway.boot,
        seq=fake_gateway.next_seq(),
        sent_at=T_SENT,
        id="ev-0123456789",
        kind=EventKind.FALL,
        dev="band-1",
        t=T_SENT,
        data={"confidence": 0.97},
    )
    await fake_gateway.publish("gw-a", Channel.EVENTS, message)
    _, ack = await fake_gateway.next_ack()
    assert ack.seqs == [message.seq]
    (stored,) = await sqlite_store.events("gw-a", T_SENT)
    assert (stored.event_id, stored.kind, stored.device, stored.data) == (
        "ev-0123456789",
        "fall",
        "band-1",
        {"confidence": 0.97},
    )


async def test_event_is_not_held_back_by_a_readings_batch(
    sqlite_store: SQLiteStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    # a batch that closes only after a minute: the event must still be acked at once
    await start_ingest(sqlite_store, {"gw-a"}, batch_max_age_s=60.0)
    readings = fake_gateway.readings("gw-a", [("pir-1", "motion", 1)])
    await fake_gateway.publish("gw-a", Channel.READINGS, readings)
    event = EventMessage(
        gw="gw-a",
        boot=fake_gateway.boot,
        seq=fake_gateway.next_seq(),
        sent_at=T_SENT,
        id="ev-call-000001",
        kind=EventKind.CALL_BUTTON,
        dev="btn-1",
        t=T_SENT,
    )
    await fake_gateway.publish("gw-a", Channel.EVENTS, event)
    _, ack = await fake_gateway.next_ack()
    assert ack.seqs == [event.seq]
    assert await sqlite_store.count_readings() == 0  # the readings are still in their batch


async def test_status_is_kept_in_memory_and_not_acked(
    sqlite_store: SQLiteStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    ingest = await start_ingest(sqlite_store, {"gw-a"})
    status = StatusMessage(
        gw="gw-a", boot=fake_gateway.boot, state=GatewayState.ONLINE, t=T_SENT, outbox_depth=3
    )
    await fake_gateway.publish("gw-a", Channel.STATUS, status)
    marker = fake_gateway.readings("gw-a", [("pir-1", "motion", 1)])
    await fake_gateway.publish("gw-a", Channel.READINGS, marker)
    assert (await fake_gateway.next_ack())[1].seqs == [marker.seq]
    assert ingest.gateway_status["gw-a"] == status


async def test_batch_collects_several_messages_into_one_ack(
    sqlite_store: SQLiteStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    await start_ingest(sqlite_store, {"gw-a"}, batch_max_readings=3, batch_max_age_s=60.0)
    messages = [fake_gateway.readings("gw-a", [("pir-1", "motion", 1)]) for _ in range(3)]
    for message in messages:
        await fake_gateway.publish("gw-a", Channel.READINGS, message)
    _, ack = await fake_gateway.next_ack()
    assert ack.seqs == [m.seq for m in messages]  # closed by size, long before its age


class FlakyStore:
    """The real SQLite store, but reading writes fail as if the server were down until healed."""

    def __init__(self, inner: SQLiteStore, failures_before_signal: int = 2) -> None:
        self._inner = inner
        self.heal = asyncio.Event()
        self.failed = asyncio.Event()  # set once the write has failed (and been retried) enough
        self.failures = 0
        self._signal_at = failures_before_signal

    async def write_readings(self, readings: Sequence[Reading]) -> None:
        if not self.heal.is_set():
            self.failures += 1
            if self.failures >= self._signal_at:
                self.failed.set()
            raise StoreUnavailableError("injected outage")
        await self._inner.write_readings(readings)

    async def write_events(self, events: Sequence[Event]) -> None:
        await self._inner.write_events(events)

    async def recent_readings(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> list[Reading]:
        return await self._inner.recent_readings(gateway, device, measurement, since, until)

    async def last_seen(self, gateway: str) -> dict[str, datetime]:
        return await self._inner.last_seen(gateway)

    async def last_activity(self, gateways: Sequence[str], until: datetime) -> dict[str, datetime]:
        return await self._inner.last_activity(gateways, until)

    async def events(self, gateway: str, since: datetime) -> list[Event]:
        return await self._inner.events(gateway, since)

    async def count_readings(self) -> int:
        return await self._inner.count_readings()

    async def close(self) -> None:
        await self._inner.close()


async def test_nothing_is_acked_while_the_store_fails(
    sqlite_store: SQLiteStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    flaky = FlakyStore(sqlite_store)
    ingest = await start_ingest(flaky, {"gw-a"})
    message = fake_gateway.readings("gw-a", [("pir-1", "motion", 1)])
    await fake_gateway.publish("gw-a", Channel.READINGS, message)
    async with asyncio.timeout(10):
        await flaky.failed.wait()  # failed and retried: an early ack would have arrived by now
    assert fake_gateway.acks.empty()
    flaky.heal.set()
    _, ack = await fake_gateway.next_ack()
    assert ack.seqs == [message.seq]
    assert await sqlite_store.count_readings() == 1
    assert ingest.stats.store_failures >= 2


@pytest.mark.slow
async def test_ingest_reconnects_after_broker_restart(
    mosquitto_server: Server, sqlite_store: SQLiteStore, start_ingest: IngestFactory
) -> None:
    ingest = await start_ingest(sqlite_store, {"gw-a"})
    await asyncio.to_thread(mosquitto_server.restart)
    async with aiomqtt.Client(
        "127.0.0.1", mosquitto_server.port, identifier="fake-restart"
    ) as client:
        await client.subscribe("anxin/v1/gw-a/ack", qos=1)
        gateway = FakeGateway(client, boot="bootrestart")
        collector = asyncio.create_task(gateway._collect())
        message = gateway.readings("gw-a", [("pir-1", "motion", 1)])
        # as a real gateway does: resend until acked (ingest may still be reconnecting)
        ack = None
        for _ in range(RESEND_ATTEMPTS):
            await gateway.publish("gw-a", Channel.READINGS, message)
            with contextlib.suppress(TimeoutError):
                ack = (await gateway.next_ack(wait_s=1.0))[1]
                break
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
    assert ack is not None
    assert ack.seqs == [message.seq]
    assert ingest.ready.is_set()
    assert await sqlite_store.count_readings() == 1


async def test_a_full_queue_holds_back_reading_but_loses_nothing(
    sqlite_store: SQLiteStore, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    flaky = FlakyStore(sqlite_store)
    ingest = await start_ingest(flaky, {"gw-a"}, queue_max_messages=1, batch_max_readings=1)
    messages = [fake_gateway.readings("gw-a", [(f"pir-{i}", "motion", i % 2)]) for i in range(20)]
    for message in messages:
        await fake_gateway.publish("gw-a", Channel.READINGS, message)
    async with asyncio.timeout(10):
        await flaky.failed.wait()
    assert ingest.stats.received < len(messages)  # the reader stopped at the full queue
    flaky.heal.set()
    acked: list[int] = []
    while len(acked) < len(messages):
        acked.extend((await fake_gateway.next_ack())[1].seqs)
    assert sorted(acked) == [m.seq for m in messages]
    assert await sqlite_store.count_readings() == len(messages)
