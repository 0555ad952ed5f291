"""The physical limits a run is compared with: Mosquitto's relay rate, InfluxDB's write rate."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from datetime import timedelta
from multiprocessing.synchronize import Event as MpEvent

import aiomqtt
import httpx

from anxin.bench.load import T0, readings_payload
from devices.values import Reading
from ingest.line_protocol import reading_lines

RELAY_TOPIC = "bench/relay"
END = b"END"
RELAY_WINDOW = 200  # concurrent QoS 1 publishes in flight
INFLUX_BODY_POINTS = 5_000  # the batch size ingest writes with


def _relay_publisher(port: int, readings_per_message: int, seconds: float, go: MpEvent) -> None:
    asyncio.run(_publish_flat_out(port, readings_per_message, seconds, go))


async def _publish_flat_out(port: int, size: int, seconds: float, go: MpEvent) -> None:
    body = readings_payload("gw-relay", "boot", 1, size)
    window = asyncio.Semaphore(RELAY_WINDOW)
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier="bench-relay-pub",
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        max_inflight_messages=RELAY_WINDOW,
    ) as client:
        await asyncio.to_thread(go.wait)
        stop_at = time.perf_counter() + seconds

        async def one() -> None:
            try:
                await client.publish(RELAY_TOPIC, body, qos=1)
            finally:
                window.release()

        async with asyncio.TaskGroup() as tg:
            while time.perf_counter() < stop_at:
                await window.acquire()
                tg.create_task(one())
        await client.publish(RELAY_TOPIC, END, qos=1)  # same topic, QoS 1: arrives last


async def mosquitto_relay_rate(port: int, readings_per_message: int, seconds: float) -> float:
    """Readings/s Mosquitto relays at QoS 1 from one publisher to one subscriber that only counts."""
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    proc = ctx.Process(
        target=_relay_publisher, args=(port, readings_per_message, seconds, go), daemon=True
    )
    proc.start()
    count = 0
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier="bench-relay-sub",
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    ) as client:
        await client.subscribe(RELAY_TOPIC, qos=1)
        go.set()
        first = last = 0.0
        try:
            async with asyncio.timeout(seconds + 10):
                async for message in client.messages:
                    if message.payload == END:
                        break
                    last = time.perf_counter()
                    if count == 0:
                        first = last
                    count += 1
        except TimeoutError:
            pass
    await asyncio.to_thread(proc.join, 10)
    if count < 2 or last <= first:
        return 0.0
    return (count - 1) * readings_per_message / (last - first)


async def influxdb_write_rate(url: str, seconds: float, concurrency: int = 2) -> float:
    """Points/s InfluxDB takes in 5,000-point line-protocol bodies encoded beforehand."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await client.post("/query", params={"q": "CREATE DATABASE bench_limits"})
        bodies = []
        for b in range(40):
            readings = [
                Reading(
                    f"gw-{b:03d}",
                    f"d{i % 8}",
                    "heart_rate",
                    72.0,
                    T0 + timedelta(microseconds=b * INFLUX_BODY_POINTS + i),
                    T0,
                )
                for i in range(INFLUX_BODY_POINTS)
            ]
            bodies.append("\n".join(reading_lines(readings)).encode())
        written = 0
        stop_at = time.perf_counter() + seconds
        started = time.perf_counter()

        async def writer(offset: int) -> None:
            nonlocal written
            i = offset
            while time.perf_counter() < stop_at:
                response = await client.post(
                    "/write",
                    params={"db": "bench_limits", "precision": "ns"},
                    content=bodies[i % len(bodies)],
                )
                response.raise_for_status()
                written += INFLUX_BODY_POINTS
                i += concurrency

        async with asyncio.TaskGroup() as tg:
            for c in range(concurrency):
                tg.create_task(writer(c))
        return written / (time.perf_counter() - started)
