"""Keys: hashed at rest, Bearer or ?token=, 401 for missing/unknown/revoked, 403 for the wrong role."""

from __future__ import annotations

import hashlib

from api_helpers import bearer, new_key
from sqlmodel import Session, select
from typer.testing import CliRunner

from assist.auth import create_key, lookup_key, revoke_key
from assist.models.keys import ApiKey, Role


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


def test_token_query_parameter_works_too(client, keys) -> None:
    assert client.post(f"/v1/calls?token={keys['agent']}").status_code == 201


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
