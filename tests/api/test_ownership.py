"""Call ownership: a call belongs to the key that started it (assist.security.keys.call_access).

Another agent is told the call does not exist (404, the same as for an unknown id); compliance reads every
call; admin does everything; an admin-made grant lets an agent key listen (read and stream) or act (also post
turns, end, rate suggestions) on another key's calls.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import Session, select
from starlette.websockets import WebSocketDisconnect

from assist.models.calls import Call
from assist.models.keys import Role
from assist.security.keys import grant_access, lookup_key, remove_grant
from tests.utils.api import bearer, new_key

NEED = {"speaker": "customer", "text": "我的信用卡丢了怎么办"}
FEE = {"speaker": "customer", "text": "补卡要收费吗"}


def key_id(client, key: str) -> str:
    with Session(client.app.state.db_engine) as s:
        return lookup_key(s, key).id  # type: ignore[union-attr]


def grant(client, grantee: str, owner: str | None, access: str) -> str:
    with Session(client.app.state.db_engine) as s:
        return grant_access(
            s,
            grantee_key_id=key_id(client, grantee),
            owner_key_id=None if owner is None else key_id(client, owner),
            access=access,
        ).id


def stream(call_id: str, key: str) -> str:
    return f"/v1/calls/{call_id}/stream?token={key}"


@pytest.fixture
def alice(client) -> str:
    return new_key(client.app, Role.agent, "alice")


@pytest.fixture
def bob(client) -> str:
    return new_key(client.app, Role.agent, "bob")


@pytest.fixture
def alices_call(client, alice) -> tuple[str, str]:
    """A call of alice's with one suggestion: (call id, suggestion id)."""
    call_id = client.post("/v1/calls", headers=bearer(alice)).json()["call_id"]
    r = client.post(f"/v1/calls/{call_id}/utterances", headers=bearer(alice), json=NEED)
    return call_id, r.json()["suggestion"]["id"]


def test_another_agent_cannot_read_post_to_end_or_rate_a_call_it_does_not_own(client, bob, alices_call) -> None:
    call_id, suggestion_id = alices_call
    b = bearer(bob)
    unknown = client.get("/v1/calls/no-such-call", headers=b)
    for r in (
        client.get(f"/v1/calls/{call_id}", headers=b),
        client.post(f"/v1/calls/{call_id}/utterances", headers=b, json=NEED),
        client.post(f"/v1/calls/{call_id}/end", headers=b),
    ):
        # exactly what an unknown id gets: nothing tells bob the call exists
        assert r.status_code == unknown.status_code == 404, r.text
        assert r.json()["detail"] == f"call {call_id!r} not found"
    r = client.post(f"/v1/suggestions/{suggestion_id}/feedback", headers=b, json={"rating": "wrong"})
    assert r.status_code == 404 and r.json()["detail"] == f"suggestion {suggestion_id!r} not found"


def test_bob_cannot_listen_on_alices_socket(client, bob, alices_call) -> None:
    call_id, _ = alices_call
    with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect(stream(call_id, bob)) as ws:
        ws.receive_json()
    assert exc.value.code == 4404  # the same close as for an unknown call


def test_bobs_attempts_changed_nothing(client, alice, bob, alices_call) -> None:
    call_id, _ = alices_call
    client.post(f"/v1/calls/{call_id}/utterances", headers=bearer(bob), json=NEED)
    client.post(f"/v1/calls/{call_id}/end", headers=bearer(bob))
    call = client.get(f"/v1/calls/{call_id}", headers=bearer(alice)).json()
    assert call["status"] == "active" and len(call["turns"]) == 1


def test_the_owner_compliance_and_admin(client, keys, alice, alices_call) -> None:
    call_id, suggestion_id = alices_call
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(alice)).status_code == 200
    # compliance reads any call, and may do nothing else with it (a role refusal: 403)
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(keys["compliance"])).status_code == 200
    r = client.post(f"/v1/calls/{call_id}/utterances", headers=bearer(keys["compliance"]), json=NEED)
    assert r.status_code == 403
    # admin: everything
    admin = bearer(keys["admin"])
    assert client.post(f"/v1/calls/{call_id}/utterances", headers=admin, json=NEED).status_code == 200
    rated = client.post(f"/v1/suggestions/{suggestion_id}/feedback", headers=admin, json={"rating": "used"})
    assert rated.status_code == 201
    assert client.post(f"/v1/calls/{call_id}/end", headers=admin).status_code == 200
    # the owner rates its own suggestion
    r = client.post(f"/v1/suggestions/{suggestion_id}/feedback", headers=bearer(alice), json={"rating": "helpful"})
    assert r.status_code == 201


def test_a_listen_grant_reads_and_streams_but_adds_nothing(client, alice, bob, alices_call) -> None:
    call_id, suggestion_id = alices_call
    grant(client, bob, alice, "listen")
    b = bearer(bob)
    assert client.get(f"/v1/calls/{call_id}", headers=b).status_code == 200
    r = client.post(f"/v1/calls/{call_id}/utterances", headers=b, json=NEED)
    assert r.status_code == 403 and "listen" in r.json()["detail"]
    assert client.post(f"/v1/calls/{call_id}/end", headers=b).status_code == 403
    rated = client.post(f"/v1/suggestions/{suggestion_id}/feedback", headers=b, json={"rating": "wrong"})
    assert rated.status_code == 403
    with client.websocket_connect(stream(call_id, bob)) as supervisor:
        supervisor.send_json({"type": "utterance", **NEED})
        err = supervisor.receive_json()
        assert err["type"] == "error" and "may listen" in err["detail"]
        # what alice's side produces reaches the supervisor
        client.post(f"/v1/calls/{call_id}/utterances", headers=bearer(alice), json=FEE)
        assert supervisor.receive_json()["type"] == "suggestion"
    # a grant covers the owner's calls only
    other = client.post("/v1/calls", headers=bearer(new_key(client.app, Role.agent, "carol"))).json()["call_id"]
    assert client.get(f"/v1/calls/{other}", headers=b).status_code == 404


def test_an_act_grant_is_the_connector_posting_turns_for_the_agent(client, alice, bob, alices_call) -> None:
    call_id, suggestion_id = alices_call
    connector = new_key(client.app, Role.agent, "asr-connector")
    grant(client, connector, None, "act")  # every agent's calls
    with client.websocket_connect(stream(call_id, alice)) as panel:
        r = client.post(f"/v1/calls/{call_id}/utterances", headers=bearer(connector), json=FEE)
        assert r.status_code == 200
        assert panel.receive_json()["type"] == "suggestion"
    bobs = client.post("/v1/calls", headers=bearer(bob)).json()["call_id"]
    assert client.get(f"/v1/calls/{bobs}", headers=bearer(connector)).status_code == 200
    assert client.post(f"/v1/calls/{call_id}/end", headers=bearer(connector)).status_code == 200


def test_a_removed_grant_is_404_again(client, alice, bob, alices_call) -> None:
    call_id, _ = alices_call
    grant_id = grant(client, bob, alice, "act")
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(bob)).status_code == 200
    with Session(client.app.state.db_engine) as s:
        remove_grant(s, grant_id=grant_id)
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(bob)).status_code == 404


def test_a_call_with_no_recorded_owner_is_for_compliance_and_admin_only(client, keys, alice, alices_call) -> None:
    call_id, _ = alices_call
    with Session(client.app.state.db_engine) as s:  # as a row from before ownership was enforced
        s.execute(update(Call).where(Call.id == call_id).values(agent_key_id=None))
        s.commit()
    app = client.app
    app.state.call_engine.store._owners.clear()
    app.state.call_engine.store._states.clear()
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(alice)).status_code == 404
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(keys["compliance"])).status_code == 200
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(keys["admin"])).status_code == 200
    assert client.post(f"/v1/calls/{call_id}/end", headers=bearer(keys["admin"])).status_code == 200


def test_the_owner_is_the_key_that_started_the_call(client, alice) -> None:
    call_id = client.post("/v1/calls", headers=bearer(alice)).json()["call_id"]
    with Session(client.app.state.db_engine) as s:
        row = s.exec(select(Call).where(Call.id == call_id)).one()
        assert row.agent_key_id == key_id(client, alice)
        assert "owner_key_id" not in row.state  # kept in its own column, not in the state JSON
