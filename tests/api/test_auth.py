"""Keys: hashed at rest, Bearer on HTTP (?token= on the WebSocket only), 401 for missing/unknown/revoked,
403 for the wrong role."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from assist.models.keys import ApiKey, Role
from assist.security.keys import create_key, lookup_key, revoke_key
from tests.utils.api import bearer, new_key


def test_only_the_hash_is_stored(client) -> None:
    with Session(client.app.state.db_engine) as session:
        row, key = create_key(session, role=Role.agent, name="alice")
        assert key.startswith("ak_agent_")
        stored = session.exec(select(ApiKey).where(ApiKey.id == row.id)).one()
        assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in stored.model_dump_json()
        assert lookup_key(session, key).id == row.id  # type: ignore[union-attr]
        assert lookup_key(session, key + "x") is None


def test_missing_unknown_revoked_key_is_401(client) -> None:
    r = client.post("/v1/calls")
    assert r.status_code == 401
    assert "missing API key" in r.json()["detail"]
    r = client.post("/v1/calls", headers=bearer("ak_agent_nope"))
    assert r.status_code == 401
    assert r.json()["detail"] == "unknown or revoked API key"
    key = new_key(client.app, Role.agent)
    with Session(client.app.state.db_engine) as session:
        revoke_key(session, key_id=lookup_key(session, key).id)  # type: ignore[union-attr]
    assert client.post("/v1/calls", headers=bearer(key)).status_code == 401


def test_wrong_role_is_403_and_admin_may_do_everything(client, keys) -> None:
    r = client.post("/v1/calls", headers=bearer(keys["editor"]))
    assert r.status_code == 403
    assert "editor" in r.json()["detail"]
    assert client.post("/v1/calls", headers=bearer(keys["admin"])).status_code == 201
    # compliance may read a call but not start one
    call_id = client.post("/v1/calls", headers=bearer(keys["agent"])).json()["call_id"]
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(keys["compliance"])).status_code == 200
    assert client.post("/v1/calls", headers=bearer(keys["compliance"])).status_code == 403


def test_a_key_in_the_query_string_is_refused_on_http_routes(client, keys) -> None:
    # a key in a URL ends up in access logs, proxies and browser history: HTTP routes take the header only
    for method, path in (("POST", "/v1/calls"), ("GET", "/v1/documents"), ("POST", "/v1/guard/check")):
        r = client.request(method, f"{path}?token={keys['admin']}")
        assert r.status_code == 401, (method, path, r.text)
        assert "query string" in r.json()["detail"] and "Authorization: Bearer" in r.json()["detail"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    # even next to a good header: the URL still carries the key
    r = client.post(f"/v1/calls?token={keys['agent']}", headers=bearer(keys["agent"]))
    assert r.status_code == 401
    assert client.post("/v1/calls", headers=bearer(keys["agent"])).status_code == 201


def test_guard_check_any_role(client, keys) -> None:
    for role in ("agent", "editor", "compliance"):
        r = client.post(
            "/v1/guard/check", headers=bearer(keys[role]), json={"text": "保本保息，稳赚不赔", "speaker": "agent"}
        )
        assert r.status_code == 200
        assert r.json()["action"] == "block"
        assert r.json()["matches"][0]["rule_id"]
    r = client.post(
        "/v1/guard/check", headers=bearer(keys["agent"]), json={"text": "这个产品保本吗？", "speaker": "customer"}
    )
    assert r.json()["action"] == "allow"
    assert client.post("/v1/guard/check", json={"text": "x"}).status_code == 401
    r = client.post("/v1/guard/check", headers=bearer(keys["agent"]), json={"speaker": "agent"})
    assert r.status_code == 422
    assert "text" in r.json()["detail"]


def test_keys_cli_create_list_revoke(tmp_path) -> None:
    from assist.cli import _register, app

    _register()
    runner = CliRunner()
    r = runner.invoke(app, ["keys", "create", "--role", "agent", "--name", "bob"])
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("ak_agent_")
    r = runner.invoke(app, ["keys", "list"])
    assert r.exit_code == 0
    assert "bob" in r.output and key not in r.output
    key_id = next(line.split()[0] for line in r.output.splitlines() if "bob" in line)
    r = runner.invoke(app, ["keys", "revoke", key_id])
    assert r.exit_code == 0, r.output
    assert "revoked" in runner.invoke(app, ["keys", "list"]).output
    r = runner.invoke(app, ["keys", "create", "--role", "boss", "--name", "x"])
    assert r.exit_code != 0
    r = runner.invoke(app, ["keys", "revoke", "nope"])
    assert r.exit_code != 0


def test_grants_are_validated_idempotent_and_audited(client, keys) -> None:
    from assist import audit
    from assist.errors import InvalidInputError, NotFoundError
    from assist.security.keys import grant_access, list_grants, remove_grant

    with Session(client.app.state.db_engine) as s:
        ids = {role: lookup_key(s, k).id for role, k in keys.items()}  # type: ignore[union-attr]
        other_agent = lookup_key(s, new_key(client.app, Role.agent, "sup")).id  # type: ignore[union-attr]
        g = grant_access(s, grantee_key_id=other_agent, owner_key_id=ids["agent"], access="listen")
        again = grant_access(s, grantee_key_id=other_agent, owner_key_id=ids["agent"], access="listen")
        assert again.id == g.id
        for grantee, owner, access, error, words in (
            (other_agent, ids["agent"], "own", InvalidInputError, "own"),  # no such access
            (ids["editor"], None, "listen", InvalidInputError, "agent"),  # grants are for agent keys
            (other_agent, ids["editor"], "act", InvalidInputError, "editor"),  # an editor starts no calls
            (other_agent, other_agent, "act", InvalidInputError, "own"),  # its own calls
            ("nope", None, "act", NotFoundError, "nope"),
        ):
            with pytest.raises(error) as exc:
                grant_access(s, grantee_key_id=grantee, owner_key_id=owner, access=access)
            assert words in str(exc.value)
        remove_grant(s, grant_id=g.id)
        remove_grant(s, grant_id=g.id)  # idempotent
        assert list_grants(s) == [] and len(list_grants(s, include_removed=True)) == 1
        actions = [e.action for e in audit.list_entries(session=s, target_type="key_grant")]
        assert actions == ["grant.remove", "grant.create"]


def test_keys_cli_grant_grants_ungrant(tmp_path) -> None:
    from assist.cli import _register, app

    _register()
    runner = CliRunner()
    ids = {}
    for name in ("alice", "sup"):
        runner.invoke(app, ["keys", "create", "--role", "agent", "--name", name])
    listing = runner.invoke(app, ["keys", "list"]).output
    for line in listing.splitlines():
        for name in ("alice", "sup"):
            if f" {name} " in line:
                ids[name] = line.split()[0]
    r = runner.invoke(app, ["keys", "grant", ids["sup"], "--access", "listen", "--owner", ids["alice"]])
    assert r.exit_code == 0, r.output
    grant_id = r.output.split()[1].rstrip(":")
    assert "listen" in runner.invoke(app, ["keys", "grants"]).output
    r = runner.invoke(app, ["keys", "grant", ids["sup"], "--access", "listen"])
    assert r.exit_code == 2 and "--owner" in r.output
    r = runner.invoke(app, ["keys", "grant", ids["sup"], "--access", "boss", "--all-calls"])
    assert r.exit_code == 2 and "boss" in r.output
    assert runner.invoke(app, ["keys", "ungrant", grant_id]).exit_code == 0
    assert grant_id not in runner.invoke(app, ["keys", "grants"]).output
    assert "removed" in runner.invoke(app, ["keys", "grants", "--all"]).output
    assert runner.invoke(app, ["keys", "ungrant", "nope"]).exit_code == 1
