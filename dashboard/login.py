"""Checking a username and password: argon2 off the event loop, with the login rate limit."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dashboard import access
from dashboard.access import Principal
from dashboard.throttle import LoginThrottle
from registry.passwords import hash_password, verify_password

log = logging.getLogger(__name__)


class Authenticator:
    """Verifies credentials; unknown users cost the same argon2 work as known ones."""

    def __init__(self, throttle: LoginThrottle) -> None:
        self.throttle = throttle
        self._dummy_hash = hash_password(secrets.token_urlsafe(16))

    async def authenticate(
        self, session: AsyncSession, username: str, password: str, address: str, now: datetime
    ) -> Principal | None:
        """The user when the password is right, else None; LoginLockedError while locked out."""
        key = LoginThrottle.key(username, address)
        self.throttle.check(key, now)
        user = await access.find_user(session, username)
        stored = self._dummy_hash if user is None else user.password_hash
        ok = await asyncio.to_thread(verify_password, stored, password)
        if user is None or not ok:
            self.throttle.failed(key, now)
            log.info("login_failed username=%s address=%s", key[0], address)
            return None
        self.throttle.succeeded(key)
        log.info("login_ok user_id=%d role=%s address=%s", user.id, user.role, address)
        return user
