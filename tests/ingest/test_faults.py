"""Fault tests on real processes: InfluxDB killed and restarted, a write that timed out after it
succeeded, an ingest worker SIGKILLed mid-stream. Each ends with 0 lost and 0 duplicated."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from anxin import localservers
from anxin.bench.ingest import DATABASE, WorkerSpec, worker_main
from anxin.bench.load import readings_payload
from anxin.localservers import Server
from devices.topics import Channel
from ingest.errors import StoreUnavailableError
from ingest.influx_store import InfluxStore
from tests.ingest.conftest import FakeGateway, IngestFactory

pytestmark = [pytest.mark.mosquitto, pytest.mark.influxdb, pytest.mark.slow]


class WatchedInflux(InfluxStore):
    """The real InfluxStore, telling the test when reading writes fail."""

    failures = 0
    failed: asyncio.Event

    async def write_reading_lines(self, lines: Sequence[str]) -> None:
        try:
            await super().write_reading_lines(lines)
        except StoreUnavailableError:
            self.failures += 1
            if self.failures >= 2:
                self.failed.set()
            raise


class TimesOutAfterWriting(InfluxStore):
    """The real InfluxStore, but the first write 'times out' after InfluxDB has stored it."""

    timeouts = 0

    async def write_reading_lines(self, lines: Sequence[str]) -> None:
        await super().write_reading_lines(lines)
        if self.timeouts == 0:
            self.timeouts += 1
            raise StoreUnavailableError("read timeout after the request was sent")


async def _acked_seqs(gateway: FakeGateway, want: set[int], wait_s: float = 60.0) -> set[int]:
    got: set[int] = set()
    async with asyncio.timeout(wait_s):
        while not want <= got:
            got.update((await gateway.next_ack(wait_s))[1].seqs)
    return got


async def test_influxdb_killed_and_restarted_loses_nothing(
    tmp_path: Path, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    influx = await asyncio.to_thread(localservers.influxdb, tmp_path / "influx")
    try:
        store = await WatchedInflux.open(influx.url, "faults")
        assert isinstance(store, WatchedInflux)
        store.failed = asyncio.Event()
        ingest = await start_ingest(store, {"gw-a"})
        first = fake_gateway.readings("gw-a", [("pir-1", "motion", 1), ("pir-1", "motion", 0)])
        await fake_gateway.publish("gw-a", Channel.READINGS, first)
        await _acked_seqs(fake_gateway, {first.seq})
        await asyncio.to_thread(influx.kill)
        during = [
            fake_gateway.readings("gw-a", [(f"pir-d{i}", "motion", 1), (f"band-{i}", "steps", i)])
            for i in range(5)
        ]
        for message in during:
            await fake_gateway.publish("gw-a", Channel.READINGS, message)
        async with asyncio.timeout(30):
            await store.failed.wait()  # failed and retried, backing off
        assert fake_gateway.acks.empty()  # nothing acked while the store is down
        await asyncio.to_thread(influx.start)
        await _acked_seqs(fake_gateway, {m.seq for m in during})
        assert await store.count_readings() == 2 + 2 * len(during)
        assert ingest.stats.store_failures >= 2
        await store.close()
    finally:
        await asyncio.to_thread(influx.close)


async def test_ingest_started_while_influxdb_is_down_stores_everything_once_it_is_up(
    tmp_path: Path, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    """InfluxDB down when the platform starts: opening the store does not fail (the fall path
    must not wait for it); readings wait unacknowledged and the database is created on the
    first write that reaches the server."""
    port = localservers.free_port()
    store = await WatchedInflux.open(f"http://127.0.0.1:{port}", "late")
    assert isinstance(store, WatchedInflux)
    store.failed = asyncio.Event()
    await start_ingest(store, {"gw-a"})
    early = fake_gateway.readings("gw-a", [("pir-1", "motion", 1), ("band-1", "steps", 12)])
    await fake_gateway.publish("gw-a", Channel.READINGS, early)
    async with asyncio.timeout(30):
        await store.failed.wait()
    assert fake_gateway.acks.empty()
    influx = await asyncio.to_thread(localservers.influxdb, tmp_path / "influx", port)
    try:
        await _acked_seqs(fake_gateway, {early.seq})
        assert await store.count_readings() == 2
        await store.close()
    finally:
        await asyncio.to_thread(influx.close)


async def test_write_that_timed_out_after_success_is_retried_without_duplicates(
    influxdb_server: Server, start_ingest: IngestFactory, fake_gateway: FakeGateway
) -> None:
    store = await TimesOutAfterWriting.open(influxdb_server.url, "timeout_after_write")
    assert isinstance(store, TimesOutAfterWriting)
    try:
        ingest = await start_ingest(store, {"gw-a"})
        message = fake_gateway.readings(
            "gw-a", [("band-1", "heart_rate", 60 + i) for i in range(50)]
        )
        await fake_gateway.publish("gw-a", Channel.READINGS, message)
        await _acked_seqs(fake_gateway, {message.seq})
        assert store.timeouts == 1
        assert ingest.stats.store_failures == 1  # written twice …
        assert await store.count_readings() == 50  # … stored once
    finally:
        await store.close()


def _start_worker(
    ctx: multiprocessing.context.SpawnContext, spec: WorkerSpec
) -> multiprocessing.context.SpawnProcess:
    ready = ctx.Event()
    proc = ctx.Process(target=worker_main, args=(spec, ready), daemon=True)
    proc.start()
    assert ready.wait(60), "worker did not get ready"
    return proc


async def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
    tmp_path: Path,
    mosquitto_server: Server,
    influxdb_server: Server,
    fake_gateway: FakeGateway,
) -> None:
    async with httpx.AsyncClient(base_url=influxdb_server.url) as http:
        await http.post("/query", params={"q": f"DROP DATABASE {DATABASE}"})
    ctx = multiprocessing.get_context("spawn")
    spec = WorkerSpec(
        index=0,
        mqtt_port=mosquitto_server.port,
        store="influxdb",
        store_location=influxdb_server.url,
        quarantine_path=str(tmp_path / "q.db"),
        naive=False,
        batch_readings=2_000,
        batch_age_s=0.05,
        shared=True,
    )
    worker = await asyncio.to_thread(_start_worker, ctx, spec)
    size, count = 500, 120
    seqs = set(range(1, count + 1))
    try:
        for seq in sorted(seqs):
            body = readings_payload("gw-kill", fake_gateway.boot, seq, size)
            await fake_gateway.client.publish("anxin/v1/gw-kill/readings", body, qos=1)
        acked = set((await fake_gateway.next_ack(60))[1].seqs)  # the worker is mid-stream
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        await asyncio.to_thread(worker.join, 10)
        assert acked < seqs, "the worker finished before it could be killed mid-stream"
        # restarted with the same client id: its session and un-PUBACKed messages come back
        worker = await asyncio.to_thread(_start_worker, ctx, spec)
        acked |= await _acked_seqs(fake_gateway, seqs - acked, wait_s=90)
        assert acked == seqs
        store = await InfluxStore.open(influxdb_server.url, DATABASE)
        try:
            assert await store.count_readings() == size * count
        finally:
            await store.close()
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.join, 10)
