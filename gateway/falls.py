"""Edge fall confirmation: an impact, then lying still, then no cancel within the window.

A pure state machine: it takes samples (with their times) and ``now``, and returns findings. The
gateway turns findings into urgent events. The impact stage is either the trained classifier
(``gateway.fall_detection``: posture-change rule + SisFall model; what the agent runs) or, without
one, a plain |a| threshold (kept for tests and for a gateway without the model file).

    IDLE --impact--> IMPACT --still for still_s--> PRE_ALERT --cancel_window_s--> FALL
                      |  no stillness within impact_timeout_s -> IDLE (got up again)
                      PRE_ALERT --button--> CANCEL

With a classifier, "impact" is the classifier's suspected fall (reported 2.5 s after the impact);
the stillness that confirms it is measured on the samples after that, so movement after a
suspected fall (the wearer got up) still vetoes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np

from devices.payloads import EventKind
from gateway.fall_detection.detector import FallDetector as Classifier

IMPACT_G = 2.5  # older people's falls peak well above 2.5 g; walking and sitting stay under ~1.8 g
STILL_BAND_G = 0.15  # |a| within 1 g ± this counts as "not moving"
STILL_STD_G = 0.05  # and the magnitude's spread over the still window stays below this
STILL_S = 4.0  # lying still this long after an impact makes it a suspected fall
SETTLE_S = 1.0  # bounces right after the impact are ignored
IMPACT_TIMEOUT_S = 10.0  # an impact not followed by stillness within this is a stumble
CANCEL_WINDOW_S = 30.0  # time the wearer has to press "I'm OK" before the fall is confirmed


class Phase(StrEnum):
    """Where the detector is."""

    IDLE = "idle"
    IMPACT = "impact"
    PRE_ALERT = "pre_alert"


@dataclass(frozen=True, slots=True)
class FallFinding:
    """A detector outcome: ``kind`` is PRE_ALERT, FALL or CANCEL; ``impact_at`` ties them together."""

    kind: EventKind
    time: datetime
    impact_at: datetime
    peak_g: float
    still_s: float


class FallDetector:
    """Rule-based fall detector for one wearable."""

    def __init__(
        self,
        *,
        impact_g: float = IMPACT_G,
        still_band_g: float = STILL_BAND_G,
        still_std_g: float = STILL_STD_G,
        still_s: float = STILL_S,
        settle_s: float = SETTLE_S,
        impact_timeout_s: float = IMPACT_TIMEOUT_S,
        cancel_window_s: float = CANCEL_WINDOW_S,
        classifier: Classifier | None = None,
    ) -> None:
        self.classifier = classifier
        self.impact_g = impact_g
        self.still_band_g = still_band_g
        self.still_std_g = still_std_g
        self.still_s = still_s
        self.settle_s = settle_s
        self.impact_timeout_s = impact_timeout_s
        self.cancel_window_s = cancel_window_s
        self.phase = Phase.IDLE
        self._impact_at: datetime | None = None
        self._impact_ts = 0.0
        self._peak = 0.0
        self._still_since: float | None = None
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._pre_alert_at: datetime | None = None

    @property
    def deadline(self) -> datetime | None:
        """When a pending pre-alert becomes a confirmed fall, or None."""
        if self._pre_alert_at is None:
            return None
        return self._pre_alert_at + timedelta(seconds=self.cancel_window_s)

    def feed(
        self, start: datetime, rate_hz: float, samples: Sequence[tuple[float, float, float]]
    ) -> list[FallFinding]:
        """Take consecutive samples (g) from ``start`` at ``rate_hz``; return new findings."""
        findings: list[FallFinding] = []
        t0 = start.timestamp()
        if self.classifier is not None:
            self._classify(t0, rate_hz, samples)
        for i, (x, y, z) in enumerate(samples):
            if self.phase is Phase.PRE_ALERT:
                break  # waiting for the wearer, not for the accelerometer
            ts = t0 + i / rate_hz
            mag = math.sqrt(x * x + y * y + z * z)
            if self.classifier is None and mag > self.impact_g:
                if self.phase is Phase.IDLE or mag > self._peak:
                    self._impact(start, ts - t0, ts, mag)
                else:
                    self._restart_still()  # more violent movement: not lying still
                continue
            if self.phase is Phase.IMPACT:
                finding = self._after_impact(start, ts - t0, ts, mag)
                if finding is not None:
                    findings.append(finding)
        return findings

    def poll(self, now: datetime) -> list[FallFinding]:
        """Confirm a pending pre-alert once the cancel window has passed by ``now``."""
        deadline = self.deadline
        if deadline is None or now < deadline or self._impact_at is None:
            return []
        finding = FallFinding(EventKind.FALL, deadline, self._impact_at, self._peak, self._still())
        self._reset()
        return [finding]

    def press(self, now: datetime) -> list[FallFinding]:
        """The wearer pressed the button: cancels a pending pre-alert (else nothing to cancel)."""
        found = self.poll(now)
        if found or self.phase is not Phase.PRE_ALERT or self._impact_at is None:
            return found
        finding = FallFinding(EventKind.CANCEL, now, self._impact_at, self._peak, self._still())
        self._reset()
        return [finding]

    def _classify(
        self, t0: float, rate_hz: float, samples: Sequence[tuple[float, float, float]]
    ) -> None:
        """Run the classifier over the block first: its suspected falls are the impacts."""
        assert self.classifier is not None
        if not samples:
            return
        times = t0 + np.arange(len(samples)) / rate_hz
        for fall in self.classifier.feed(times, np.asarray(samples, dtype=np.float64)):
            if self.phase is Phase.PRE_ALERT:
                continue  # the same fall seen again while the wearer is asked
            at = datetime.fromtimestamp(fall.time_s, UTC)
            self._impact(at, 0.0, fall.time_s, fall.peak_g)

    def _impact(self, start: datetime, offset: float, ts: float, mag: float) -> None:
        self.phase = Phase.IMPACT
        self._impact_at = start + timedelta(seconds=offset)
        self._impact_ts = ts
        self._peak = mag
        self._restart_still()

    def _after_impact(
        self, start: datetime, offset: float, ts: float, mag: float
    ) -> FallFinding | None:
        since_impact = ts - self._impact_ts
        if since_impact < self.settle_s:
            return None
        if abs(mag - 1.0) > self.still_band_g:
            self._restart_still()
            if since_impact > self.impact_timeout_s:
                self._reset()
            return None
        if self._still_since is None:
            self._still_since = ts
        self._n += 1
        delta = mag - self._mean
        self._mean += delta / self._n
        self._m2 += delta * (mag - self._mean)
        if ts - self._still_since >= self.still_s:
            if math.sqrt(self._m2 / self._n) > self.still_std_g:
                self._restart_still()
                return None
            assert self._impact_at is not None
            self.phase = Phase.PRE_ALERT
            self._pre_alert_at = start + timedelta(seconds=offset)
            return FallFinding(
                EventKind.PRE_ALERT, self._pre_alert_at, self._impact_at, self._peak, self._still()
            )
        if since_impact > self.impact_timeout_s + self.still_s:
            self._reset()
        return None

    def _still(self) -> float:
        return self.still_s if self._pre_alert_at is not None else 0.0

    def _restart_still(self) -> None:
        self._still_since = None
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0

    def _reset(self) -> None:
        self.phase = Phase.IDLE
        self._impact_at = None
        self._peak = 0.0
        self._pre_alert_at = None
        self._restart_still()
