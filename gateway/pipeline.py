"""The agent's pure core: device data in, reading batches and urgent events out (no I/O)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devices.payloads import EventKind, ReadingIn
from gateway.adapters.base import AccelBlock, ButtonPress, DeviceData
from gateway.fall_detection.detector import FallDetector as Classifier
from gateway.fall_detection.model import FallModel
from gateway.falls import FallDetector, FallFinding


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An urgent event to put in the outbox; ``event_id`` is chosen once, here."""

    event_id: str
    kind: EventKind
    device: str
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Output:
    """What is ready to go into the outbox."""

    batches: tuple[tuple[ReadingIn, ...], ...] = ()
    events: tuple[NewEvent, ...] = ()


def new_event_id() -> str:
    """A stable id for a new event."""
    return uuid.uuid4().hex


class EdgePipeline:
    """Batches readings by size or age; runs each wearable's accelerometer through a fall detector.

    With ``model`` (the agent always passes the shipped one) a wearable's impacts are the trained
    classifier's suspected falls; without it, a plain |a| threshold (tests of the state machine).
    """

    def __init__(
        self,
        batch_max: int,
        batch_age_s: float,
        cancel_window_s: float,
        model: FallModel | None = None,
    ) -> None:
        self.model = model
        self.batch_max = batch_max
        self.batch_age = timedelta(seconds=batch_age_s)
        self.cancel_window_s = cancel_window_s
        self._pending: list[ReadingIn] = []
        self._pending_since: datetime | None = None
        self._detectors: dict[str, FallDetector] = {}
        self._episodes: dict[str, str] = {}  # device -> id of its pending PRE_ALERT event

    def take(self, data: DeviceData, now: datetime) -> Output:
        """Take what the devices reported; return what is due by ``now``."""
        events: list[NewEvent] = []
        for device in {b.device for b in data.accel} | {p.device for p in data.presses}:
            blocks = [b for b in data.accel if b.device == device]
            presses = sorted((p for p in data.presses if p.device == device), key=lambda p: p.time)
            events += self._wearable(device, blocks, presses)
        events += [
            NewEvent(new_event_id(), e.kind, e.device, e.time, dict(e.data)) for e in data.events
        ]
        batches: list[tuple[ReadingIn, ...]] = []
        for r in data.readings:
            if not self._pending:
                self._pending_since = now
            self._pending.append(ReadingIn(dev=r.device, m=r.measurement, val=r.value, t=r.time))
            if len(self._pending) >= self.batch_max:
                batches.append(self._take_pending())
        due = self.due(now)
        return Output((*batches, *due.batches), (*events, *due.events))

    def due(self, now: datetime) -> Output:
        """Readings that have waited long enough, and falls whose cancel window has passed."""
        events = [
            e
            for device, det in self._detectors.items()
            for e in self._events(device, det.poll(now))
        ]
        if self._pending_since is not None and now - self._pending_since >= self.batch_age:
            return Output((self._take_pending(),), tuple(events))
        return Output((), tuple(events))

    def drain(self) -> tuple[ReadingIn, ...]:
        """Every pending reading (on shutdown)."""
        return self._take_pending() if self._pending else ()

    def next_deadline(self) -> datetime | None:
        """The earliest time at which ``due`` will have something."""
        times = [d.deadline for d in self._detectors.values() if d.deadline is not None]
        if self._pending_since is not None:
            times.append(self._pending_since + self.batch_age)
        return min(times, default=None)

    def _take_pending(self) -> tuple[ReadingIn, ...]:
        batch = tuple(self._pending)
        self._pending = []
        self._pending_since = None
        return batch

    def _wearable(
        self, device: str, blocks: list[AccelBlock], presses: list[ButtonPress]
    ) -> list[NewEvent]:
        """Feed samples and presses in time order: a press cancels only a fall seen before it."""
        det = self._detectors.get(device)
        if det is None:
            classifier = Classifier(self.model) if self.model is not None else None
            det = self._detectors[device] = FallDetector(
                cancel_window_s=self.cancel_window_s, classifier=classifier
            )
        events: list[NewEvent] = []
        queue = list(blocks)
        for press in presses:
            rest: list[AccelBlock] = []
            for block in queue:
                cut = _index_at(block, press.time)
                if cut > 0:
                    events += self._events(
                        device, det.feed(block.start, block.rate_hz, block.samples[:cut])
                    )
                if cut < len(block.samples):
                    rest.append(_tail(block, cut))
            queue = rest
            findings = det.press(press.time)
            events += self._events(device, findings)
            if not any(f.kind is EventKind.CANCEL for f in findings):
                events.append(NewEvent(new_event_id(), EventKind.CALL_BUTTON, device, press.time))
        for block in queue:
            events += self._events(device, det.feed(block.start, block.rate_hz, block.samples))
        return events

    def _events(self, device: str, findings: list[FallFinding]) -> list[NewEvent]:
        out = []
        for f in findings:
            event_id = new_event_id()
            if f.kind is EventKind.PRE_ALERT:
                self._episodes[device] = event_id
            episode = self._episodes.get(device, event_id)
            if f.kind is not EventKind.PRE_ALERT:
                self._episodes.pop(device, None)
            data = {
                "episode": episode,  # the id of the PRE_ALERT this FALL or CANCEL resolves
                "impact_at": f.impact_at.isoformat(),
                "peak_g": round(f.peak_g, 2),
                "still_s": f.still_s,
            }
            out.append(NewEvent(event_id, f.kind, device, f.time, data))
        return out


def _index_at(block: AccelBlock, t: datetime) -> int:
    """How many samples of ``block`` lie before ``t``."""
    offset = (t - block.start).total_seconds() * block.rate_hz
    return min(max(math.ceil(offset), 0), len(block.samples))


def _tail(block: AccelBlock, cut: int) -> AccelBlock:
    start = block.start + timedelta(seconds=cut / block.rate_hz)
    return AccelBlock(block.device, start, block.rate_hz, block.samples[cut:])
