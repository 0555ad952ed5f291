"""Device health as technical alarms: a silent sensor, a low battery (kept apart from the person).

Pure core: ``DeviceHealth.check`` takes each device's last report and latest battery level with
``now`` and returns findings, remembering which batteries are low (hysteresis: low below 15 %,
fine again only above 25 %, so a level wobbling around 15 % raises one alarm). A device is silent
when it has not reported for longer than its kind allows while another device of the same home
did report (a quiet or empty home is not a broken sensor). A wearable is *not worn* when it
has said so (``worn`` 0) for more than 30 min, or when it is in range (reporting) yet its heart
rate stopped more than 30 min ago; one alarm until it is worn again. A gateway that is offline is one alarm
(link health), not one per device behind it: the monitor skips its devices.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.lifecycle import Priority
from alerts.service import AlertService
from devices.clock import Clock
from devices.values import Reading
from registry.models import Device
from registry.repository import gateway_contexts

log = logging.getLogger(__name__)

SENSOR_SILENT = "sensor_silent"
BATTERY_LOW = "battery_low"
NOT_WORN = "wearable_not_worn"
NOT_WORN_AFTER = timedelta(minutes=30)  # a shower or a change of clothes is shorter
IN_RANGE_WITHIN = timedelta(minutes=10)  # the wearable reported something: it is near its gateway
WORN_LOOKBACK = timedelta(hours=2)  # how far back the monitor reads worn / heart-rate history
LOW_BELOW = 15.0  # % — the alarm
FINE_ABOVE = 25.0  # % — the hysteresis: a new battery, not a wobble around the threshold
# how long a fixed sensor may stay silent: battery sensors report their level at least every
# 6 h, so two missed reports and a margin; a bed mat reports only when someone lies down or gets
# up. Wearables are not judged here: a wearable is silent whenever its wearer is out of range.
SILENT_AFTER: dict[str, timedelta] = {
    "pir": timedelta(hours=13),
    "door": timedelta(hours=13),
    "fridge": timedelta(hours=13),
    "toilet": timedelta(hours=13),
    "leak": timedelta(hours=13),
    "bed": timedelta(hours=48),
}
MIN_REAL_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class DeviceFinding:
    """A technical finding about one device; ``since`` names the episode."""

    kind: str
    gateway_id: str
    device: str
    since: datetime
    detail: str


@dataclass
class DeviceHealth:
    """Checks the devices of homes; keeps which batteries are low between checks."""

    low: dict[tuple[str, str], datetime] = field(default_factory=dict)
    unworn: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def check_worn(
        self,
        gateway_id: str,
        device: str,
        worn: list[Reading],
        last_heart_rate: datetime | None,
        last_report: datetime | None,
        now: datetime,
    ) -> DeviceFinding | None:
        """A wearable not worn: ``worn`` ascending (recent history), times of its last reports.

        Only positive evidence (``worn`` 1, a fresh heart rate) ends an episode: a wearable out of
        range says nothing, so it neither raises nor clears.
        """
        key = (gateway_id, device)
        fresh_pulse = last_heart_rate is not None and now - last_heart_rate <= NOT_WORN_AFTER
        if (worn and worn[-1].value == 1) or fresh_pulse:
            self.unworn.pop(key, None)  # worn again: the next time is a new episode
            return None
        if worn:  # the wearable's own sensor says it is off the wrist
            since = worn[-1].time
            for r in reversed(worn):
                if r.value != 0:
                    break
                since = r.time  # the start of the trailing run of "not worn"
        elif (
            last_heart_rate is not None
            and last_report is not None
            and now - last_report <= IN_RANGE_WITHIN
        ):
            # the pulse stopped while the wearable stayed in range (a pendant with no pulse
            # sensor never had one: it is not judged this way)
            since = last_heart_rate
        else:
            return None
        if now - since <= NOT_WORN_AFTER or key in self.unworn:
            return None
        self.unworn[key] = since
        detail = f"not worn since {since:%Y-%m-%d %H:%M} UTC"
        return DeviceFinding(NOT_WORN, gateway_id, device, since, detail)

    def check(
        self,
        gateway_id: str,
        kinds: dict[str, str],
        last_seen: dict[str, datetime],
        battery: dict[str, float],
        now: datetime,
    ) -> list[DeviceFinding]:
        """Findings for one home: ``kinds`` maps device id to catalog kind."""
        found: list[DeviceFinding] = []
        newest = max(last_seen.values(), default=None)
        for device, kind in kinds.items():
            seen = last_seen.get(device)
            allowed = SILENT_AFTER.get(kind)
            if seen is not None and allowed is not None and newest is not None:
                home_active = now - newest < allowed
                if home_active and now - seen > allowed:
                    found.append(
                        DeviceFinding(SENSOR_SILENT, gateway_id, device, seen, f"silent since {seen:%Y-%m-%d %H:%M} UTC")
                    )  # fmt: skip
            level = battery.get(device)
            key = (gateway_id, device)
            if level is None:
                continue
            if key in self.low:
                if level > FINE_ABOVE:
                    del self.low[key]
            elif level < LOW_BELOW:
                self.low[key] = now
                found.append(
                    DeviceFinding(BATTERY_LOW, gateway_id, device, now, f"battery {level:.0f} %")
                )
        return found


class DeviceReadings(Protocol):
    """The store's named queries this monitor needs."""

    def last_seen(self, gateway: str) -> Awaitable[dict[str, datetime]]:
        """Device -> time of its latest reading."""
        ...

    def recent_readings(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> Awaitable[list[Reading]]:
        """Readings of one device and measurement in [since, until], ascending."""
        ...


class DeviceHealthMonitor:
    """Every ``interval_s`` of clock time, checks every home's devices and raises technical alarms."""

    def __init__(
        self,
        service: AlertService,
        sessions: async_sessionmaker[AsyncSession],
        store: DeviceReadings,
        clock: Clock,
        interval_s: float,
        gateway_offline: Callable[[str], bool] = lambda _gw: False,
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._store = store
        self._clock = clock
        self._interval_s = interval_s
        self._gateway_offline = gateway_offline
        self.health = DeviceHealth()

    async def run(self) -> None:
        """Check until cancelled."""
        while True:
            await asyncio.sleep(
                max(self._clock.to_real_seconds(self._interval_s), MIN_REAL_INTERVAL_S)
            )
            await self.check_once()

    async def check_once(self) -> list[DeviceFinding]:
        """One sweep; returns the findings it raised alarms for."""
        now = self._clock.now()
        async with self._sessions() as session:
            contexts = await gateway_contexts(session)
            rows = (await session.scalars(select(Device))).all()
        kinds: dict[str, dict[str, str]] = {}
        for d in rows:
            kinds.setdefault(d.gateway_id, {})[d.key] = d.kind
        raised: list[DeviceFinding] = []
        for ctx in contexts:
            gw = ctx.gateway_id
            if self._gateway_offline(gw):
                continue  # one gateway alarm stands for every device behind it
            home = kinds.get(gw, {})
            last_seen = await self._store.last_seen(gw)
            battery: dict[str, float] = {}
            for device in home:
                recent = await self._store.recent_readings(
                    gw, device, "battery", now - timedelta(days=2), now
                )
                if recent:
                    battery[device] = recent[-1].value
            findings = self.health.check(gw, home, last_seen, battery, now)
            for device in (d for d, kind in home.items() if kind == "wearable"):
                worn = await self._store.recent_readings(
                    gw, device, "worn", now - WORN_LOOKBACK, now
                )
                pulse = await self._store.recent_readings(
                    gw, device, "heart_rate", now - WORN_LOOKBACK, now
                )
                last_pulse = pulse[-1].time if pulse else None
                unworn = self.health.check_worn(
                    gw, device, worn, last_pulse, last_seen.get(device), now
                )
                if unworn is not None:
                    findings.append(unworn)
            for finding in findings:
                await self._service.raise_condition(
                    kind=finding.kind,
                    gateway_id=gw,
                    resident_id=None,
                    fingerprint=f"{finding.kind}:{gw}:{finding.device}:{finding.since.isoformat()}",
                    summary=f"{finding.device}: {finding.detail}",
                    priority=Priority.TECHNICAL.value,
                )
                raised.append(finding)
        return raised
