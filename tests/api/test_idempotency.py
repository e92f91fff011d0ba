"""Idempotency-Key on POST /v1/calls and /utterances: a retry gets the first answer and never a second turn."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assist.errors import ConflictError
from assist.idempotency import IdempotencyStore, fingerprint
from assist.models.calls import Call, Turn
from assist.models.common import utcnow
from assist.models.idempotency import IdempotencyRecord


def say(client, headers, call_id, text, key=None, speaker="customer"):
    h = dict(headers) | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/v1/calls/{call_id}/utterances", headers=h, json={"speaker": speaker, "text": text})


def turns(client: TestClient, call_id: str) -> list[tuple[int, str]]:
    with Session(client.app.state.db_engine) as s:  # type: ignore[attr-defined]
        return [(t.turn, t.text) for t in s.exec(select(Turn).where(Turn.call_id == call_id).order_by(Turn.turn))]


def test_a_retried_utterance_returns_the_first_answer_and_adds_no_turn(client, agent, call_id) -> None:
    first = say(client, agent, call_id, "我的信用卡丢了怎么办？", key="asr-7f3a-1")
    retry = say(client, agent, call_id, "我的信用卡丢了怎么办？", key="asr-7f3a-1")
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert [n for n, _ in turns(client, call_id)] == [1]
    nxt = say(client, agent, call_id, "好的", key="asr-7f3a-2")
    assert nxt.json()["turn"] == 2


def test_the_same_key_with_another_body_is_refused_with_the_reason(client, agent, call_id) -> None:
    assert say(client, agent, call_id, "hello", key="k-1").status_code == 200
    r = say(client, agent, call_id, "something else", key="k-1")
    assert r.status_code == 409
    assert "already used with a different request" in r.json()["detail"]
    assert [text for _, text in turns(client, call_id)] == ["hello"]


def test_without_a_key_each_post_is_a_turn(client, agent, call_id) -> None:
    say(client, agent, call_id, "hello")
    say(client, agent, call_id, "hello")
    assert [n for n, _ in turns(client, call_id)] == [1, 2]


def test_a_failed_request_frees_its_key_for_the_retry(client, agent, call_id) -> None:
    client.post(f"/v1/calls/{call_id}/end", headers=agent)
    assert say(client, agent, call_id, "hello", key="k-ended").status_code == 409  # the call has ended
    with Session(client.app.state.db_engine) as s:
        assert s.exec(select(IdempotencyRecord)).all() == []  # nothing kept: a retry runs again


def test_a_bad_key_gets_422_with_the_reason(client, agent, call_id) -> None:
    r = say(client, agent, call_id, "hello", key="has a space")
    assert r.status_code == 422 and "Idempotency-Key" in r.text
    assert turns(client, call_id) == []


def test_a_retried_call_start_returns_the_same_call(client, agent) -> None:
    h = agent | {"Idempotency-Key": "start-1"}
    a = client.post("/v1/calls", headers=h)
    b = client.post("/v1/calls", headers=h)
    assert a.status_code == b.status_code == 201
    assert a.json() == b.json()
    with Session(client.app.state.db_engine) as s:
        assert len(s.exec(select(Call)).all()) == 1


def test_keys_of_different_clients_never_meet(client, keys, call_id, agent) -> None:
    from assist.models.keys import Role
    from tests.utils.api import bearer, new_key

    other = bearer(new_key(client.app, Role.admin))
    assert say(client, agent, call_id, "hello", key="shared").status_code == 200
    assert say(client, other, call_id, "hello", key="shared").headers.get("Idempotent-Replayed") is None
    assert [n for n, _ in turns(client, call_id)] == [1, 2]


def test_a_request_whose_server_died_is_taken_over_by_the_retry(client, agent, call_id) -> None:
    app = client.app
    body = {"speaker": "customer", "text": "hello", "final": True}
    fp = fingerprint("POST", f"/v1/calls/{call_id}/utterances", body)
    with Session(app.state.db_engine) as s:  # type: ignore[attr-defined]
        owner = s.get(Call, call_id).agent_key_id  # type: ignore[union-attr]
        s.add(IdempotencyRecord(owner=owner, key="k-dead", fingerprint=fp, created_at=utcnow() - timedelta(hours=1)))
        s.commit()
    r = say(client, agent, call_id, "hello", key="k-dead")
    assert r.status_code == 200 and r.json()["turn"] == 1


def test_a_request_still_running_elsewhere_gets_409(client) -> None:
    engine = client.app.state.db_engine  # type: ignore[attr-defined]
    a, b = IdempotencyStore(engine), IdempotencyStore(engine)  # two servers on one database
    assert a.begin(owner="k", key="x", fingerprint="f") is None
    with pytest.raises(ConflictError, match="still being answered"):
        b.begin(owner="k", key="x", fingerprint="f")
    a.complete(owner="k", key="x", status_code=200, body={"ok": 1})
    replay = b.begin(owner="k", key="x", fingerprint="f")
    assert replay is not None and (replay.status_code, replay.body) == (200, {"ok": 1})


def test_answers_are_kept_for_the_retention_only(client) -> None:
    engine = client.app.state.db_engine  # type: ignore[attr-defined]
    store = IdempotencyStore(engine, ttl_hours=1)
    assert store.begin(owner="k", key="old", fingerprint="f") is None
    store.complete(owner="k", key="old", status_code=200, body={"n": 1})
    assert store.begin(owner="k", key="new", fingerprint="f") is None
    assert store.purge(now=utcnow() + timedelta(minutes=30)) == 0
    assert store.purge(now=utcnow() + timedelta(hours=2)) == 2
    assert store.begin(owner="k", key="old", fingerprint="other") is None  # gone: the key is free again


def test_a_turn_stored_by_a_server_that_died_before_answering_is_not_stored_again(client, agent, call_id) -> None:
    """The server stored the turn (its record marked in the same transaction) and died before it answered:
    the connector's retry, an hour later or at once, gets that turn back and never a second copy."""
    app = client.app
    body = {"speaker": "customer", "text": "我的信用卡丢了怎么办？", "final": True}
    fp = fingerprint("POST", f"/v1/calls/{call_id}/utterances", body)
    with Session(app.state.db_engine) as s:  # type: ignore[attr-defined]
        owner = s.get(Call, call_id).agent_key_id  # type: ignore[union-attr]
    store = IdempotencyStore(app.state.db_engine)  # type: ignore[attr-defined]

    class Died(Exception):
        pass

    def run_and_die() -> None:
        app.state.call_engine.handle_turn(call_id, speaker="customer", text=body["text"])  # type: ignore[attr-defined]
        raise Died  # after the turn was stored, before the answer was recorded

    with pytest.raises(Died):
        # the claim as the route makes it, minus the clean-up a dying process never runs
        store.abandon = lambda **_: None  # type: ignore[method-assign]
        store.run(owner=owner, key="k-stored", fingerprint=fp, status_code=200, call=run_and_die)
    retry = say(client, agent, call_id, body["text"], key="k-stored")
    assert retry.status_code == 200 and retry.json()["turn"] == 1
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.json()["suggestion"] is not None  # the stored suggestion, rebuilt from the database
    assert [n for n, _ in turns(client, call_id)] == [1]
