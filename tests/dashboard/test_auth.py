"""Sign-in: OAuth2 token flow, session cookie with CSRF, lockout, token expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dashboard import tokens
from dashboard.errors import LoginLockedError, TokenError
from dashboard.throttle import LoginThrottle
from tests.dashboard.conftest import PASSWORD, World, token_for


async def test_token_flow_gives_a_bearer_token_that_identifies_the_user(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/auth/token", data={"username": "staff_a", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "staff_a"
    assert me.json()["role"] == "staff"


async def test_wrong_password_and_unknown_user_are_refused_alike(client: httpx.AsyncClient) -> None:
    wrong = await client.post("/api/v1/auth/token", data={"username": "staff_a", "password": "x"})
    unknown = await client.post("/api/v1/auth/token", data={"username": "nobody", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_no_or_forged_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    forged = await client.get("/api/v1/me", headers={"Authorization": "Bearer abc.def"})
    assert forged.status_code == 401


async def test_token_expires_on_the_injected_clock(world: World, client: httpx.AsyncClient) -> None:
    headers = await token_for(client, "staff_a")
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    world.clock.advance(2 * 3600)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_five_failures_lock_the_username_for_five_minutes(
    world: World, client: httpx.AsyncClient
) -> None:
    for _ in range(5):
        response = await client.post(
            "/api/v1/auth/token", data={"username": "staff_a", "password": "guess"}
        )
        assert response.status_code == 401
    locked = await client.post(
        "/api/v1/auth/token", data={"username": "staff_a", "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 300
    other = await client.post(
        "/api/v1/auth/token", data={"username": "staff_b", "password": PASSWORD}
    )
    assert other.status_code == 200, "the lockout is per username"
    world.clock.advance(301)
    assert (await token_for(client, "staff_a"))["Authorization"].startswith("Bearer ")


def test_throttle_forgets_failures_after_a_success() -> None:
    throttle = LoginThrottle(max_failures=3)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    key = LoginThrottle.key("Staff_A ", "127.0.0.1")
    assert key == ("staff_a", "127.0.0.1")
    throttle.failed(key, now)
    throttle.failed(key, now)
    throttle.succeeded(key)
    throttle.failed(key, now)
    throttle.failed(key, now)
    throttle.check(key, now)
    throttle.failed(key, now)
    with pytest.raises(LoginLockedError):
        throttle.check(key, now)


def test_tokens_are_bound_to_their_purpose_and_expire() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    token = tokens.issue("k", tokens.SESSION_PURPOSE, 7, now, timedelta(minutes=1))
    assert tokens.verify("k", tokens.SESSION_PURPOSE, token, now).user_id == 7
    with pytest.raises(TokenError):
        tokens.verify("k", tokens.API_PURPOSE, token, now)
    with pytest.raises(TokenError):
        tokens.verify("other-key", tokens.SESSION_PURPOSE, token, now)
    with pytest.raises(TokenError):
        tokens.verify("k", tokens.SESSION_PURPOSE, token, now + timedelta(minutes=1))


async def _login(client: httpx.AsyncClient, username: str) -> httpx.Response:
    form = await client.get("/login")
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match is not None
    return await client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf": match.group(1)}
    )


async def test_web_login_sets_an_httponly_lax_cookie_and_redirects_by_role(
    client: httpx.AsyncClient,
) -> None:
    response = await _login(client, "staff_a")
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("anxin_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()
    assert (await client.get("/")).headers["location"] == "/console"


async def test_web_login_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": "staff_a", "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 400
    assert "anxin_session" not in client.cookies


async def test_cookie_callers_need_the_csrf_header_for_unsafe_methods(
    world: World, client: httpx.AsyncClient
) -> None:
    alert = await world.raise_alert("gw-a")
    await _login(client, "staff_a")
    refused = await client.post(f"/api/v1/alerts/{alert.id}/ack")
    assert refused.status_code == 403
    page = await client.get("/console")
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match is not None
    accepted = await client.post(
        f"/api/v1/alerts/{alert.id}/ack", headers={"X-CSRF-Token": match.group(1)}
    )
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "acknowledged"


async def test_logout_clears_the_session(client: httpx.AsyncClient) -> None:
    await _login(client, "family_a")
    page = await client.get("/family")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    response = await client.post("/logout", data={"csrf": match.group(1)})
    assert response.status_code == 303
    assert (await client.get("/family")).headers["location"].startswith("/login")


async def test_secure_cookies_when_configured(world: World) -> None:
    from dataclasses import replace

    from dashboard.app import create_app

    app = create_app(replace(world.ctx, secure_cookies=True))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        response = await _login(http, "staff_a")
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("anxin_session=")
    )
    assert "secure" in cookie.lower()
