"""The call endpoints without a socket: start, utterances, read back, end with a summary, feedback."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assist.models.calls import Turn
from assist.models.guard import GuardEvent


def say(client, headers, call_id, speaker, text, **kw):
    return client.post(
        f"/v1/calls/{call_id}/utterances", headers=headers, json={"speaker": speaker, "text": text, **kw}
    )


def test_a_customer_need_gets_a_cited_suggestion_with_the_checklist(client, agent, call_id) -> None:
    r = say(client, agent, call_id, "customer", "我的信用卡丢了怎么办？")
    assert r.status_code == 200, r.text
    body = r.json()
    s = body["suggestion"]
    assert s["type"] == "suggestion" and s["turn"] == 1
    assert s["citations"][0]["document_id"] == "doc-loss-zh"
    assert set(s["citations"][0]) >= {"document_id", "title", "section", "version", "chunk_id", "score", "snippet"}
    assert "挂失" in s["answer"]
    ids = [n["id"] for n in s["next_steps"]]
    assert ids[0] == "verify_identity" and "freeze_card" in ids
    assert s["latency_ms"] > 0 and "retrieve" in s["timings"]


def test_fillers_get_no_suggestion(client, agent, call_id) -> None:
    for text in ("嗯", "好的", "okay", "Thank you!", "謝謝"):
        r = say(client, agent, call_id, "customer", text)
        assert r.status_code == 200
        assert r.json()["suggestion"] is None, text


def test_agent_claim_raises_an_alert_stored_for_review(client, agent, call_id) -> None:
    say(client, agent, call_id, "customer", "这个理财产品怎么样")
    r = say(client, agent, call_id, "agent", "放心，这款理财保本保息，卡号 6222021234567890123 已登记")
    alerts = r.json()["alerts"]
    assert alerts and alerts[0]["action"] == "block" and alerts[0]["type"] == "compliance_alert"
    assert alerts[0]["advice"]
    with Session(client.app.state.db_engine) as session:
        ev = session.exec(select(GuardEvent).where(GuardEvent.call_id == call_id)).one()
        assert ev.kind == "utterance" and ev.status == "pending"
        assert ev.agent_name == "agent-tester"
        assert ev.rule_ids == ["no_guaranteed_return"] and ev.categories == ["guaranteed_return"]
        assert "6222021234567890123" not in ev.text and "[CARD]" in ev.text
        assert any(c["speaker"] == "customer" for c in ev.context)
    assert alerts[0]["event_id"] == ev.id


def test_get_call_and_end_summary(client, agent, call_id) -> None:
    say(client, agent, call_id, "customer", "我的信用卡丢了怎么办")
    say(client, agent, call_id, "agent", "好的，已核实您的身份，我已为您冻结卡片")
    say(client, agent, call_id, "agent", "这款理财稳赚")
    r = client.get(f"/v1/calls/{call_id}", headers=agent)
    assert r.status_code == 200
    call = r.json()
    assert [t["speaker"] for t in call["turns"]] == ["customer", "agent", "agent"]
    assert len(call["suggestions"]) == 1 and len(call["alerts"]) == 1
    assert {s["id"]: s["done"] for s in call["checklist"]}["verify_identity"] is True
    r = client.post(f"/v1/calls/{call_id}/end", headers=agent)
    assert r.status_code == 200
    summary = r.json()
    assert summary["status"] == "ended"
    assert "card_loss" in summary["topics"]
    assert summary["documents_cited"][0]["document_id"] == "doc-loss-zh"
    assert {s["id"] for s in summary["steps_done"]} >= {"verify_identity", "freeze_card"}
    assert "reissue_card" in {s["id"] for s in summary["steps_pending"]}
    assert len(summary["alerts"]) == 1 and len(summary["transcript"]) == 3
    # a turn after the end is refused
    r = say(client, agent, call_id, "customer", "还有问题")
    assert r.status_code == 409 and "ended" in r.json()["detail"]


def test_feedback(client, agent, call_id) -> None:
    sid = say(client, agent, call_id, "customer", "我的信用卡丢了怎么办").json()["suggestion"]["id"]
    r = client.post(f"/v1/suggestions/{sid}/feedback", headers=agent, json={"rating": "used", "comment": "good"})
    assert r.status_code == 201 and r.json()["rating"] == "used"
    r = client.post(f"/v1/suggestions/{sid}/feedback", headers=agent, json={"rating": "meh"})
    assert r.status_code == 422 and "rating" in r.json()["detail"]
    r = client.post("/v1/suggestions/nope/feedback", headers=agent, json={"rating": "wrong"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_bad_input(client, agent, call_id) -> None:
    r = say(client, agent, "nope", "customer", "hello there")
    assert r.status_code == 404 and r.json()["detail"] == "call 'nope' not found"
    assert client.get("/v1/calls/nope", headers=agent).status_code == 404
    r = say(client, agent, call_id, "customer", "   ")
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    r = say(client, agent, call_id, "customer", "x" * 2001)
    assert r.status_code == 422 and "2001" in r.json()["detail"] and "2000" in r.json()["detail"]
    r = say(client, agent, call_id, "robot", "hello")
    assert r.status_code == 422 and r.json()["detail"].startswith("speaker")
    r = client.post(
        f"/v1/calls/{call_id}/utterances",
        headers=agent,
        content=b"{not json",
    )
    assert r.status_code == 422
    r = client.post(f"/v1/calls/{call_id}/utterances", headers=agent, json={"speaker": "customer"})
    assert r.status_code == 422 and "text" in r.json()["detail"]


def test_interim_text_is_not_stored_and_gets_no_suggestion(client, agent, call_id) -> None:
    r = say(client, agent, call_id, "customer", "我的信用卡丢", final=False)
    assert r.status_code == 200 and r.json()["turn"] is None and r.json()["suggestion"] is None
    with Session(client.app.state.db_engine) as session:
        assert session.exec(select(Turn).where(Turn.call_id == call_id)).all() == []


def test_an_unexpected_error_is_a_500_without_a_traceback(make_app, monkeypatch) -> None:
    from assist.models.keys import Role
    from tests.utils.api import new_key

    app = make_app()
    with TestClient(app, raise_server_exceptions=False) as c:
        key = new_key(app, Role.agent)
        cid = c.post("/v1/calls", headers={"Authorization": f"Bearer {key}"}).json()["call_id"]

        def boom(*a, **kw):
            raise RuntimeError("secret internals at /srv/x.py line 3")

        monkeypatch.setattr(app.state.call_engine, "handle_turn", boom)
        r = c.post(
            f"/v1/calls/{cid}/utterances",
            headers={"Authorization": f"Bearer {key}"},
            json={"speaker": "customer", "text": "hello"},
        )
        assert r.status_code == 500
        assert r.json() == {"detail": "internal server error"}
