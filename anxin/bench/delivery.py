"""``anxin bench delivery``: nothing lost between homes and the store through crashes and an outage.

A real Mosquitto (persistence on) and the real ingest consumer in a subprocess (SQLite store) that
is SIGKILLed; several gateways (real ``Outbox`` + ``Uplink``) stream readings; Mosquitto is
SIGKILLed and restarted ``broker_kills`` times, ingest ``ingest_kills`` times; one gateway was cut
off for a simulated 24 h and has ``backlog`` readings and ``events`` events in its outbox (filled
at the outbox's API, as the agent does) when it reconnects. Afterwards every reading is compared
by identity (gw, dev, m, t) and value with what was sent, events by id, and the events' receive
times with the backlog's. Prints one JSON object as the last stdout line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from anxin.localservers import mosquitto
from devices.clock import SystemClock
from devices.topics import Channel
from gateway.outbox import Budget, Outbox
from gateway.uplink import BrokerAddress, Uplink

log = logging.getLogger(__name__)

PER_MESSAGE = 500  # readings per message, as the agent batches them
OUTAGE = timedelta(hours=24)
MESSAGES_PER_DAY_MIN = 1440  # one message a minute at least: batches span seconds, not hours
LIVE_BATCH = 50  # readings a live gateway queues per tick
LIVE_TICK_S = 0.1
WAIT_S = 600.0  # the whole drain must finish within this (real seconds)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """Sizes of the scenario."""

    backlog: int = 1_000_000
    events: int = 20
    live_gateways: int = 3
    broker_kills: int = 5
    ingest_kills: int = 2
    workdir: Path | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    """What the bench prints."""

    sent: int
    stored: int
    lost: int
    duplicated: int
    wrong_value: int
    events_sent: int
    events_stored: int
    events_before_backlog: bool
    drain_readings_per_s: float
    drain_real_time_factor: float
    broker_kills: int
    ingest_kills: int
    seconds: float


def _readings_payload(gw: str, boot: str, seq: int, rows: list[tuple[str, float, str]]) -> bytes:
    body = {
        "v": 1,
        "gw": gw,
        "boot": boot,
        "seq": seq,
        "sent_at": rows[-1][2],
        "readings": [{"dev": d, "m": "heart_rate", "val": v, "t": t} for d, v, t in rows],
    }
    return json.dumps(body).encode()


def _event_payload(gw: str, boot: str, seq: int, event_id: str, t: str) -> bytes:
    body = {
        "v": 1,
        "gw": gw,
        "boot": boot,
        "seq": seq,
        "sent_at": t,
        "id": event_id,
        "kind": "call_button",
        "dev": "sos-1",
        "t": t,
        "data": {},
    }
    return json.dumps(body).encode()


def _readings_encoder(gw: str, rows: list[tuple[str, float, str]]) -> Callable[[str, int], bytes]:
    def build(boot: str, seq: int) -> bytes:
        return _readings_payload(gw, boot, seq, rows)

    return build


def _event_encoder(gw: str, event_id: str, t: str) -> Callable[[str, int], bytes]:
    def build(boot: str, seq: int) -> bytes:
        return _event_payload(gw, boot, seq, event_id, t)

    return build


Sent = dict[tuple[str, str, str], float]  # (gw, dev, t iso) -> value


def _rows(
    gw: str, start: datetime, n: int, span: timedelta, first: int
) -> list[tuple[str, float, str]]:
    step = span / max(n, 1)
    return [
        (f"dev-{(first + i) % 10}", float(40 + (first + i) % 150), (start + step * i).isoformat())
        for i in range(n)
    ]


def fill_backlog(
    box: Outbox, gw: str, start: datetime, cfg: DeliveryConfig, sent: Sent
) -> list[str]:
    """Put 24 h of readings and ``cfg.events`` events into an offline gateway's outbox."""
    rows = _rows(gw, start, cfg.backlog, OUTAGE, 0)
    # a message spans at most a minute of readings, as the agent's batching makes it
    per_message = max(1, min(PER_MESSAGE, cfg.backlog // MESSAGES_PER_DAY_MIN))
    event_every = max(len(rows) // per_message // max(cfg.events, 1), 1)
    event_ids: list[str] = []
    for k, lo in enumerate(range(0, len(rows), per_message)):
        chunk = rows[lo : lo + per_message]
        sent.update({(gw, d, t): v for d, v, t in chunk})
        messages: list[tuple[Channel, Callable[[str, int], bytes]]] = [
            (Channel.READINGS, _readings_encoder(gw, chunk))
        ]
        if k % event_every == 0 and len(event_ids) < cfg.events:
            eid = f"outage-{gw}-{len(event_ids):04d}"
            event_ids.append(eid)
            t = chunk[0][2]
            messages.append((Channel.EVENTS, _event_encoder(gw, eid, t)))
        box.put_many(messages, datetime.fromisoformat(chunk[-1][2]))
    return event_ids


class IngestProcess:
    """The real ingest consumer in a subprocess that can be SIGKILLed and started again."""

    def __init__(self, port: int, store: Path, quarantine: Path) -> None:
        self.args = [
            sys.executable,
            "-m",
            "anxin.bench.delivery",
            "--ingest-worker",
            str(port),
            str(store),
            str(quarantine),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or start again: same client id, so the broker session resumes)."""
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL)

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)


async def _ingest_worker(port: int, store_path: Path, quarantine_path: Path) -> None:
    from ingest.consumer import Ingest
    from ingest.quarantine import SQLiteQuarantine
    from ingest.sqlite_store import SQLiteStore

    store = await SQLiteStore.open(store_path)
    quarantine = await SQLiteQuarantine.open(quarantine_path)

    async def known(gateway: str) -> bool:
        return True

    ingest = Ingest(
        "127.0.0.1",
        port,
        store,
        quarantine,
        SystemClock(),
        known,
        client_id="bench-delivery-ingest",
    )
    try:
        await ingest.run()
    finally:
        await store.close()
        await quarantine.close()


def _count(store: Path) -> int:
    try:
        with sqlite3.connect(store, timeout=30) as db:
            return int(db.execute("SELECT COUNT(*) FROM readings").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


async def _progress(store: Path, timeout_s: float = 60.0) -> None:
    """Wait until the store has grown (so a fault lands on a running system)."""
    before = await asyncio.to_thread(_count, store)
    deadline = time.monotonic() + timeout_s
    while await asyncio.to_thread(_count, store) <= before:
        if time.monotonic() > deadline:
            raise TimeoutError("no progress in the store")
        await asyncio.sleep(0.2)  # polling a file another process writes: nothing to wait on


async def run_delivery(cfg: DeliveryConfig) -> Figures:
    """Run the scenario; return its figures."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="anxin-delivery-") as tmp:
        work = cfg.workdir or Path(tmp)
        broker = mosquitto(work / "mosquitto")
        store, quar = work / "series.db", work / "quarantine.db"
        ingest = IngestProcess(broker.port, store, quar)
        ingest.start()
        clock = SystemClock()
        sent: Sent = {}
        budget = Budget(4 * 1024**3, 8 * 1024 * 1024)
        cut = "gw-cut"
        cut_box = Outbox(work / f"{cut}.db", budget=budget)
        event_ids = await asyncio.to_thread(
            fill_backlog, cut_box, cut, clock.now() - OUTAGE, cfg, sent
        )
        backlog_readings = len(sent)
        live = [f"gw-live-{i}" for i in range(cfg.live_gateways)]
        boxes = {gw: Outbox(work / f"{gw}.db", budget=budget) for gw in live}
        uplinks = {
            gw: Uplink(gw, BrokerAddress("127.0.0.1", broker.port), box, clock)
            for gw, box in boxes.items()
        }
        cut_uplink = Uplink(cut, BrokerAddress("127.0.0.1", broker.port), cut_box, clock)
        stop = asyncio.Event()
        counter = [0]

        async def stream(gw: str) -> None:
            while not stop.is_set():
                rows = _rows(
                    gw, clock.now(), LIVE_BATCH, timedelta(seconds=LIVE_TICK_S), counter[0]
                )
                counter[0] += LIVE_BATCH
                sent.update({(gw, d, t): v for d, v, t in rows})
                await asyncio.to_thread(
                    boxes[gw].put_many,
                    [(Channel.READINGS, _readings_encoder(gw, rows))],
                    clock.now(),
                )
                uplinks[gw].notify()
                await asyncio.sleep(LIVE_TICK_S)  # the devices' pace, not a wait for anything

        drain = [0.0, 0.0]
        try:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(u.run()) for u in uplinks.values()]
                tasks += [tg.create_task(stream(gw)) for gw in live]
                await _progress(store)
                kills = max(cfg.broker_kills, cfg.ingest_kills)
                for i in range(kills):
                    if i < cfg.broker_kills:
                        broker.kill()
                        broker.restart()
                        await _progress(store)
                    if i == 1:  # the cut-off gateway comes back while faults go on
                        drain[0] = time.monotonic()
                        tasks.append(tg.create_task(cut_uplink.run()))
                    if i < cfg.ingest_kills:
                        ingest.kill()
                        ingest.start()
                        await _progress(store)
                if not drain[0]:
                    drain[0] = time.monotonic()
                    tasks.append(tg.create_task(cut_uplink.run()))
                stop.set()
                deadline = time.monotonic() + WAIT_S
                while cut_box.depth() or any(b.depth() for b in boxes.values()):
                    if time.monotonic() > deadline:
                        raise TimeoutError("outboxes did not empty")
                    if cut_box.depth() == 0 and not drain[1]:
                        drain[1] = time.monotonic()
                    await asyncio.sleep(0.2)
                if not drain[1]:
                    drain[1] = time.monotonic()
                for task in tasks:
                    task.cancel()
        except* asyncio.CancelledError:
            pass
        finally:
            ingest.stop()
            broker.stop()
            for box in (*boxes.values(), cut_box):
                box.close()
        figures = _verify(store, sent, event_ids, cut, backlog_readings, drain, cfg)
    return Figures(**{**asdict(figures), "seconds": round(time.monotonic() - began, 1)})


def _verify(
    store: Path,
    sent: Sent,
    event_ids: list[str],
    cut: str,
    backlog: int,
    drain: list[float],
    cfg: DeliveryConfig,
) -> Figures:
    from ingest.store import from_ns

    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT gw, dev, t, value, rx FROM readings").fetchall()
        events = db.execute("SELECT id, rx FROM events WHERE gw = ?", (cut,)).fetchall()
    stored: dict[tuple[str, str, str], float] = {}
    wrong = 0
    first_backlog_rx = None
    for gw, dev, t, value, rx in rows:
        key = (gw, dev, from_ns(int(t)).isoformat())
        stored[key] = value
        if key in sent and sent[key] != value:
            wrong += 1
        if gw == cut and (first_backlog_rx is None or rx < first_backlog_rx):
            first_backlog_rx = rx
    matched = sum(1 for k in sent if k in stored)
    got_events = {e for e, _ in events} & set(event_ids)
    last_event_rx = max((int(rx) for e, rx in events if e in got_events), default=None)
    seconds = max(drain[1] - drain[0], 1e-9)
    return Figures(
        sent=len(sent),
        stored=matched,
        lost=len(sent) - matched,
        duplicated=len(rows) - len(stored) + len(set(stored) - set(sent)),
        wrong_value=wrong,
        events_sent=len(event_ids),
        events_stored=len(got_events),
        events_before_backlog=(
            last_event_rx is not None
            and first_backlog_rx is not None
            and last_event_rx <= int(first_backlog_rx)
        ),
        drain_readings_per_s=round(backlog / seconds),
        drain_real_time_factor=round(OUTAGE.total_seconds() / seconds, 1),
        broker_kills=cfg.broker_kills,
        ingest_kills=cfg.ingest_kills,
        seconds=0.0,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry of the ingest worker subprocess (``--ingest-worker PORT STORE QUARANTINE``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--ingest-worker", nargs=3, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    port, store, quarantine = args.ingest_worker
    try:
        asyncio.run(_ingest_worker(int(port), Path(store), Path(quarantine)))
    except KeyboardInterrupt:
        return


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
