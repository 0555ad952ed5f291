"""What the dashboard is given by the composition root (no globals: it lives on app.state)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.feed import AlertFeed
from alerts.service import AlertService
from devices.clock import Clock
from ingest.store import ReadingStore


@dataclass(frozen=True, slots=True)
class DashboardContext:
    """The dashboard's collaborators and settings."""

    sessions: async_sessionmaker[AsyncSession]
    alerts: AlertService
    feed: AlertFeed
    is_ready: Callable[[], bool]
    secret_key: str
    clock: Clock
    secure_cookies: bool = False
    store: ReadingStore | None = None  # the time-series named queries; None: pages show no activity
