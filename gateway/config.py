"""The one settings object of the gateway agent (CLI flags > TOML file > ANXIN_GATEWAY_* env > defaults)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.payloads import GatewayId
from gateway.errors import ConfigError
from gateway.fall_detection.model import SHIPPED_MODEL_PATH
from gateway.outbox import DEFAULT_BUDGET_BYTES, DEFAULT_URGENT_RESERVE_BYTES
from gateway.uplink import ACK_TIMEOUT_S, HEARTBEAT_S, WINDOW

READINGS_BATCH_MAX = 500  # readings per message: large enough to amortise, small enough to ack fast
READINGS_BATCH_AGE_S = 5.0  # simulated seconds a reading may wait for its batch to fill


class GatewayConfig(BaseSettings):
    """Everything one gateway agent needs to know."""

    model_config = SettingsConfigDict(env_prefix="ANXIN_GATEWAY_", extra="forbid")

    gateway_id: GatewayId
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None  # defaults to the gateway id when a password is given
    password: SecretStr | None = None
    ca_file: Path | None = None  # TLS: verify the broker against this CA (mqtts://)
    cert_file: Path | None = None  # TLS: optional client certificate
    key_file: Path | None = None
    protocol: Literal["auto", "5", "3.1.1"] = "auto"  # auto: MQTT 5, 3.1.1 if the broker needs it
    data_dir: Path = Path(".anxin-gateway")
    outbox_budget_bytes: int = Field(default=DEFAULT_BUDGET_BYTES, ge=1_000_000)
    urgent_reserve_bytes: int = Field(default=DEFAULT_URGENT_RESERVE_BYTES, ge=10_000)
    health_file: Path | None = None  # touched with a JSON health line while the agent is healthy
    heartbeat_s: float = Field(default=HEARTBEAT_S, gt=0)  # real seconds between status heartbeats
    ack_timeout_s: float = Field(default=ACK_TIMEOUT_S, gt=0)  # real seconds before a resend
    window: int = Field(default=WINDOW, ge=1, le=10_000)  # unacked messages in flight
    batch_max: int = Field(default=READINGS_BATCH_MAX, ge=1, le=5_000)
    batch_age_s: float = Field(default=READINGS_BATCH_AGE_S, gt=0)
    cancel_window_s: float = Field(default=30.0, gt=0)  # clock seconds to press "I'm OK"
    # the trained fall classifier (impact stage); "" runs the plain |a| threshold instead
    fall_model: Path | None = SHIPPED_MODEL_PATH
    home_seed: int = 1  # the simulated home (with --simulate)
    speed: float = Field(default=1.0, gt=0, le=100_000)  # simulated time vs real time
    accel_hz: float = Field(default=50.0, ge=0, le=200)  # simulated accelerometer rate

    @property
    def outbox_path(self) -> Path:
        """This gateway's outbox file."""
        return self.data_dir / f"{self.gateway_id}.outbox.db"

    @property
    def identity_path(self) -> Path:
        """Where ``anxin-gateway provision`` keeps identity, broker URL and credentials (0600)."""
        return self.data_dir / "identity.toml"

    @property
    def login(self) -> str | None:
        """The broker username, if the broker wants one."""
        if self.username:
            return self.username
        return self.gateway_id if self.password is not None else None


def broker_from_url(url: str) -> dict[str, Any]:
    """``mqtt://host:port`` or ``mqtts://host:port`` (TLS: needs ``ca_file``) as settings fields."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(
            f"broker must look like mqtt://host:port or mqtts://host:port, not {url!r}"
        )
    default_port = 8883 if parts.scheme == "mqtts" else 1883
    out: dict[str, Any] = {"broker_host": parts.hostname, "broker_port": parts.port or default_port}
    if parts.username:
        out["username"] = parts.username
    if parts.password:
        out["password"] = parts.password
    return out


def load_config(toml_path: Path | None = None, **overrides: Any) -> GatewayConfig:
    """Settings from an optional TOML file, then ``overrides`` (None values are ignored)."""
    values: dict[str, Any] = {}
    if toml_path is not None:
        try:
            values.update(tomllib.loads(toml_path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"cannot read {toml_path}: {err}") from err
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return GatewayConfig(**values)
    except ValidationError as err:
        raise ConfigError(str(err)) from err
