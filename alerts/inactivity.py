"""A simple inactivity rule and the monitor that sweeps every home with it.

The rule is a stand-in for the learned per-person detector (DESIGN.md, Detection): no sign of
activity for more than 4 h in the daytime, or more than 12 h at any time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlertError
from alerts.lifecycle import Priority
from alerts.service import AlertService
from alerts.views import AlertView
from devices.clock import Clock
from ingest.errors import IngestError
from registry.repository import GatewayContext, gateway_contexts

log = logging.getLogger(__name__)

KIND = "inactivity"
MIN_REAL_INTERVAL_S = 1.0  # never sweep more often than this, however fast simulated time runs

LastActivity = Callable[[Sequence[str], datetime], Awaitable[dict[str, datetime]]]


@dataclass(frozen=True, slots=True)
class InactivityRule:
    """Thresholds of the rule (hours are local to the station)."""

    day_start_hour: float = 8.0  # before this people may still be asleep
    day_end_hour: float = 21.0
    day_gap: timedelta = timedelta(hours=4)  # longer than a nap or an outing's quiet home
    any_gap: timedelta = timedelta(hours=12)  # longer than a long night's sleep


DEFAULT_RULE = InactivityRule()


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule found (not an alert): the episode started at ``since``."""

    kind: str
    priority: str
    since: datetime
    gap: timedelta
    reason: str  # "daytime" | "any_time"


def check_inactivity(
    last_activity: datetime | None,
    now: datetime,
    local_hour: float,
    rule: InactivityRule = DEFAULT_RULE,
) -> Finding | None:
    """A finding when the home has been quiet too long; None if not (or never any activity).

    ``local_hour`` is the station's local time of ``now`` in hours (9.5 = 09:30). In the daytime
    only the quiet since the day began counts, so a night's sleep is not taken for inactivity.
    """
    if last_activity is None:
        return None  # no data at all is a technical matter (sensor silent), not inactivity
    gap = now - last_activity
    if gap > rule.any_gap:
        return Finding(KIND, Priority.MEDIUM.value, last_activity, gap, "any_time")
    if rule.day_start_hour <= local_hour < rule.day_end_hour:
        into_day = timedelta(hours=local_hour - rule.day_start_hour)
        if min(gap, into_day) > rule.day_gap:
            return Finding(KIND, Priority.MEDIUM.value, last_activity, gap, "daytime")
    return None


def _local_hour(now: datetime, zone_name: str) -> float:
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("inactivity_unknown_timezone zone=%s fallback=UTC", zone_name)
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return local.hour + local.minute / 60


class InactivityMonitor:
    """Every ``interval_s`` of clock time, checks each home in service and raises alerts."""

    def __init__(
        self,
        service: AlertService,
        sessions: async_sessionmaker[AsyncSession],
        last_activity: LastActivity,
        clock: Clock,
        interval_s: float,
        rule: InactivityRule = DEFAULT_RULE,
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._last_activity = last_activity
        self._clock = clock
        self._interval_s = interval_s
        self._rule = rule

    async def run(self) -> None:
        """Sweep until cancelled; a failed sweep is logged and the next one tries again."""
        while True:
            try:
                await self.check_once()
            except (AlertError, IngestError) as err:
                log.warning("inactivity_sweep_failed error=%r", err)
            delay = max(self._clock.to_real_seconds(self._interval_s), MIN_REAL_INTERVAL_S)
            await asyncio.sleep(delay)

    async def check_once(self) -> list[AlertView]:
        """One sweep over every home; returns the alerts it raised."""
        now = self._clock.now()
        async with self._sessions() as session:
            contexts = await gateway_contexts(session)
        if not contexts:
            return []
        last = await self._last_activity([c.gateway_id for c in contexts], now)
        raised = []
        for context in contexts:
            finding = check_inactivity(
                last.get(context.gateway_id),
                now,
                _local_hour(now, context.station_timezone),
                self._rule,
            )
            if finding is not None:
                view = await self._raise(context, finding)
                if view is not None:
                    raised.append(view)
        return raised

    async def _raise(self, context: GatewayContext, finding: Finding) -> AlertView | None:
        resident = context.residents[0] if context.residents else None
        # the episode is this quiet spell: the same last activity never raises twice
        fingerprint = f"{KIND}:{context.gateway_id}:{int(finding.since.timestamp())}"
        hours = finding.gap.total_seconds() / 3600
        return await self._service.raise_condition(
            kind=finding.kind,
            gateway_id=context.gateway_id,
            resident_id=resident.id if resident else None,
            fingerprint=fingerprint,
            summary=f"no activity for {hours:.1f} h since {finding.since:%Y-%m-%dT%H:%MZ}",
            priority=finding.priority,
        )
