"""``anxin bench alerts``: fall event published → alert stored → first notification at its channel.

Starts its own Mosquitto and a JSON webhook receiver on loopback, a SQLite database in a temp dir
(or the given URL), seeds one home per event with an on-duty contact whose apprise URL is the
webhook, runs the alert engine, escalation scheduler and delivery sender in this process, and
publishes one fall per home at ``rate`` per second (QoS 1). The latency of an event is the time
from its publish to the webhook receiving its first notification. ``lost``: events without a
notification within the grace period; ``duplicated``: notifications beyond one per event.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiomqtt

from alerts.contacts import ContactSpec, add_contact, set_policy
from alerts.engine import AlertEngine
from alerts.escalation import Policy
from alerts.feed import AlertFeed
from alerts.outbox import AppriseNotifier, DeliverySender
from alerts.scheduler import EscalationScheduler
from alerts.service import AlertService
from anxin import localservers, migrate
from devices.clock import SystemClock
from devices.codec import encode
from devices.payloads import EventKind, EventMessage
from devices.topics import Channel, topic
from registry.db import make_async_engine, make_sessionmaker
from registry.repository import DeviceSpec, create_gateway, create_home, create_station

GRACE_S = 10.0  # after the last publish, how long a notification may still arrive
HOME_RE = re.compile(r"（(bench-\d+)）")  # the zh-CN body names the home label in full-width parens


class _Receiver:
    """A JSON webhook that stamps each notification's arrival (monotonic) per home."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                match = HOME_RE.search(body.replace("\\uff08", "（").replace("\\uff09", "）"))
                with receiver.lock:
                    receiver.arrivals.setdefault(match.group(1) if match else "?", []).append(now)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def count(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.arrivals.values())


async def _seed(sessions: Any, events: int, hook_url: str) -> None:
    async with sessions() as session, session.begin():
        station = await create_station(session, name="bench", code="bench")
        await set_policy(session, station.id, Policy(high_offsets_s=(0.0, 3600.0), reminder_s=0))
        await add_contact(session, station.id, ContactSpec("staff", (hook_url,), name="duty"))
        for i in range(events):
            home = await create_home(session, station_id=station.id, label=f"bench-{i:05d}")
            await create_gateway(
                session,
                gateway_id=f"bench-{i:05d}",
                home_id=home.id,
                created_at=datetime.now(UTC),
                devices=[DeviceSpec("wear-1", "wearable")],
            )


def _fall(gw: str) -> bytes:
    now = datetime.now(UTC)
    return encode(
        EventMessage(
            gw=gw,
            boot="bench",
            seq=1,
            sent_at=now,
            id=uuid.uuid4().hex,
            kind=EventKind.FALL,
            dev="wear-1",
            t=now,
        )
    )


def _quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run_alert_bench(events: int, rate: float, database_url: str | None) -> dict[str, Any]:
    """Run the benchmark once; the figures as a JSON-able dict."""
    with tempfile.TemporaryDirectory(prefix="anxin-bench-alerts-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'anxin.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        broker = localservers.mosquitto(Path(tmp) / "mosquitto")
        receiver = _Receiver()
        receiver.thread.start()
        engine = make_async_engine(url)
        try:
            sessions = make_sessionmaker(engine)
            await _seed(sessions, events, f"json://127.0.0.1:{receiver.port}/duty")
            return await _measure(sessions, broker.port, receiver, events, rate, url)
        finally:
            await engine.dispose()
            receiver.server.shutdown()
            receiver.server.server_close()
            broker.close()


async def _measure(
    sessions: Any, port: int, receiver: _Receiver, events: int, rate: float, url: str
) -> dict[str, Any]:
    clock = SystemClock()
    feed = AlertFeed()
    service = AlertService(sessions, feed, clock)
    sender = DeliverySender(sessions, AppriseNotifier(), clock)
    scheduler = EscalationScheduler(sessions, feed, clock, sender.wake)
    alert_engine = AlertEngine(service, sessions, "127.0.0.1", port, clock)
    published: dict[str, float] = {}
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(alert_engine.run()),
            tg.create_task(scheduler.run()),
            tg.create_task(sender.run()),
        ]
        await asyncio.wait_for(alert_engine.ready.wait(), 30)
        async with aiomqtt.Client("127.0.0.1", port, identifier="bench-gateways") as gateways:
            start = time.monotonic()
            for i in range(events):
                gw = f"bench-{i:05d}"
                payload = _fall(gw)
                due = start + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing the load generator, not waiting on state
                published[gw] = time.monotonic()
                await gateways.publish(topic(gw, Channel.EVENTS), payload, qos=1)
        deadline = time.monotonic() + GRACE_S
        while receiver.count() < events and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the receiver is a thread: poll its count, bounded
        for task in tasks:
            task.cancel()
    latencies = [
        (receiver.arrivals[gw][0] - t) * 1000
        for gw, t in published.items()
        if gw in receiver.arrivals
    ]
    return {
        "events": events,
        "rate_per_s": rate,
        "database": url.split(":", 1)[0],
        "p50_ms": round(_quantile(latencies, 50), 1) if latencies else None,
        "p99_ms": round(_quantile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "lost": events - len(latencies),
        "duplicated": sum(max(0, len(v) - 1) for v in receiver.arrivals.values()),
        "steps_taken": scheduler.steps_taken,
        "sent": sender.sent,
    }
