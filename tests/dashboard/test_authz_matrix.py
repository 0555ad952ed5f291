"""Every route × every role × own and other resident × every method: allowed, 403 or 404.

The route list comes from ``app.routes``: a route added without a rule here fails the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.dashboard.conftest import PASSWORD, World, token_for
from tests.dashboard.test_pages import login

ALL = frozenset({"admin", "manager_a", "staff_a", "family_a", "installer"})
HEALTH = ALL - {"installer"}
STAFF = frozenset({"admin", "manager_a", "staff_a"})
FAMILY = frozenset({"family_a"})
INSTALLERS = frozenset({"admin", "installer"})
MANAGERS = frozenset({"admin", "manager_a"})
ADMIN = frozenset({"admin"})
DENIED = {401, 403, 404}


@dataclass(frozen=True)
class Rule:
    """Who may call a route; ``objects``: the path names a resident or alert (own vs other)."""

    roles: frozenset[str] | None  # None: anyone, signed in or not
    objects: bool = False
    run_allowed: bool = True  # False for endless responses (the SSE stream: see test_stream)


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule(None),
    ("GET", "/docs"): Rule(None),
    ("GET", "/docs/oauth2-redirect"): Rule(None),
    ("GET", "/openapi.json"): Rule(None),
    ("GET", "/login"): Rule(None),
    ("POST", "/login"): Rule(None),
    ("POST", "/logout"): Rule(None),
    ("GET", "/lang/{code}"): Rule(None),
    ("POST", "/api/v1/auth/token"): Rule(None),
    ("GET", "/api/v1/me"): Rule(ALL),
    ("GET", "/api/v1/alerts"): Rule(HEALTH),
    ("GET", "/api/v1/alerts/stream"): Rule(HEALTH, run_allowed=False),
    ("GET", "/api/v1/alerts/{alert_id}"): Rule(HEALTH, objects=True),
    ("POST", "/api/v1/alerts/{alert_id}/ack"): Rule(STAFF, objects=True),
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): Rule(STAFF, objects=True),
    ("PUT", "/api/v1/alerts/{alert_id}/rating"): Rule(FAMILY, objects=True),
    ("GET", "/api/v1/residents"): Rule(HEALTH),
    ("GET", "/api/v1/residents/{resident_id}"): Rule(HEALTH, objects=True),
    ("GET", "/"): Rule(ALL),
    ("GET", "/welcome"): Rule(ALL),
    ("GET", "/console"): Rule(STAFF),
    ("GET", "/residents"): Rule(STAFF),
    ("GET", "/residents/{resident_id}"): Rule(STAFF, objects=True),
    ("POST", "/residents/{resident_id}/profile"): Rule(STAFF, objects=True),
    ("GET", "/family"): Rule(FAMILY),
    ("GET", "/family/notifications"): Rule(FAMILY),
    ("POST", "/family/notifications/{resident_id}"): Rule(FAMILY, objects=True),
    ("POST", "/family/alerts/{alert_id}/rating"): Rule(FAMILY, objects=True),
    ("POST", "/api/v1/provisioning/gateways"): Rule(INSTALLERS),
    ("POST", "/api/v1/provisioning/claim"): Rule(None),  # the one-time claim code is the credential
    ("GET", "/handover"): Rule(STAFF),
    ("POST", "/handover/notes"): Rule(STAFF),
    ("GET", "/reports/weekly"): Rule(MANAGERS),
    ("GET", "/admin"): Rule(ADMIN),
    ("GET", "/api/v1/quarantine"): Rule(ADMIN),
    ("GET", "/api/v1/kpis"): Rule(MANAGERS),
    ("GET", "/api/v1/quarantine/counts"): Rule(ADMIN),
    ("POST", "/admin/org"): Rule(ADMIN),
    ("POST", "/admin/org/place"): Rule(ADMIN),
    ("POST", "/admin/stations"): Rule(ADMIN),
    ("POST", "/admin/users"): Rule(ADMIN),
    ("POST", "/admin/links"): Rule(ADMIN),
    ("POST", "/admin/users/active"): Rule(ADMIN),
    ("POST", "/admin/users/role"): Rule(ADMIN),
    ("POST", "/admin/links/remove"): Rule(ADMIN),
    ("GET", "/admin/audit"): Rule(ADMIN),
    ("GET", "/install"): Rule(INSTALLERS),
    ("POST", "/install/homes"): Rule(INSTALLERS),
    ("GET", "/install/homes/{home_id}"): Rule(INSTALLERS),
    ("GET", "/install/homes/{home_id}/live"): Rule(INSTALLERS),
    ("POST", "/install/homes/{home_id}/gateways"): Rule(INSTALLERS),
    ("POST", "/install/homes/{home_id}/devices"): Rule(INSTALLERS),
    ("POST", "/install/homes/{home_id}/test-alarm"): Rule(INSTALLERS),
}
BODIES = {
    "/api/v1/alerts/{alert_id}/resolve": {"outcome": "test", "note": ""},
    "/api/v1/alerts/{alert_id}/rating": {"rating": "good"},
    "/api/v1/provisioning/gateways": {"gateway_id": "gw-matrix"},
}


def routes(world: World) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, static files aside."""
    found = []
    # iter_route_contexts flattens included routers (FastAPI keeps them nested in app.routes).
    for route in iter_route_contexts(world.app.routes):
        if isinstance(route.original_route, Mount):
            continue
        assert route.path is not None, route
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, route.path))
    return found


def test_every_route_has_a_rule(world: World) -> None:
    assert set(routes(world)) - set(RULES) == set(), "add a rule for each new route"
    assert set(RULES) - set(routes(world)) == set(), "drop rules of removed routes"


def _fill(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path.replace("{code}", "en"))


@pytest.mark.parametrize("username", sorted(ALL))
async def test_matrix(world: World, client: httpx.AsyncClient, username: str) -> None:
    own_alert = await world.raise_alert("gw-a", "call_button")
    other_alert = await world.raise_alert("gw-b", "call_button")
    targets = {
        "own": {
            "alert_id": own_alert.id,
            "resident_id": world.ids["resident_a"],
            "home_id": world.ids["home_a"],
        },
        "other": {
            "alert_id": other_alert.id,
            "resident_id": world.ids["resident_b"],
            "home_id": world.ids["home_b"],
        },
    }
    bearer = await token_for(client, username)
    await login(client, username)
    page = await client.get("/welcome")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    checked = 0
    for method, path in routes(world):
        rule = RULES[method, path]
        if rule.roles is None:
            continue  # public: nothing to refuse
        for which, ids in targets.items() if rule.objects else [("own", targets["own"])]:
            allowed = username in rule.roles and (
                which == "own" or not rule.objects or username == "admin"
            )
            if allowed and not rule.run_allowed:
                continue
            url = _fill(path, ids)
            if path.startswith("/api/"):
                response = await client.request(method, url, headers=bearer, json=BODIES.get(path))
            else:
                data = {"csrf": csrf.group(1), "rating": "good"} if method == "POST" else None
                response = await client.request(method, url, data=data, follow_redirects=False)
            label = f"{username} {method} {url} ({which})"
            if allowed:
                assert response.status_code not in DENIED, f"{label}: {response.status_code}"
                assert response.status_code < 500, label
            else:
                expected = {403} if username not in rule.roles else {404}
                assert response.status_code in expected, f"{label}: {response.status_code}"
            checked += 1
    assert checked >= 15
    # Anonymous callers are refused everywhere that is not public.
    client.cookies.clear()
    for method, path in routes(world):
        if RULES[method, path].roles is not None:
            url = _fill(path, targets["own"])
            response = await client.request(method, url, follow_redirects=False)
            assert response.status_code in {401, 303, 403}, f"anonymous {method} {url}"
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login")
    assert PASSWORD  # the seeded password signed everyone in above
