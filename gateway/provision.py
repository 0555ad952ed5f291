"""``anxin-gateway provision``: exchange a claim code for identity, broker URL, CA and login.

The answer is written to ``<data-dir>/identity.toml`` (GatewayConfig fields, so the agent runs
with ``--config <data-dir>/identity.toml``) and ``<data-dir>/ca.pem``, both mode 0600, written
to a temporary file first and renamed, so a crash never leaves half a credential.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import BaseModel, ValidationError

from gateway.config import broker_from_url
from gateway.errors import ConfigError, GatewayError

log = logging.getLogger(__name__)

CLAIM_PATH = "/api/v1/provisioning/claim"
HTTP_TIMEOUT_S = 30.0


class ProvisionError(GatewayError):
    """The platform refused the claim code or could not be reached."""


class _Identity(BaseModel):
    gateway_id: str
    broker_url: str
    ca_cert: str | None
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class Provisioned:
    """Where the identity went."""

    gateway_id: str
    identity_path: Path
    ca_path: Path | None


def _write_secret(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def provision(
    platform: str, code: str, data_dir: Path, client: httpx.Client | None = None
) -> Provisioned:
    """Claim this gateway's identity from ``platform`` (https://…) with a one-time ``code``."""
    url = platform.rstrip("/") + CLAIM_PATH
    http = client or httpx.Client(timeout=HTTP_TIMEOUT_S, verify=True)
    try:
        response = http.post(url, json={"code": code})
    except httpx.HTTPError as err:
        raise ProvisionError(f"cannot reach {url}: {err}") from err
    finally:
        if client is None:
            http.close()
    if response.status_code != httpx.codes.OK:
        raise ProvisionError(f"{url} answered {response.status_code}: {response.text[:200]}")
    try:
        identity = _Identity.model_validate_json(response.content)
        broker = broker_from_url(identity.broker_url)
    except (ValidationError, ConfigError) as err:
        raise ProvisionError(f"unexpected answer from {url}: {err}") from err
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_path = None
    lines = [
        f"gateway_id = {_toml_str(identity.gateway_id)}",
        f"username = {_toml_str(identity.username)}",
        f"password = {_toml_str(identity.password)}",
        f"broker_host = {_toml_str(broker['broker_host'])}",
        f"broker_port = {int(broker['broker_port'])}",
        f"data_dir = {_toml_str(str(data_dir))}",
    ]
    if identity.ca_cert:
        ca_path = data_dir / "ca.pem"
        _write_secret(ca_path, identity.ca_cert)
        lines.append(f"ca_file = {_toml_str(str(ca_path))}")
    identity_path = data_dir / "identity.toml"
    _write_secret(identity_path, "\n".join(lines) + "\n")
    log.info("gateway.provisioned gw=%s identity=%s", identity.gateway_id, identity_path)
    return Provisioned(identity.gateway_id, identity_path, ca_path)
