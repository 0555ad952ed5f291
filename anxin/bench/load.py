"""Simulated gateways for benchmarks: pre-encoded readings messages, acks awaited per gateway."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiomqtt

from devices.codec import decode_as
from devices.payloads import AckMessage

T0 = datetime(2024, 5, 1, tzinfo=UTC)
MEASURES = (("heart_rate", 72.0), ("spo2", 97.0), ("motion", 1.0), ("battery", 80.0))
DEVICES_PER_GATEWAY = 8
# the load generator shares the 2 cores with what it measures: build each seq's readings once
ITEMS_CACHE = 64


@dataclass
class LoadResult:
    """What one publisher saw."""

    messages: int = 0
    readings: int = 0
    acked_messages: int = 0
    acked_readings: int = 0
    duplicate_acks: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    first_publish: float = 0.0
    last_ack: float = 0.0
    cpu_s: float = 0.0  # CPU seconds (user + system) this publisher process spent in the run


def readings_payload(gw: str, boot: str, seq: int, size: int) -> bytes:
    """A valid ReadingsMessage of ``size`` readings whose device times are unique per gateway."""
    base = (T0 + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S")
    return (
        f'{{"v":1,"gw":"{gw}","boot":"{boot}","seq":{seq},"sent_at":"{base}Z",'
        f'"readings":[{_items(base, size)}]}}'
    ).encode()


@functools.lru_cache(maxsize=ITEMS_CACHE)
def _items(base: str, size: int) -> str:
    """The readings array of one sequence number: the same for every gateway, built once."""
    items = []
    for i in range(size):
        m, v = MEASURES[i % len(MEASURES)]
        dev = f"d{i % DEVICES_PER_GATEWAY}"
        items.append(f'{{"dev":"{dev}","m":"{m}","val":{v},"t":"{base}.{i:06d}Z"}}')
    return ",".join(items)


async def drive(
    port: int,
    publisher: int,
    gateways: int,
    readings_per_message: int,
    window: int,
    seconds: float,
    drain_s: float,
) -> LoadResult:
    """Publish for ``seconds`` with at most ``window`` unacked messages per gateway, then drain."""
    result = LoadResult()
    names = [f"gw-{publisher:02d}-{g:04d}" for g in range(gateways)]
    boot = f"boot{publisher}"
    sent: dict[tuple[str, int], float] = {}
    slots = {gw: asyncio.Semaphore(window) for gw in names}
    done = asyncio.Event()
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=f"bench-pub-{publisher}",
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        max_inflight_messages=1000,
    ) as client:
        await client.subscribe("anxin/v1/+/ack", qos=1)

        async def collect() -> None:
            async for message in client.messages:
                gw = message.topic.value.split("/")[2]
                assert isinstance(message.payload, bytes)
                ack = decode_as(AckMessage, message.payload)
                now = time.perf_counter()
                for seq in ack.seqs:
                    started = sent.pop((gw, seq), None)
                    if started is None:
                        result.duplicate_acks += 1
                        continue
                    result.acked_messages += 1
                    result.acked_readings += readings_per_message
                    result.latencies_ms.append((now - started) * 1000)
                    result.last_ack = now
                    slots[gw].release()
                if done.is_set() and not sent:
                    return

        async def gateway(gw: str, stop_at: float) -> None:
            seq = 0
            while time.perf_counter() < stop_at:
                await slots[gw].acquire()
                seq += 1
                body = readings_payload(gw, boot, seq, readings_per_message)
                sent[(gw, seq)] = time.perf_counter()
                await client.publish(f"anxin/v1/{gw}/readings", body, qos=1)
                result.messages += 1
                result.readings += readings_per_message

        cpu_start = _cpu_seconds()
        result.first_publish = time.perf_counter()
        stop_at = result.first_publish + seconds
        collector = asyncio.create_task(collect())
        async with asyncio.TaskGroup() as tg:
            for gw in names:
                tg.create_task(gateway(gw, stop_at))
        done.set()
        try:
            async with asyncio.timeout(drain_s):
                if sent:
                    await collector
        except TimeoutError:
            pass  # what is still unacked is reported as lost by the caller
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
    result.cpu_s = _cpu_seconds() - cpu_start
    return result


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system
