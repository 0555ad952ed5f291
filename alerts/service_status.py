"""Whether the alert service runs, and which of its detectors do not — told to other processes.

In ``anxin up`` the console asks ``DetectorHealth`` directly. In a split deployment the detectors
run in ``anxin alerts run`` and the console in ``anxin dashboard``, so the alert service writes a
report every ``REPORT_EVERY_S`` (one row of ``service_status``: a counter that moves, and the
detectors' problems) and the dashboard reads it. The worst failure is the alert service itself
not running — no fall is alerted, no detector runs, and nothing is raised to say so — so a report
that stops moving becomes a problem of its own on the console's banner and in ``/healthz``.

"Stops moving" is judged by the reader's own monotonic clock (the counter did not change for
``SILENT_AFTER_S``), never by comparing the two machines' wall clocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.detector_health import DetectorProblem
from alerts.models import ServiceStatusRow
from devices.clock import Clock

log = logging.getLogger(__name__)

ALERT_SERVICE = "alerts"  # the row `anxin alerts run` writes
SILENT = "alert-service"  # the banner's name for "the alert service is not reporting"
REPORT_EVERY_S = 15.0  # real seconds between reports
SILENT_AFTER_S = 60.0  # four reports missed: down, stuck or cut off from the database
READ_EVERY_S = 5.0  # how often a dashboard reads the report (one row)


def _encode(problems: list[DetectorProblem]) -> str:
    return json.dumps(
        [
            {
                "name": p.name,
                "since": p.since.isoformat(),
                "error": p.error,
                "homes": p.homes,
                "gateways": list(p.gateways),
            }
            for p in problems
        ],
        ensure_ascii=False,
    )


def _decode(text: str) -> list[DetectorProblem]:
    return [
        DetectorProblem(
            name=str(p["name"]),
            since=datetime.fromisoformat(p["since"]).astimezone(UTC),
            error=str(p["error"]),
            homes=int(p.get("homes", 0)),
            gateways=tuple(p.get("gateways", ())),
        )
        for p in json.loads(text)
    ]


class StatusReporter:
    """Writes the service's report (alive, and ``problems()``) every ``every_s`` seconds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        problems: Callable[[], list[DetectorProblem]],
        clock: Clock,
        *,
        service: str = ALERT_SERVICE,
        every_s: float = REPORT_EVERY_S,
    ) -> None:
        self._sessions = sessions
        self._problems = problems
        self._clock = clock
        self._service = service
        self._every_s = every_s

    async def report(self) -> None:
        """Write one report now (SQLAlchemyError if the database refuses)."""
        values = {"reported_at": self._clock.now(), "problems": _encode(self._problems())}
        try:
            await self._write(values)
        except IntegrityError:
            await self._write(values)  # another writer's first report won: now it is an update

    async def _write(self, values: dict[str, object]) -> None:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(ServiceStatusRow)
                .where(ServiceStatusRow.service == self._service)
                .values(beat=ServiceStatusRow.beat + 1, **values)
            )
            if getattr(result, "rowcount", 0) == 0:
                session.add(ServiceStatusRow(service=self._service, beat=1, **values))

    async def run(self) -> None:
        """Report until cancelled; a database that is away is logged and tried again."""
        while True:
            try:
                await self.report()
            except SQLAlchemyError as err:
                # readers see the report stop moving and say so: nothing else to do here
                log.warning("service_status_unwritten service=%s error=%r", self._service, err)
            await asyncio.sleep(self._every_s)


class ReportedStatus:
    """The dashboard's side: the latest report, and whether it still moves.

    ``problems()`` is what the console's banner and ``/healthz`` show: the detectors the service
    reported as not running, or, once its report has not moved for ``silent_after_s`` (or never
    came since this reader started), the one problem that the alert service is not reporting.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        service: str = ALERT_SERVICE,
        silent_after_s: float = SILENT_AFTER_S,
        every_s: float = READ_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._service = service
        self._silent_after_s = silent_after_s
        self._every_s = every_s
        self._monotonic = monotonic
        self._started = monotonic()
        self._started_at = now()
        self._beat: int | None = None
        self._moved = self._started  # monotonic time the counter was last seen to change
        self._reported_at: datetime | None = None
        self._problems: list[DetectorProblem] = []

    async def read(self) -> None:
        """Read the report once (SQLAlchemyError if the database is away)."""
        async with self._sessions() as session:
            row = await session.get(ServiceStatusRow, self._service, populate_existing=True)
        if row is None or row.beat == self._beat:
            return
        problems = _decode(row.problems)
        if self._beat is None or [p.name for p in problems] != [p.name for p in self._problems]:
            log.info(
                "service_status_changed service=%s problems=%s",
                self._service,
                ",".join(p.name for p in problems) or "none",
            )
        self._beat = row.beat
        self._moved = self._monotonic()
        self._reported_at = row.reported_at
        self._problems = problems

    def problems(self) -> list[DetectorProblem]:
        """What is not running, as far as this process can tell."""
        silent_s = self._monotonic() - self._moved
        if silent_s < self._silent_after_s:
            return list(self._problems)
        if self._reported_at is None:
            error = f"no report from the alert service (anxin alerts run) in {silent_s:.0f} s"
            since = self._started_at
        else:
            error = f"the alert service (anxin alerts run) stopped reporting {silent_s:.0f} s ago"
            since = self._reported_at
        return [DetectorProblem(SILENT, since, error)]

    async def run(self) -> None:
        """Read every ``every_s`` until cancelled; while the database is away the report does not
        move, which ``problems()`` will say after ``silent_after_s``."""
        while True:
            try:
                await self.read()
            except SQLAlchemyError as err:
                log.warning("service_status_unread service=%s error=%r", self._service, err)
            await asyncio.sleep(self._every_s)
