"""Broker logins: the platform's own services and registered gateways."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable

from anxin.broker import Principal

log = logging.getLogger(__name__)

SERVICE_USERS = ("anxin-ingest", "anxin-alerts", "anxin-platform")

# Returns the stored argon2 hash of a gateway's secret, or None if unknown or revoked.
GatewaySecretLookup = Callable[[str], Awaitable[str | None]]
PasswordCheck = Callable[[str, str], bool]


def service_password(secret_key: str) -> str:
    """The password the platform's own services log in with (the installation secret)."""
    return secret_key


def demo_gateway_password(secret_key: str, gateway_id: str) -> str:
    """A simulated gateway's password, derived from the installation secret (demo only)."""
    return hmac.new(
        secret_key.encode(), f"gateway:{gateway_id}".encode(), hashlib.sha256
    ).hexdigest()


class BrokerLogins:
    """``verify(username, password)`` for the embedded broker; caches successful gateway checks."""

    def __init__(self, secret_key: str, lookup: GatewaySecretLookup, check: PasswordCheck) -> None:
        self._service = service_password(secret_key)
        self._lookup = lookup
        self._check = check
        self._accepted: dict[str, str] = {}  # gateway id -> sha256 of the password that worked

    async def verify(self, username: str, password: str) -> Principal | None:
        """The principal for a valid login, None otherwise."""
        if username in SERVICE_USERS:
            ok = hmac.compare_digest(password, self._service)
            return Principal.SERVICE if ok else None
        stored = await self._lookup(username)
        if stored is None:
            self._accepted.pop(username, None)
            return None
        digest = hashlib.sha256(password.encode()).hexdigest()
        if self._accepted.get(username) == digest:
            return Principal.GATEWAY
        # argon2 is deliberately slow: keep it off the event loop
        if await asyncio.to_thread(self._check, stored, password):
            self._accepted[username] = digest
            return Principal.GATEWAY
        return None
