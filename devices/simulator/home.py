"""A simulated home: the resident's plan turned into what the sensors and the wearable report."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

from devices.catalog import DEVICE_KINDS
from devices.simulator import HOME_DEVICES
from devices.simulator.routine import (
    CHINA_TZ,
    IN_BED,
    Activity,
    DayPlan,
    Incident,
    IncidentKind,
    IncidentRates,
    ResidentProfile,
    Segment,
    plan_day,
    segment_at,
    with_incident,
)
from devices.simulator.wearable import (
    BATTERY_RECHARGE_BELOW,
    accel_samples,
    battery_after,
    sample_times,
    vitals,
)

PIR_CLEAR_S = 90.0  # PIRs report "no motion" this long after the last movement they saw
ACCEL_HZ = 50.0  # the wearable's accelerometer rate; raw samples never leave the gateway
SENSOR_BATTERY_EVERY_H = 6  # mains-less sensors report their battery every few hours
WEARABLE = "wear-1"
BATTERY_SENSORS = tuple(
    device
    for device, kind, _ in HOME_DEVICES
    if "battery" in DEVICE_KINDS[kind].measurements and kind != "wearable"
)
# Movements a PIR sees per minute, by activity (Poisson rate).
MOTION_PER_MIN: dict[Activity, float] = {
    Activity.SLEEP: 0.01,
    Activity.TOILET: 2.0,
    Activity.WASH: 3.0,
    Activity.COOK: 3.0,
    Activity.EAT: 0.5,
    Activity.TV: 0.15,
    Activity.IDLE: 1.0,
    Activity.VISIT: 2.0,
    Activity.FALLEN: 0.0,
    Activity.LIE_IN: 0.0,
    Activity.OUT: 0.0,
}


@dataclass(frozen=True, slots=True)
class SimReading:
    """One report of one device, as it would arrive at the gateway."""

    device: str
    measurement: str
    value: float
    time: datetime


@dataclass(frozen=True, slots=True)
class AccelBlock:
    """Consecutive accelerometer samples (x, y, z in g) at ``rate_hz`` from ``start``."""

    start: datetime
    rate_hz: float
    samples: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """The wearable's call button was pressed."""

    device: str
    time: datetime


@dataclass(frozen=True, slots=True)
class StepOutput:
    """What the home produced in one step; ``incidents`` is ground truth, for tests and evaluation."""

    readings: tuple[SimReading, ...]
    accel: tuple[AccelBlock, ...]
    presses: tuple[ButtonPress, ...]
    incidents: tuple[Incident, ...]


class _Stim(StrEnum):
    MOTION = "motion"
    DOOR = "door"
    FRIDGE = "fridge"
    FLUSH = "flush"
    BED = "bed"


@dataclass
class _Pir:
    on: bool = False
    last: datetime | None = None


@dataclass
class _State:
    pirs: dict[str, _Pir] = field(default_factory=dict)
    battery: float = 100.0
    battery_at: datetime | None = None


class SimulatedHome:
    """One home and its resident, stepped forward in (simulated) time; deterministic per seed."""

    def __init__(
        self,
        home_seed: int,
        start: datetime,
        incident_rates: IncidentRates | None = None,
        *,
        tz: tzinfo = CHINA_TZ,
        accel_hz: float = ACCEL_HZ,
    ) -> None:
        self.home_seed = home_seed
        self.rates = incident_rates if incident_rates is not None else IncidentRates()
        self.tz = tz
        self.accel_hz = accel_hz
        self.profile = ResidentProfile.draw(random.Random(f"anxin-profile:{home_seed}"))
        self._noise = random.Random(f"anxin-noise:{home_seed}")
        self._impact_g = 3.0
        self._plans: dict[date, DayPlan] = {}
        self._t = start
        self._segment: Segment | None = None
        self._stimuli: list[tuple[datetime, int, _Stim, str, float]] = []
        self._counter = 0
        self._state = _State(pirs={room: _Pir() for room in self._rooms()})
        self._state.battery = self._noise.uniform(60.0, 100.0)
        self._state.battery_at = start
        self._started = False

    @staticmethod
    def _rooms() -> tuple[str, ...]:
        return ("bedroom", "bathroom", "kitchen", "living_room", "hallway")

    @property
    def now(self) -> datetime:
        """The simulated time up to which the home has been stepped."""
        return self._t

    def plan(self, day: date) -> DayPlan:
        """The plan of one local day (made on first use, then kept)."""
        plan = self._plans.get(day)
        if plan is None:
            rng = random.Random(f"anxin-day:{self.home_seed}:{day.isoformat()}")
            plan = plan_day(self.profile, day, rng, self.rates, self.tz)
            self._plans[day] = plan
        return plan

    def segment_at(self, t: datetime) -> Segment:
        """What the resident is doing at ``t``."""
        return segment_at(self.plan(t.astimezone(self.tz).date()).segments, t)

    def force_incident(self, kind: IncidentKind, at: datetime, *, cancelled: bool = False) -> None:
        """Make an incident happen at ``at`` (not before the home's current time)."""
        if at < self._t:
            raise ValueError(f"cannot change the past: {at} < {self._t}")
        day = at.astimezone(self.tz).date()
        rng = random.Random(f"anxin-force:{self.home_seed}:{at.isoformat()}")
        self._plans[day] = with_incident(self.plan(day), Incident(kind, at, cancelled), rng)

    def step(self, until: datetime) -> StepOutput:
        """Simulate from the home's current time until ``until``; return what the devices reported."""
        t0 = self._t
        readings: list[SimReading] = []
        blocks: list[AccelBlock] = []
        if not self._started:
            self._started = True
            readings += self._snapshot(t0)
        t = t0
        while t < until:
            seg = self.segment_at(t)
            if self._segment is None or (seg.start, seg.activity) != (
                self._segment.start,
                self._segment.activity,
            ):
                self._enter(self._segment, seg, t)
            elif seg.end != self._segment.end:  # an incident was forced into this segment
                self._stimuli = [s for s in self._stimuli if s[0] < seg.end]
                heapq.heapify(self._stimuli)
            self._segment = seg
            end = min(seg.end, until)
            readings += self._apply_stimuli(end)
            readings += self._wearable_ticks(seg, t, end)
            if seg.activity is not Activity.OUT and self.accel_hz > 0:
                first, times = sample_times(t, end, self.accel_hz)
                if times:
                    samples = accel_samples(
                        seg.activity, times, seg.start.timestamp(), self._impact_g, self._noise
                    )
                    blocks.append(AccelBlock(first, self.accel_hz, tuple(samples)))
            t = end
        readings += self._pir_clears(until)
        self._t = until
        readings.sort(key=lambda r: r.time)
        return StepOutput(
            tuple(readings),
            tuple(_merge(blocks)),
            self._presses(t0, until),
            self._incidents(t0, until),
        )

    def _days(self, t0: datetime, t1: datetime) -> list[DayPlan]:
        first, last = t0.astimezone(self.tz).date(), t1.astimezone(self.tz).date()
        return [self.plan(first + timedelta(days=i)) for i in range((last - first).days + 1)]

    def _presses(self, t0: datetime, t1: datetime) -> tuple[ButtonPress, ...]:
        return tuple(
            ButtonPress(WEARABLE, p)
            for plan in self._days(t0, t1)
            for p in plan.presses
            if t0 <= p < t1
        )

    def _incidents(self, t0: datetime, t1: datetime) -> tuple[Incident, ...]:
        return tuple(i for plan in self._days(t0, t1) for i in plan.incidents if t0 <= i.time < t1)

    def _snapshot(self, t: datetime) -> list[SimReading]:
        """What the devices report when the gateway starts: their current states."""
        seg = self.segment_at(t)
        out = [
            SimReading("door-front", "contact_open", 0.0, t),
            SimReading("fridge-1", "contact_open", 0.0, t),
            SimReading("bed-1", "bed_occupied", float(seg.activity in IN_BED), t),
        ]
        out += [SimReading(f"pir-{room}", "motion", 0.0, t) for room in self._rooms()]
        return out

    def _sensor_battery(self, device: str, t: datetime) -> float:
        rng = random.Random(f"anxin-battery:{self.home_seed}:{device}")
        initial, per_day = rng.uniform(60, 100), rng.uniform(0.02, 0.08)
        days = t.timestamp() / 86_400 % 1000  # slow drain; wraps round as batteries are replaced
        return float(round(max(initial - per_day * days, 5.0)))

    def _push(self, t: datetime, stim: _Stim, arg: str = "", value: float = 0.0) -> None:
        self._counter += 1
        heapq.heappush(self._stimuli, (t, self._counter, stim, arg, value))

    def _enter(self, prev: Segment | None, seg: Segment, t: datetime) -> None:
        """Schedule what the sensors will see during ``seg`` (entered at ``t``)."""
        rng = self._noise
        s = timedelta(seconds=1)
        length = (seg.end - t).total_seconds()
        prev_room = prev.room if prev else seg.room
        if seg.activity is Activity.OUT or (prev and prev.activity is Activity.OUT):
            # leaving or coming home: hallway, door open, door closed
            self._push(t, _Stim.MOTION, "hallway")
            self._push(t + 3 * s, _Stim.DOOR, "", 1.0)
            self._push(t + 8 * s, _Stim.DOOR, "", 0.0)
        if seg.activity is Activity.VISIT and (prev is None or prev.activity is not Activity.VISIT):
            self._push(t, _Stim.DOOR, "", 1.0)
            self._push(t + 10 * s, _Stim.DOOR, "", 0.0)
        if (
            prev is not None
            and prev.activity is Activity.VISIT
            and seg.activity is not Activity.VISIT
        ):
            self._push(t, _Stim.DOOR, "", 1.0)
            self._push(t + 6 * s, _Stim.DOOR, "", 0.0)
        in_bed = seg.activity in IN_BED
        if prev is not None and (prev.activity in IN_BED) != in_bed:
            self._push(t + s, _Stim.BED, "", float(in_bed))
        still = seg.activity in (Activity.FALLEN, Activity.LIE_IN)
        if seg.room is not None and seg.room != prev_room and not still:
            self._push(t, _Stim.MOTION, "hallway")
            self._push(t + 2 * s, _Stim.MOTION, seg.room)
        elif (
            seg.room is not None
            and prev is not None
            and prev.activity != seg.activity
            and not still
        ):
            self._push(t, _Stim.MOTION, seg.room)
        rate = MOTION_PER_MIN[seg.activity] / 60.0
        if seg.room is not None and rate > 0:
            at = rng.expovariate(rate)
            while at < length:
                self._push(t + timedelta(seconds=at), _Stim.MOTION, seg.room)
                at += rng.expovariate(rate)
        if seg.activity is Activity.VISIT:  # the visitor moves about as well
            at = rng.expovariate(1 / 300)
            while at < length:
                self._push(
                    t + timedelta(seconds=at),
                    _Stim.MOTION,
                    rng.choice(("kitchen", "living_room", "hallway")),
                )
                at += rng.expovariate(1 / 300)
        if seg.activity is Activity.COOK:
            for _ in range(1 + (rng.random() < 0.5)):
                opened = rng.uniform(5, max(length - 60, 6))
                self._push(t + timedelta(seconds=opened), _Stim.FRIDGE, "", 1.0)
                self._push(
                    t + timedelta(seconds=opened + rng.uniform(5, 40)), _Stim.FRIDGE, "", 0.0
                )
        if seg.activity is Activity.TOILET:
            self._push(t + timedelta(seconds=max(length - rng.uniform(5, 20), 0)), _Stim.FLUSH)
        if seg.activity is Activity.FALLEN:
            self._impact_g = rng.uniform(2.8, 4.5)

    def _apply_stimuli(self, end: datetime) -> list[SimReading]:
        out: list[SimReading] = []
        while self._stimuli and self._stimuli[0][0] < end:
            t, _, stim, arg, value = heapq.heappop(self._stimuli)
            out += self._pir_clears(t)
            if stim is _Stim.MOTION:
                pir = self._state.pirs[arg]
                if not pir.on:
                    pir.on = True
                    out.append(SimReading(f"pir-{arg}", "motion", 1.0, t))
                pir.last = t
            elif stim is _Stim.DOOR:
                out.append(SimReading("door-front", "contact_open", value, t))
            elif stim is _Stim.FRIDGE:
                out.append(SimReading("fridge-1", "contact_open", value, t))
            elif stim is _Stim.FLUSH:
                out.append(SimReading("toilet-1", "flush", 1.0, t))
            else:
                out.append(SimReading("bed-1", "bed_occupied", value, t))
        return out

    def _pir_clears(self, until: datetime) -> list[SimReading]:
        out: list[SimReading] = []
        clear = timedelta(seconds=PIR_CLEAR_S)
        for room, pir in self._state.pirs.items():
            if pir.on and pir.last is not None and pir.last + clear <= until:
                pir.on = False
                out.append(SimReading(f"pir-{room}", "motion", 0.0, pir.last + clear))
        return out

    def _wearable_ticks(self, seg: Segment, t0: datetime, t1: datetime) -> list[SimReading]:
        """Vitals at each whole minute in [t0, t1), battery at each whole hour; silent when away."""
        out: list[SimReading] = []
        first = math.ceil(t0.timestamp() / 60)
        last = math.ceil(t1.timestamp() / 60)
        for minute in range(first, last):
            if seg.activity is Activity.OUT:
                continue
            at = datetime.fromtimestamp(minute * 60, UTC)
            v = vitals(seg.activity, self.profile.resting_hr, self._noise)
            out.append(SimReading(WEARABLE, "heart_rate", float(v.heart_rate), at))
            out.append(SimReading(WEARABLE, "steps", float(v.steps), at))
            if minute % 60 == 0:
                out.append(SimReading(WEARABLE, "battery", self._battery(seg, at), at))
            if minute % (60 * SENSOR_BATTERY_EVERY_H) == 0:
                out += [
                    SimReading(d, "battery", self._sensor_battery(d, at), at)
                    for d in BATTERY_SENSORS
                ]
        return out

    def _battery(self, seg: Segment, at: datetime) -> float:
        state = self._state
        hours = (at - (state.battery_at or at)).total_seconds() / 3600
        state.battery = battery_after(state.battery, hours)
        state.battery_at = at
        if seg.activity is Activity.SLEEP and state.battery < BATTERY_RECHARGE_BELOW:
            state.battery = 100.0  # charged on the bedside table overnight
        return float(round(state.battery))


def _merge(blocks: list[AccelBlock]) -> list[AccelBlock]:
    """Join blocks that continue each other on the sample grid."""
    out: list[AccelBlock] = []
    for block in blocks:
        if out:
            prev = out[-1]
            expected = prev.start + timedelta(seconds=len(prev.samples) / prev.rate_hz)
            if abs((block.start - expected).total_seconds()) < 0.5 / block.rate_hz:
                out[-1] = AccelBlock(prev.start, prev.rate_hz, prev.samples + block.samples)
                continue
        out.append(block)
    return out
