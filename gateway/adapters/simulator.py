"""The simulator as a device adapter: steps a ``SimulatedHome`` along the injected clock."""

from __future__ import annotations

import asyncio

from devices.clock import Clock
from devices.simulator.home import WEARABLE, SimulatedHome
from gateway.adapters.base import AccelBlock, ButtonPress, DeviceData, DeviceReading

STEP_S = 2.0  # simulated seconds per step: fine enough for the console, coarse enough to be cheap
MIN_WAIT_S = 0.02  # real seconds between steps at least, so a stopped clock does not spin


class SimulatorAdapter:
    """Reads a simulated home in steps of ``step_s`` simulated seconds as the clock moves on."""

    def __init__(self, home: SimulatedHome, clock: Clock, step_s: float = STEP_S) -> None:
        self.home = home
        self.clock = clock
        self.step_s = step_s

    async def read(self) -> DeviceData:
        """Wait one step of simulated time, then return what the home's devices reported."""
        behind = self.step_s - (self.clock.now() - self.home.now).total_seconds()
        await asyncio.sleep(max(self.clock.to_real_seconds(behind), MIN_WAIT_S))
        now = self.clock.now()
        if now <= self.home.now:
            return DeviceData()
        out = self.home.step(now)
        return DeviceData(
            readings=tuple(
                DeviceReading(r.device, r.measurement, r.value, r.time) for r in out.readings
            ),
            accel=tuple(AccelBlock(WEARABLE, b.start, b.rate_hz, b.samples) for b in out.accel),
            presses=tuple(ButtonPress(p.device, p.time) for p in out.presses),
        )
