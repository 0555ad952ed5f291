"""Vitals against the person's own range, with hysteresis (heart rate; SpO2 where present).

``PersonalRange`` follows scikit-learn's conventions: ``fit(values)`` learns the person's normal
band from their own history (median ± k·MAD, clamped to physiological bounds; population
defaults before ``min_samples``). ``VitalsWatch`` raises a finding when the values of the last
``sustain`` stay outside the band, and clears only once they are back inside the narrower inner
band — a value wobbling at the edge is one episode, not many.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Sequence
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

VITALS = "vitals"
# population defaults and hard physiological bounds (an older adult at rest)
DEFAULTS: dict[str, tuple[float, float]] = {"heart_rate": (45.0, 120.0), "spo2": (90.0, 100.0)}
BOUNDS: dict[str, tuple[float, float]] = {"heart_rate": (35.0, 150.0), "spo2": (85.0, 100.0)}
SUSTAIN = timedelta(minutes=5)
HISTORY = timedelta(days=14)
MIN_REAL_INTERVAL_S = 1.0


@dataclass
class PersonalRange:
    """A person's normal band for one vital sign."""

    measurement: str = "heart_rate"
    k: float = 5.0  # MADs either side of the median
    min_samples: int = 7 * 24 * 6  # a week of 10-minute values before the band is personal
    inner: float = 0.8  # the band shrinks to this share around the median to clear an episode

    def fit(self, values: Sequence[float]) -> PersonalRange:
        """Learn the band from the person's own values; population defaults when too few."""
        low_d, high_d = DEFAULTS[self.measurement]
        lo_b, hi_b = BOUNDS[self.measurement]
        self.personal_ = len(values) >= self.min_samples
        if self.personal_:
            median = statistics.median(values)
            mad = statistics.median(abs(v - median) for v in values) or 1.0
            self.low_ = max(lo_b, median - self.k * 1.4826 * mad)
            self.high_ = min(hi_b, median + self.k * 1.4826 * mad)
            self.median_ = median
        else:
            self.low_, self.high_ = low_d, high_d
            self.median_ = (low_d + high_d) / 2
        return self

    def outside(self, value: float) -> bool:
        """True outside the band."""
        return value < self.low_ or value > self.high_

    def well_inside(self, value: float) -> bool:
        """True inside the inner band (what clears an episode)."""
        half_low = (self.median_ - self.low_) * self.inner
        half_high = (self.high_ - self.median_) * self.inner
        return self.median_ - half_low <= value <= self.median_ + half_high


@dataclass(frozen=True, slots=True)
class VitalsFinding:
    """The latest values stayed outside the person's band."""

    measurement: str
    since: datetime
    value: float
    low: float
    high: float
    personal: bool


@dataclass
class VitalsWatch:
    """Episodes per (resident, measurement)."""

    open_since: dict[tuple[int, str], datetime] = field(default_factory=dict)

    def check(
        self,
        resident_id: int,
        band: PersonalRange,
        recent: Sequence[tuple[datetime, float]],
        now: datetime,
    ) -> VitalsFinding | None:
        """A new finding when the last ``SUSTAIN`` of values are all outside; None otherwise."""
        key = (resident_id, band.measurement)
        window = [(t, v) for t, v in recent if now - t <= SUSTAIN]
        if key in self.open_since:
            if window and all(band.well_inside(v) for _, v in window[-3:]):
                del self.open_since[key]
            return None
        if len(window) < 3 or not all(band.outside(v) for _, v in window):
            return None
        if window[-1][0] - window[0][0] < SUSTAIN * 0.6:
            return None  # not sustained long enough yet
        since = window[0][0]
        self.open_since[key] = since
        value = window[-1][1]
        return VitalsFinding(band.measurement, since, value, band.low_, band.high_, band.personal_)


class WearableReadings(Protocol):
    """The store query this monitor needs."""

    def recent_readings(
        self, gateway: str, device: str, measurement: str, since: datetime, until: datetime
    ) -> Awaitable[list[Reading]]:
        """Readings of one device and measurement in [since, until], ascending."""
        ...


class VitalsMonitor:
    """Every ``interval_s`` of clock time: each wearer's heart rate against their own band."""

    def __init__(
        self,
        service: AlertService,
        sessions: async_sessionmaker[AsyncSession],
        store: WearableReadings,
        clock: Clock,
        interval_s: float,
        refit_every: timedelta = timedelta(days=1),
    ) -> None:
        self._service, self._sessions, self._store = service, sessions, store
        self._clock, self._interval_s, self._refit_every = clock, interval_s, refit_every
        self.watch = VitalsWatch()
        self._bands: dict[tuple[int, str], tuple[PersonalRange, datetime]] = {}

    async def run(self) -> None:
        """Check until cancelled."""
        while True:
            await asyncio.sleep(
                max(self._clock.to_real_seconds(self._interval_s), MIN_REAL_INTERVAL_S)
            )
            await self.check_once()

    async def check_once(self) -> list[VitalsFinding]:
        """One sweep over every wearable with a wearer."""
        now = self._clock.now()
        async with self._sessions() as session:
            contexts = {c.gateway_id: c for c in await gateway_contexts(session)}
            wearables = (
                await session.scalars(select(Device).where(Device.kind == "wearable"))
            ).all()
        found: list[VitalsFinding] = []
        for device in wearables:
            ctx = contexts.get(device.gateway_id)
            resident = device.resident_id or (
                ctx.residents[0].id if ctx and ctx.residents else None
            )
            if ctx is None or resident is None:
                continue
            for measurement in DEFAULTS:
                band = await self._band(resident, device, measurement, now)
                recent = await self._store.recent_readings(
                    device.gateway_id, device.key, measurement, now - SUSTAIN, now
                )
                finding = self.watch.check(resident, band, [(r.time, r.value) for r in recent], now)
                if finding is None:
                    continue
                await self._service.raise_condition(
                    kind=VITALS, gateway_id=device.gateway_id, resident_id=resident,
                    fingerprint=f"{VITALS}:{resident}:{measurement}:{finding.since.isoformat()}",
                    summary=f"{measurement} {finding.value:.0f} outside {finding.low:.0f}–{finding.high:.0f}"
                    + ("" if finding.personal else " (no personal range yet)"),
                    priority=Priority.MEDIUM.value,
                )  # fmt: skip
                found.append(finding)
        return found

    async def _band(
        self, resident: int, device: Device, measurement: str, now: datetime
    ) -> PersonalRange:
        cached = self._bands.get((resident, measurement))
        if cached is not None and now - cached[1] < self._refit_every:
            return cached[0]
        history = await self._store.recent_readings(
            device.gateway_id, device.key, measurement, now - HISTORY, now
        )
        band = PersonalRange(measurement).fit([r.value for r in history])
        self._bands[(resident, measurement)] = (band, now)
        return band
