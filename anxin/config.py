"""The one settings object of ``anxin up``, validated at start (flags > ANXIN_* environment > defaults)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "secret.key"


class Settings(BaseSettings):
    """Everything ``anxin up`` needs to know, with defaults that run on a laptop."""

    model_config = SettingsConfigDict(env_prefix="ANXIN_", extra="forbid")

    data_dir: Path = Path(".anxin")
    host: str = "127.0.0.1"  # the dashboard and the embedded broker listen here
    port: int = Field(default=8000, ge=1, le=65535)  # dashboard (HTTP)
    # 1883 is usually taken by a system Mosquitto; the embedded broker takes the next port.
    mqtt_port: int = Field(default=1884, ge=1, le=65535)
    database_url: str | None = None  # registry/alerts; default SQLite in data_dir
    store: Literal["sqlite", "influxdb"] = "sqlite"
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "anxin"
    demo: bool = False
    homes: int = Field(default=20, ge=1, le=2000)
    speed: float = Field(
        default=1.0, gt=0, le=10_000
    )  # simulated time runs this many times real time
    seed: int = 1
    first_fall_after_min: float = Field(
        default=10.0, ge=0
    )  # demo: home 1 falls this long after start
    station_timezone: str = "Asia/Shanghai"
    status_interval_s: float = Field(default=2.0, gt=0)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def registry_url(self) -> str:
        """The relational database URL (registry, alerts, audit)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'registry.db'}"

    @property
    def timeseries_path(self) -> Path:
        """The embedded time-series store file."""
        return self.data_dir / "timeseries.db"

    @property
    def quarantine_path(self) -> Path:
        """Where rejected messages are kept."""
        return self.data_dir / "quarantine.db"

    @property
    def gateways_dir(self) -> Path:
        """Outboxes of the demo's simulated gateways."""
        return self.data_dir / "gateways"

    def secret_key(self) -> str:
        """The installation's secret (session signing, service logins), created once, mode 0600."""
        return installation_secret(self.data_dir / SECRET_FILE)


def installation_secret(path: Path) -> str:
    """The secret kept in ``path``; made there first (random, mode 0600) if the file is missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
