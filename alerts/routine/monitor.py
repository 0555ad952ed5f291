"""Runs the learned routine detectors for every home in service and raises their alerts.

Per home it keeps the recent activity history from the time-series store (fetched
incrementally), re-learns the resident's baseline once a day of clock time, checks the present
against it, and raises one alert per finding episode (fingerprint = kind, gateway, episode start).
Before a person has seven days of history the detectors' conservative defaults apply; what was
learned (days, whether it is personal yet, the bathroom rule, the get-up limit) is kept in
``routine_baselines`` at every fit, and the console's resident page says so.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.detector_health import DetectorProblem
from alerts.models import (
    BATHROOM_NO_SENSOR,
    BATHROOM_OFF,
    BATHROOM_WATCHED,
    RoutineBaselineRow,
)
from alerts.routine.baseline import LEARN_DAYS, STANDARD, RoutineBaseline, hour_of, watch_of
from alerts.routine.detectors import (
    BATHROOM_STAY,
    INACTIVITY,
    MISSED_MEAL,
    NIGHT_EXIT,
    NO_BASELINE_NOTE,
    NOT_UP,
    PERSONAL_NOTE,
    RoutineDetector,
    RoutineFinding,
    RoutineStatus,
)
from alerts.routine.events import READ_MEASUREMENTS, SensorEvent, from_reading
from alerts.routine.history import EventHistory
from alerts.routine.timeline import Timeline, from_night_hour, hour_text
from alerts.service import AlertService
from alerts.views import AlertView
from devices.catalog import DEVICE_KINDS
from devices.clock import Clock
from devices.values import Reading
from registry.models import Device, Resident
from registry.repository import GatewayContext, gateway_contexts

log = logging.getLogger(__name__)

# What the baseline learns from: five weeks of the person's own days. The missed-meal rule needs
# 28 days at home (baseline.meal_min_days); a 28-day window holds only 27 complete days, so with
# four weeks here it could never learn a meal window.
HISTORY = timedelta(days=LEARN_DAYS)
RECENT = timedelta(days=2)  # what the detectors look at (their documented need)
REFIT_EVERY = timedelta(days=1)
LATE_READINGS = timedelta(hours=6)  # each sweep fetches this far back again (late readings)
MIN_REAL_INTERVAL_S = 1.0  # never sweep more often than this, however fast simulated time runs
# the wearable's steps: kept for the last RECENT only, as signs of activity when checking (the
# baseline learns from the fixed sensors only: alerts.routine.baseline.RoutineBaseline.fit)
STEPS_MEASUREMENT = "steps"
LEARNED_MEASUREMENTS = READ_MEASUREMENTS - {STEPS_MEASUREMENT}
# the alert's summary is the detector's own words (a tooltip on the console), not a message key
NOTE_WORDS = {
    NO_BASELINE_NOTE: "conservative defaults: no personal baseline yet",
    PERSONAL_NOTE: "from this person's own days",
}
WANDERING_FLAG = "dementia"  # 失智: leaving at night is an alert for these residents

PRIORITY = {
    INACTIVITY: "high",
    NOT_UP: "high",
    BATHROOM_STAY: "high",
    NIGHT_EXIT: "high",
    MISSED_MEAL: "low",
}


class ActivityHistory(Protocol):
    """The one named query of the store this monitor needs."""

    def recent_readings(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> Awaitable[list[Reading]]:
        """Readings of one device and measurement in [since, until], ascending."""
        ...


@dataclass
class _Home:
    """What the monitor remembers about one home."""

    history: EventHistory = field(default_factory=EventHistory)
    steps: EventHistory = field(default_factory=EventHistory)  # the last RECENT of walking
    fetched_until: datetime | None = None
    baseline: RoutineBaseline | None = None
    refit_at: datetime | None = None
    profile: tuple[str, str] = ("", STANDARD)  # (usual get-up time, watch level) fitted with


class RoutineMonitor:
    """Every ``interval_s`` of clock time: learn, check and raise for each home in service."""

    def __init__(
        self,
        service: AlertService,
        sessions: async_sessionmaker[AsyncSession],
        store: ActivityHistory,
        clock: Clock,
        interval_s: float,
        *,
        min_days: int = 7,
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._store = store
        self._clock = clock
        self._interval_s = interval_s
        self._min_days = min_days
        self._homes: dict[str, _Home] = {}
        self.statuses: dict[int, RoutineStatus] = {}  # resident id -> what the console shows
        self._shown: dict[int, tuple[str, datetime | None, datetime | None]] = {}  # as written
        self.failed_homes: tuple[str, ...] = ()  # gateways the last sweep could not check
        self._failing: tuple[datetime, str] | None = None  # since when homes fail, first error

    def problem(self) -> DetectorProblem | None:
        """Homes the last sweep could not check (for the console banner), or None."""
        if not self.failed_homes or self._failing is None:
            return None
        since, error = self._failing
        return DetectorProblem(
            "routine", since, error, homes=len(self.failed_homes), gateways=self.failed_homes
        )

    def baseline(self, gateway_id: str) -> RoutineBaseline | None:
        """The baseline last fitted for a home (None before its first sweep)."""
        home = self._homes.get(gateway_id)
        return home.baseline if home else None

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            await self.check_once()
            await asyncio.sleep(
                max(self._clock.to_real_seconds(self._interval_s), MIN_REAL_INTERVAL_S)
            )

    async def check_once(self) -> list[AlertView]:
        """One sweep over all homes; returns the alerts it raised."""
        now = self._clock.now()
        async with self._sessions() as session:
            contexts = await gateway_contexts(session)
            devices = {c.gateway_id: await _devices(session, c.gateway_id) for c in contexts}
            people = {r.id: r for r in await _residents(session, contexts)}
        raised: list[AlertView] = []
        failed: list[str] = []
        for ctx in contexts:
            if not ctx.residents:
                continue
            try:
                raised += await self._check_home(ctx, devices[ctx.gateway_id], people, now)
            except Exception as err:
                # one home's failure (a store error, data the fit cannot use) must not leave the
                # other homes unwatched; it is logged and retried at the next sweep
                if not failed:
                    log.exception("routine_home_failed gateway=%s", ctx.gateway_id)
                    if self._failing is None:
                        self._failing = (now, f"{type(err).__name__}: {err}"[:300])
                failed.append(ctx.gateway_id)
        await self._record_statuses(now)
        self.failed_homes = tuple(failed)
        if not failed:
            self._failing = None
        else:
            log.error(
                "routine_sweep_incomplete failed=%d of=%d gateways=%s",
                len(failed),
                len(contexts),
                ",".join(failed[:10]),
            )
        return raised

    async def _check_home(
        self,
        ctx: GatewayContext,
        devices: list[tuple[str, str, str]],
        people: dict[int, Resident],
        now: datetime,
    ) -> list[AlertView]:
        home = self._homes.setdefault(ctx.gateway_id, _Home())
        person = people.get(ctx.residents[0].id)
        profile = (person.usual_getup, person.watch) if person is not None else ("", STANDARD)
        daily = home.refit_at is None or now >= home.refit_at
        # a usual get-up time or watch level staff just set (or changed) counts at once, not at
        # tomorrow's refit — a refit on the history already held: only the daily one re-reads it
        refit = daily or profile != home.profile
        if daily:
            home.history, home.fetched_until = EventHistory(), None
        await self._fetch(ctx.gateway_id, devices, home, now)
        if refit:
            # the first refit comes at a time of day of this home's own, so that the daily
            # refits of many homes spread over the day instead of all falling in one sweep
            first = home.baseline is None
            home.baseline = await asyncio.to_thread(self._fit, ctx, home.history, *profile)
            home.profile = profile
            home.refit_at = now + REFIT_EVERY * (_spread(ctx.gateway_id) if first else 1.0)
            await self._record(ctx.residents[0].id, home.baseline, now)
        assert home.baseline is not None
        resident = ctx.residents[0]
        flags = person.risk_flags if person is not None else ""
        detector = RoutineDetector(wandering_risk=WANDERING_FLAG in flags.split(","))
        # built once for the status and the check (each would otherwise build its own)
        recent = Timeline([*home.history.since(now - RECENT), *home.steps.since(now - RECENT)])
        self.statuses[resident.id] = detector.status(home.baseline, recent, now)
        raised: list[AlertView] = []
        for finding in detector.check(home.baseline, recent, now):
            alert = await self._raise(ctx, resident.id, finding)
            if alert is not None:
                raised.append(alert)
        return raised

    async def _record_statuses(self, now: datetime) -> None:
        """Keep each resident's situation where the console can read it — only what changed
        since the last sweep (an unchanged home costs no write)."""
        changed: dict[int, tuple[str, datetime | None, datetime | None]] = {}
        for resident_id, status in self.statuses.items():
            alarm_at = None
            if status.last_activity is not None and status.allowed_silence is not None:
                alarm_at = status.last_activity + status.allowed_silence
            shown = (status.status, status.last_activity, alarm_at)
            if self._shown.get(resident_id) != shown:
                changed[resident_id] = shown
        if not changed:
            return
        try:
            async with self._sessions() as session, session.begin():
                for resident_id, (situation, quiet_since, alarm_at) in changed.items():
                    await session.execute(
                        update(RoutineBaselineRow)
                        .where(RoutineBaselineRow.resident_id == resident_id)
                        .values(situation=situation, quiet_since=quiet_since, alarm_at=alarm_at)
                    )
        except SQLAlchemyError:  # the console shows an older situation; detection goes on
            log.exception("routine_status_not_recorded residents=%d", len(changed))
            return
        self._shown.update(changed)

    async def _record(self, resident_id: int, baseline: RoutineBaseline, now: datetime) -> None:
        """Keep what was learned where the console (maybe another process) can read it."""
        if not baseline.bathroom_observable_:
            bathroom = BATHROOM_NO_SENSOR
        else:
            bathroom = BATHROOM_OFF if baseline.bathroom_threshold_s_ is None else BATHROOM_WATCHED
        row = RoutineBaselineRow(
            resident_id=resident_id,
            days=baseline.days_,
            min_days=baseline.min_days,
            ready=baseline.baseline_ready_,
            bathroom=bathroom,
            getup_limit=hour_text(from_night_hour(baseline.window_.getup_alert)),
            fitted_at=now,
        )
        try:
            async with self._sessions() as session, session.begin():
                await session.merge(row)
        except SQLAlchemyError:  # the console shows an older baseline; detection goes on
            log.exception("routine_baseline_not_recorded resident=%d", resident_id)
        self._shown.pop(resident_id, None)  # the situation is written again after this sweep

    def _fit(
        self, ctx: GatewayContext, history: EventHistory, getup: str, watch: str
    ) -> RoutineBaseline:
        try:
            level = watch_of(watch)
        except ValueError:  # the form checks it; a bad value must not stop the home's checks
            log.warning("routine_bad_watch gateway=%s value=%r", ctx.gateway_id, watch)
            level = watch_of(STANDARD)
        if getup:
            try:
                hour_of(getup)
            except ValueError:  # the form checks it; a bad value must not stop the home's checks
                log.warning("routine_bad_usual_getup gateway=%s value=%r", ctx.gateway_id, getup)
                getup = ""
        return RoutineBaseline(
            ctx.station_timezone,
            min_days=self._min_days,
            usual_getup=getup,
            gap_margin=level.gap_margin,
            bathroom_margin=level.bathroom_margin,
            getup_margin_h=level.getup_margin_h,
        ).fit(history.since(None))

    async def _fetch(
        self, gateway_id: str, devices: list[tuple[str, str, str]], home: _Home, now: datetime
    ) -> None:
        # readings that reach the store late (a gateway's backlog after an outage) carry their
        # own earlier times: each sweep looks back LATE_READINGS again, and the daily refit
        # fetches the whole history afresh, so neither the check nor the baseline misses them
        since = now - HISTORY if home.fetched_until is None else home.fetched_until - LATE_READINGS
        new: list[SensorEvent] = []
        walked: list[SensorEvent] = []
        for key, kind, room in devices:
            for measurement in DEVICE_KINDS[kind].measurements if kind in DEVICE_KINDS else ():
                if measurement in LEARNED_MEASUREMENTS:
                    into, start = new, since
                elif measurement == STEPS_MEASUREMENT:
                    into, start = walked, max(since, now - RECENT)
                else:
                    continue
                for r in await self._store.recent_readings(
                    gateway_id, key, measurement, start, now
                ):
                    event = from_reading(kind, room, r.measurement, r.value, r.time)
                    if event is not None:
                        into.append(event)
        home.history.prune(now - HISTORY)
        home.history.extend(new)
        home.steps.prune(now - RECENT)
        home.steps.extend(walked)
        home.fetched_until = now

    async def _raise(
        self, ctx: GatewayContext, resident_id: int, finding: RoutineFinding
    ) -> AlertView | None:
        fingerprint = f"{finding.kind}:{ctx.gateway_id}:{finding.since.isoformat()}"
        summary = (
            f"{finding.kind}: {finding.observed.total_seconds() / 60:.0f} min "
            f"(allowed {finding.threshold.total_seconds() / 60:.0f} min; "
            f"{NOTE_WORDS.get(finding.note, finding.note)})"
        )
        return await self._service.raise_condition(
            kind=finding.kind,
            gateway_id=ctx.gateway_id,
            resident_id=resident_id,
            fingerprint=fingerprint,
            summary=summary,
            priority=PRIORITY.get(finding.kind, "medium"),
        )


def _spread(gateway_id: str) -> float:
    """A stable fraction in (0, 1] for this home (the same after every restart)."""
    return (zlib.crc32(gateway_id.encode()) % 10_000 + 1) / 10_000


async def _devices(session: AsyncSession, gateway_id: str) -> list[tuple[str, str, str]]:
    rows = await session.scalars(select(Device).where(Device.gateway_id == gateway_id))
    return [(d.key, d.kind, d.room) for d in rows]


async def _residents(session: AsyncSession, contexts: list[GatewayContext]) -> list[Resident]:
    ids = [r.id for c in contexts for r in c.residents]
    if not ids:
        return []
    return list(await session.scalars(select(Resident).where(Resident.id.in_(ids))))
