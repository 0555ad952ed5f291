"""The demo fleet of ``anxin up --demo``: one simulated home and gateway agent per demo home."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from anxin.config import Settings
from anxin.credentials import demo_gateway_password
from devices.clock import Clock, ScaledClock
from devices.simulator import (
    NO_INCIDENTS,
    IncidentKind,
    IncidentRates,
    SimReading,
    SimulatedHome,
)
from devices.values import Reading
from gateway.adapters.simulator import SimulatorAdapter
from gateway.app import run_gateway
from gateway.config import GatewayConfig
from ingest.store import ReadingStore
from registry.demo import DemoFleet

log = logging.getLogger(__name__)

CLOCK_FILE = "demo-clock.txt"
# A demo should show incidents within minutes, not weeks: ~1.2 incidents per resident-day.
DEMO_RATES = IncidentRates(
    fall_per_day=0.4, call_button_per_day=0.5, no_rise_per_day=0.3, fall_cancel_share=0.3
)
HEARTBEAT_REAL_S = 10.0


HISTORY_DAYS = 14  # simulated days of normal life written before the demo starts
HISTORY_BATCH = 2_000  # small batches: the event loop (MQTT, HTTP) must stay responsive meanwhile
HISTORY_VITALS_EVERY = timedelta(minutes=10)  # past vitals thinned: trends need no per-minute data
VITALS = frozenset({"heart_rate", "spo2", "steps"})


async def backfill_history(
    store: ReadingStore,
    fleet: DemoFleet,
    settings: Settings,
    until: datetime,
    days: int = HISTORY_DAYS,
) -> int:
    """Write ``days`` (two weeks) of each resident's ordinary days, so baselines exist at once.

    Runs once, on an empty store: the same homes, without incidents and without the raw
    accelerometer (which never leaves the home anyway). Returns the number of readings written.
    """
    if await store.count_readings() > 0:
        return 0
    written = 0
    for gw in fleet.gateways:
        home = SimulatedHome(
            gw.number + settings.seed * 100_000,
            until - timedelta(days=days),
            NO_INCIDENTS,
            accel_hz=0,
        )
        out = await asyncio.to_thread(home.step, until)
        readings = [
            Reading(gw.gateway_id, r.device, r.measurement, r.value, r.time, r.time)
            for r in _thin_vitals(out.readings)
        ]
        for i in range(0, len(readings), HISTORY_BATCH):
            await store.write_readings(readings[i : i + HISTORY_BATCH])
            await asyncio.sleep(0)  # let live traffic through between batches
        written += len(readings)
    log.info(
        "demo_history_written homes=%d days=%d readings=%d",
        len(fleet.gateways),
        days,
        written,
    )
    return written


def _thin_vitals(readings: Sequence[SimReading]) -> list[SimReading]:
    """Every activity reading, but vitals only one per HISTORY_VITALS_EVERY per measurement."""
    kept: list[SimReading] = []
    last: dict[str, datetime] = {}
    for r in readings:
        if r.measurement in VITALS:
            previous = last.get(r.measurement)
            if previous is not None and r.time - previous < HISTORY_VITALS_EVERY:
                continue
            last[r.measurement] = r.time
        kept.append(r)
    return kept


def demo_clock(data_dir: Path, speed: float) -> ScaledClock:
    """Simulated time from now, or from where the last run stopped if that is later."""
    start = datetime.now(UTC)
    saved = data_dir / CLOCK_FILE
    if saved.exists():
        try:
            start = max(start, datetime.fromisoformat(saved.read_text().strip()))
        except ValueError:
            log.warning("demo_clock_unreadable path=%s", saved)
    return ScaledClock(speed=speed, start=start)


def save_demo_clock(data_dir: Path, now: datetime) -> None:
    """Remember the simulated time so that a restart never runs time backwards."""
    tmp = data_dir / (CLOCK_FILE + ".tmp")
    tmp.write_text(now.isoformat())
    tmp.replace(data_dir / CLOCK_FILE)


async def run_demo_gateways(
    settings: Settings, fleet: DemoFleet, secret: str, clock: Clock
) -> None:
    """Run every demo home's gateway agent until cancelled."""
    start = clock.now()
    async with asyncio.TaskGroup() as tg:
        for gw in fleet.gateways:
            home = SimulatedHome(gw.number + settings.seed * 100_000, start, DEMO_RATES)
            if gw.number == 1:
                # a demo should not wait for chance: home 1 falls soon after start (simulated
                # time; if the resident is in bed or out then, when next up and about) ...
                first_fall = start + timedelta(minutes=settings.first_fall_after_min)
                home.force_incident(IncidentKind.FALL, first_fall)
            if gw.number == len(fleet.gateways):
                # ... and the last home's resident presses the call button about then
                call_at = start + timedelta(minutes=settings.first_fall_after_min + 1)
                home.force_incident(IncidentKind.CALL_BUTTON, call_at)
            config = GatewayConfig(
                gateway_id=gw.gateway_id,
                broker_host=settings.host,
                broker_port=settings.mqtt_port,
                password=demo_gateway_password(secret, gw.gateway_id),
                data_dir=settings.gateways_dir,
                heartbeat_s=HEARTBEAT_REAL_S,
                home_seed=gw.number,
                speed=settings.speed,
                protocol="3.1.1",  # the embedded amqtt broker speaks MQTT 3.1.1 only
            )
            tg.create_task(
                run_gateway(config, clock, SimulatorAdapter(home, clock)), name=gw.gateway_id
            )
