"""Every periodic detector that raises alerts, built once for ``anxin up`` and ``anxin alerts run``.

The alert service is more than the event engine: a resident lying on the floor sends no event,
so the routine (inactivity) detectors, vitals, device health, gateway link health and the weekly
test alarms must run wherever alerts are served. Both entry points compose them here, so a
deployment that runs the alert service as its own process cannot silently lack one of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.detector_health import DetectorHealth
from alerts.device_health import DeviceHealthMonitor
from alerts.feed import AlertFeed
from alerts.link_health import LinkMonitor, LinkWatch
from alerts.routine.monitor import RoutineMonitor
from alerts.service import AlertService
from alerts.test_alarms import SendCommand, WeeklyTestAlarms
from alerts.vitals import VitalsMonitor
from anxin.broker_login import BrokerLogin as BrokerLogin  # re-exported: anxin up imports it here
from devices.clock import Clock, SystemClock
from ingest.reconnect import raise_if_cancelling
from ingest.store import ReadingStore

INACTIVITY_CHECK_S = 300.0  # simulated seconds between routine (inactivity) sweeps
VITALS_CHECK_S = 120.0  # simulated seconds between vitals sweeps (the sustain window is 5 min)
DEVICE_HEALTH_CHECK_S = 600.0  # simulated seconds between device-health sweeps

RESTART_FIRST_S = 5.0  # a failed detector is started again after this, doubling up to
RESTART_MAX_S = 60.0  # this (real seconds)

log = logging.getLogger(__name__)


@dataclass
class Monitors:
    """The detectors; ``routine`` is exposed for the demo's history backfill and the console."""

    links: LinkMonitor
    device_health: DeviceHealthMonitor
    vitals: VitalsMonitor
    routine: RoutineMonitor
    weekly_tests: WeeklyTestAlarms
    health: DetectorHealth

    names: ClassVar[tuple[str, ...]] = (
        "link-health",
        "device-health",
        "vitals",
        "routine",
        "weekly-test-alarms",
    )

    def start(
        self,
        tg: asyncio.TaskGroup,
        routine: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> list[asyncio.Task[None]]:
        """Start every detector in ``tg``; ``routine`` replaces the plain routine sweep (the
        demo writes the residents' history first)."""
        runs: tuple[Callable[[], Coroutine[Any, Any, None]], ...] = (
            self.links.run,
            self.device_health.run,
            self.vitals.run,
            routine if routine is not None else self.routine.run,
            self.weekly_tests.run,
        )
        return [
            tg.create_task(keep_running(name, run, health=self.health), name=name)
            for name, run in zip(self.names, runs, strict=True)
        ]


async def keep_running(
    name: str,
    run: Callable[[], Coroutine[Any, Any, None]],
    *,
    first_backoff_s: float = RESTART_FIRST_S,
    max_backoff_s: float = RESTART_MAX_S,
    health: DetectorHealth | None = None,
) -> None:
    """Run a detector until cancelled, starting it again (with backoff) whenever it fails.

    The detectors share a process — and a TaskGroup — with the fall path: one that raises (the
    store or the database unreachable, a bug on odd data) must neither take the fall alerts down
    with it nor stay dead. Each failure is logged at ERROR with its traceback and reported to
    ``health`` (the console's banner), until the detector has run again for a while.
    """
    backoff = first_backoff_s
    while True:
        started = time.monotonic()
        try:
            await run()
            raise_if_cancelling()  # a stop the detector's own code lost (ingest.reconnect)
            log.error("detector_stopped name=%s restart_in_s=%.0f", name, backoff)
            failure: BaseException = RuntimeError("stopped")
        except Exception as err:
            # a stop that landed with the failure (a TaskGroup raises the failure, not the
            # cancellation) must stop the detector, not restart it
            raise_if_cancelling()
            log.exception("detector_failed name=%s restart_in_s=%.0f", name, backoff)
            failure = err
        if health is not None:
            health.failed(name, failure)
        if time.monotonic() - started > max_backoff_s:
            backoff = first_backoff_s  # it ran a good while: start over gently
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff_s)
        if health is not None:
            health.restarted(name)


def build_monitors(
    alerts: AlertService,
    sessions: async_sessionmaker[AsyncSession],
    feed: AlertFeed,
    store: ReadingStore,
    clock: Clock,
    link_watch: LinkWatch,
    broker: BrokerLogin,
    send_command: SendCommand,
    health: DetectorHealth | None = None,
) -> Monitors:
    """The detectors on one alert service; ``link_watch`` must be the one ``alerts`` consults
    for offline gateways (an offline gateway is one technical alarm, not an inactive person).
    ``health`` is where their failures are recorded (pass the one ``DetectorAlarms`` watches)."""
    health = health or DetectorHealth(now=clock.now)
    links = LinkMonitor(
        alerts,
        broker.host,
        broker.port,
        SystemClock(),  # link timing is real time, also in a simulated-time demo
        username=broker.username,
        password=broker.password,
        tls_context=broker.tls,
        client_id="anxin-link-health",
        watch=link_watch,
    )
    routine = RoutineMonitor(alerts, sessions, store, clock, INACTIVITY_CHECK_S)
    health.watch("routine", routine.problem)
    return Monitors(
        links=links,
        device_health=DeviceHealthMonitor(
            alerts, sessions, store, clock, DEVICE_HEALTH_CHECK_S, link_watch.offline
        ),
        vitals=VitalsMonitor(alerts, sessions, store, clock, VITALS_CHECK_S),
        routine=routine,
        weekly_tests=WeeklyTestAlarms(alerts, sessions, feed, clock, send_command),
        health=health,
    )
