"""A detector that has stopped is told to the people it leaves unwatched, not only shown.

``DetectorHealth`` feeds the console banner and ``/healthz``; both need someone to look. At
night, with the console in another room, a routine monitor that cannot reach the store for an
hour means nobody is told that a resident has not moved. ``DetectorAlarms`` turns a problem that
lasts longer than a short grace (a restart that works at once is not worth a message) into one
technical alarm per affected station — through the station's escalation policy, to its
technical audiences (installer and staff by default) — so the station can phone its residents
until the platform is fixed. One alarm per station and episode (from the first problem until
nothing is down any more), naming every detector that is down there.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.detector_health import DetectorHealth, DetectorProblem
from alerts.lifecycle import Priority
from alerts.service import AlertService
from devices.clock import Clock
from registry.repository import gateway_contexts

DETECTOR_DOWN = "detector_down"
ALARM_AFTER_S = 300.0  # clock seconds a problem must last before stations are told
CHECK_EVERY_S = 30.0
MIN_REAL_INTERVAL_S = 0.5
# what each watched detector leaves undone while it does not run (the alarm's summary says it);
# detectors not named here (retention) are shown on the console but concern no resident
UNWATCHED: dict[str, str] = {
    # `anxin alerts run` starts all of them in one task, after opening the time-series store
    "detectors": "inactivity, vitals, device and gateway health checks and test alarms",
    "routine": "inactivity, getting-up, bathroom and meal checks",
    "vitals": "heart-rate and SpO2 checks",
    "link-health": "gateway offline checks",
    "device-health": "battery, worn and silent-sensor checks",
    "weekly-test-alarms": "weekly test alarms",
}

log = logging.getLogger(__name__)


class DetectorAlarms:
    """Every ``check_every_s``, raises a ``detector_down`` alarm for lasting detector problems."""

    def __init__(
        self,
        health: DetectorHealth,
        service: AlertService,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        alarm_after_s: float = ALARM_AFTER_S,
        check_every_s: float = CHECK_EVERY_S,
    ) -> None:
        self._health = health
        self._service = service
        self._sessions = sessions
        self._clock = clock  # the one ``health`` dates problems with (simulated in the demo)
        self._alarm_after_s = alarm_after_s
        self._check_every_s = check_every_s
        # the lasting problems every station was last told of: while they stay the same, a check
        # costs no query (an outage must not add a registry scan every 30 s)
        self._told: frozenset[tuple[str, datetime, tuple[str, ...]]] = frozenset()

    async def run(self) -> None:
        """Check until cancelled."""
        while True:
            await self.check_once()
            await asyncio.sleep(
                max(self._clock.to_real_seconds(self._check_every_s), MIN_REAL_INTERVAL_S)
            )

    async def check_once(self) -> int:
        """Raise the alarms now due; returns how many were raised (0 when all were raised before).

        One alarm per station for everything that is down there: a store outage stops several
        detectors at once, and the station needs one message, not one per detector.
        """
        lasting = [
            p
            for p in self._health.problems()
            if p.name in UNWATCHED
            and (self._clock.now() - p.since).total_seconds() >= self._alarm_after_s
        ]
        told = frozenset((p.name, p.since, p.gateways) for p in lasting)
        if not lasting or told == self._told:
            return 0
        async with self._sessions() as session:
            contexts = await gateway_contexts(session)
        down: dict[int, list[tuple[DetectorProblem, int]]] = {}  # station -> (problem, homes)
        for problem in lasting:
            homes: dict[int, int] = {}
            for c in contexts:
                if not problem.gateways or c.gateway_id in problem.gateways:
                    homes[c.station_id] = homes.get(c.station_id, 0) + 1
            for station_id, count in homes.items():
                down.setdefault(station_id, []).append((problem, count))
        raised = 0
        for station_id, problems in sorted(down.items()):
            since = min(p.since for p, _ in problems)  # the episode: while anything stays down
            view = await self._service.raise_station_condition(
                kind=DETECTOR_DOWN,
                station_id=station_id,
                fingerprint=f"{DETECTOR_DOWN}:{station_id}:{since.isoformat()}",
                summary=_summary(since, problems),
                priority=Priority.TECHNICAL.value,
            )
            if view is not None:
                raised += 1
                log.error(
                    "detector_down_alarm station=%d detectors=%s since=%s alert_id=%d",
                    station_id,
                    ",".join(p.name for p, _ in problems),
                    since.isoformat(),
                    view.id,
                )
        self._told = told
        return raised


def _summary(since: datetime, problems: list[tuple[DetectorProblem, int]]) -> str:
    parts = [
        f"{p.name} ({UNWATCHED[p.name]}; "
        + (f"{homes} home(s) of this station" if p.gateways else "every home")
        + ")"
        for p, homes in problems
    ]
    first = min(problems, key=lambda item: item[0].since)[0]
    return f"not running since {since:%Y-%m-%d %H:%M}Z: {', '.join(parts)} — {first.error}"[:400]
