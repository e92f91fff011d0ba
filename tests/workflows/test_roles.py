"""The role matrix: every HTTP route of the app × every role, plus missing, wrong and revoked keys.

Routes come from `app.routes`, so a new route is covered the day it is added: it must appear in
`EXPECTED` below (the test fails and names it otherwise), and under /v1 it must refuse a request without a
key.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from assist.models.keys import Role

ANY = frozenset({"agent", "editor", "compliance"})
EC = frozenset({"editor", "compliance"})
C = frozenset({"compliance"})
E = frozenset({"editor"})
A = frozenset({"agent"})
AC = frozenset({"agent", "compliance"})

# (method, path with {} for each parameter) → roles allowed besides admin, as in shared/DESIGN.md.
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/v1/documents"): E,
    ("GET", "/v1/documents"): EC,
    ("GET", "/v1/documents/{}"): EC,
    ("GET", "/v1/documents/jobs/{}"): EC,
    ("POST", "/v1/documents/{}/retire"): E,
    ("POST", "/v1/documents/{}/review"): C,
    ("POST", "/v1/calls"): A,
    ("GET", "/v1/calls/{}"): AC,
    ("POST", "/v1/calls/{}/utterances"): A,
    ("POST", "/v1/calls/{}/end"): A,
    ("POST", "/v1/suggestions/{}/feedback"): A,
    ("POST", "/v1/guard/check"): ANY,
    ("GET", "/v1/keys/me"): ANY,  # the caller's own key (name, role), for the pages
    ("GET", "/v1/rules"): C,
    ("POST", "/v1/rules"): C,
    ("GET", "/v1/rules/export"): C,
    ("POST", "/v1/rules/import"): C,
    ("POST", "/v1/rules/test"): C,
    ("GET", "/v1/rules/{}"): C,
    ("PATCH", "/v1/rules/{}"): C,
    ("DELETE", "/v1/rules/{}"): C,
    ("GET", "/v1/guard/events"): C,
    ("GET", "/v1/guard/events/export.csv"): C,
    ("GET", "/v1/guard/events/{}"): C,
    ("POST", "/v1/guard/events/{}/review"): C,
    ("GET", "/v1/guard/stats"): C,
    ("GET", "/v1/audit"): C,
    # after the call (issue #19): agents see their own tickets and scorecards, compliance every one
    ("GET", "/v1/calls/{}/ticket"): AC,
    ("POST", "/v1/tickets"): A,
    ("GET", "/v1/tickets"): AC,
    ("GET", "/v1/tickets/export"): AC,
    ("GET", "/v1/tickets/{}"): AC,
    ("PATCH", "/v1/tickets/{}"): AC,
    ("GET", "/v1/tickets/{}/deliveries"): AC,
    ("GET", "/v1/calls/{}/scorecard"): AC,
    ("POST", "/v1/calls/{}/scorecard/overrides"): C,
    ("GET", "/v1/qa/scorecards"): AC,
    ("GET", "/v1/qa/summary"): C,
    ("GET", "/v1/qa/export"): C,
    ("GET", "/v1/knowledge/gaps"): EC,
}
PUBLIC = ("/healthz", "/metrics")
# /v1 routes that deliberately need no key: the sample calls of the side panel's demo mode (public
# fixtures from kb_docs/calls, no customer data). Anything else under /v1 must refuse a missing key.
PUBLIC_V1 = {("GET", "/v1/demo/calls"), ("GET", "/v1/demo/calls/{}")}


def template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


def v1(http_routes) -> list[tuple[str, str]]:
    found = [(m, p) for m, p, _ in http_routes if p.startswith("/v1/") and (m, template(p)) not in PUBLIC_V1]
    assert len(found) >= len(EXPECTED) // 2, f"too few /v1 routes found: {found}"
    return found


def send(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None):
    kwargs = {"headers": headers or {}}
    if method in {"POST", "PATCH", "PUT"}:
        kwargs["json"] = {}
    return client.request(method, concrete(path), **kwargs)


def test_every_v1_route_declares_its_roles_in_the_matrix(http_routes):
    missing = [f"{m} {p}" for m, p in v1(http_routes) if (m, template(p)) not in EXPECTED]
    assert not missing, f"add these routes and their roles to EXPECTED: {missing}"


def test_the_matrix_has_no_stale_rows(http_routes):
    present = {(m, template(p)) for m, p in v1(http_routes)}
    mine = {
        k
        for k in EXPECTED
        if k[1].startswith(("/v1/documents", "/v1/rules", "/v1/guard/events", "/v1/guard/stats", "/v1/audit"))
    }
    assert mine <= present, f"routes in EXPECTED that the app lacks: {sorted(mine - present)}"


def test_missing_and_unknown_keys_get_401_json_on_every_v1_route(client, http_routes, monkeypatch):
    # about 60 failed authentications from one address: more than it may make in a minute (test_rate_limits.py)
    monkeypatch.setattr(client.app.state.security.auth_failures, "capacity", 10_000)
    for method, path in v1(http_routes):
        for hdrs in ({}, {"Authorization": "Bearer ak_admin_not-a-real-key"}, {"Authorization": "Basic x"}):
            r = send(client, method, path, hdrs)
            assert r.status_code == 401, (method, path, hdrs, r.status_code, r.text)
            assert isinstance(r.json().get("detail"), str)


def test_revoked_key_gets_401(client, keys, headers):
    from assist.security.keys import lookup_key, revoke_key

    with Session(client.app.state.db_engine) as s:
        row = lookup_key(s, keys["compliance"])
        revoke_key(s, key_id=row.id)
    r = client.get("/v1/audit", headers=headers["compliance"])
    assert r.status_code == 401


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_matrix(client, headers, http_routes, role):
    wrong = []
    for method, path in v1(http_routes):
        allowed = EXPECTED.get((method, template(path)))
        if allowed is None:
            continue  # reported by test_every_v1_route_declares_its_roles_in_the_matrix
        r = send(client, method, path, headers[role])
        ok = role == "admin" or role in allowed
        if ok and (r.status_code in (401, 403) or r.status_code >= 500):
            wrong.append(f"{role} {method} {path}: expected access, got {r.status_code} {r.text[:120]}")
        if not ok and r.status_code != 403:
            wrong.append(f"{role} {method} {path}: expected 403, got {r.status_code} {r.text[:120]}")
        if not ok:
            assert isinstance(r.json().get("detail"), str)
    assert not wrong, "\n".join(wrong)


def test_routes_outside_v1_need_no_key_and_never_fail(client, http_routes):
    for method, path, _ in http_routes:
        if method != "GET" or (path.startswith("/v1/") and (method, template(path)) not in PUBLIC_V1):
            continue
        r = client.get(concrete(path))
        assert r.status_code < 500, (path, r.status_code)
        if path in PUBLIC:
            assert r.status_code == 200, (path, r.status_code)


def test_the_gate_and_the_matrix_agree_on_which_v1_routes_are_public(http_routes):
    # the gate (assist/security/gate.py) checks keys before routing: its idea of "public" must be this file's
    from assist.security.gate import needs_key

    for method, path, _ in http_routes:
        if path.startswith("/v1/"):
            public = (method, template(path)) in PUBLIC_V1
            assert needs_key(method, concrete(path)) is not public, (method, path)
