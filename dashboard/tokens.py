"""HMAC-signed, expiring tokens (API bearer, session cookie) and CSRF tokens.

Own ~60 lines rather than itsdangerous so that expiry reads the injected Clock like all other code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.errors import TokenError

API_PURPOSE = "api"
SESSION_PURPOSE = "session"


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says: whose it is, its session id and when it expires (epoch s)."""

    user_id: int
    session_id: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str, purpose: str) -> bytes:
    # One derived key per purpose: a session cookie can never pass as an API token, or vice versa.
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def new_session_id() -> str:
    """A fresh random session id."""
    return secrets.token_urlsafe(16)


def issue(secret: str, purpose: str, user_id: int, now: datetime, ttl: timedelta) -> str:
    """A signed token for ``user_id`` valid for ``ttl`` from ``now``."""
    payload = {"sub": user_id, "sid": new_session_id(), "exp": int((now + ttl).timestamp())}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = _b64(hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def verify(secret: str, purpose: str, token: str, now: datetime) -> Claims:
    """The claims of ``token``; TokenError when forged, of another purpose, malformed or expired."""
    body, sep, mac = token.partition(".")
    if not sep:
        raise TokenError("malformed token")
    expected = _b64(hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, mac):
        raise TokenError("bad signature")
    try:
        payload = json.loads(_unb64(body))
        claims = Claims(int(payload["sub"]), str(payload["sid"]), int(payload["exp"]))
    except (ValueError, KeyError, TypeError) as err:
        raise TokenError("malformed payload") from err
    if now.timestamp() >= claims.expires:
        raise TokenError("expired")
    return claims


def csrf_for(secret: str, binding: str) -> str:
    """The CSRF token bound to ``binding`` (a session id, or the login form's cookie nonce)."""
    return _b64(hmac.new(_key(secret, "csrf"), binding.encode(), hashlib.sha256).digest())


def csrf_ok(secret: str, binding: str, token: str) -> bool:
    """True when ``token`` is the CSRF token of ``binding``."""
    return bool(binding) and hmac.compare_digest(csrf_for(secret, binding), token)
