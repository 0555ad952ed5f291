"""What the dashboard is given by the composition root (no globals: it lives on app.state)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.detector_health import DetectorProblem
from alerts.feed import AlertFeed
from alerts.service import AlertService
from dashboard.audit import AuditTrail
from devices.clock import Clock, SystemClock
from devices.payloads import CommandMessage, StatusMessage
from ingest.quarantine import Quarantine
from ingest.store import ReadingStore

GatewayStatus = Callable[[], Mapping[str, StatusMessage]]  # gateway id -> its retained status
SendCommand = Callable[[str, CommandMessage], Awaitable[None]]  # publish on anxin/v1/<gw>/cmd


@dataclass(frozen=True, slots=True)
class DashboardContext:
    """The dashboard's collaborators and settings."""

    sessions: async_sessionmaker[AsyncSession]
    alerts: AlertService
    feed: AlertFeed
    is_ready: Callable[[], bool]
    secret_key: str
    clock: Clock
    # credentials (tokens, session cookies, login lockouts) expire in real time, even when the
    # demo runs the rest of the platform on a fast simulated clock
    auth_clock: Clock = field(default_factory=SystemClock)
    secure_cookies: bool = False
    store: ReadingStore | None = None  # the time-series named queries; None: pages show no activity
    gateway_status: GatewayStatus | None = None  # None: the installer app shows "unknown"
    send_command: SendCommand | None = None  # None: pairing commands and test alarms are disabled
    quarantine: Quarantine | None = None  # ingest's rejected messages, for operators
    audit: AuditTrail | None = None  # issue 6's audit log; None: reads are not recorded
    # detectors that are not running (console banner, /healthz "degraded"); None: not known here
    detector_problems: Callable[[], list[DetectorProblem]] | None = None
