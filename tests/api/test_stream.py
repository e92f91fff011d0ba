"""The WebSocket: suggestions and alerts out, errors for bad input, close codes for bad key / unknown call."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect


def url(call_id: str, key: str) -> str:
    return f"/v1/calls/{call_id}/stream?token={key}"


def test_suggestion_and_alert_over_the_socket(client, keys, call_id) -> None:
    with client.websocket_connect(url(call_id, keys["agent"])) as ws:
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡丢了怎么办", "final": True})
        msg = ws.receive_json()
        assert msg["type"] == "suggestion"
        assert set(msg) >= {"id", "turn", "query", "answer", "citations", "next_steps", "latency_ms"}
        assert msg["citations"][0]["document_id"] == "doc-loss-zh"
        assert msg["next_steps"][0] == {
            "id": "verify_identity",
            "label": "核验客户身份",
            "reason": msg["next_steps"][0]["reason"],
            "done": False,
        }
        ws.send_json({"type": "utterance", "speaker": "agent", "text": "这个理财产品保本，稳赚不赔", "final": True})
        alert = ws.receive_json()
        assert alert["type"] == "compliance_alert"
        assert alert == {**alert, "turn": 2, "speaker": "agent", "action": "block"}
        assert alert["matches"][0]["category"] == "guaranteed_return"
        # the alert activated steps: the checklist follows
        follow = ws.receive_json()
        assert follow["type"] == "checklist" and "read_risk_disclosure" in [s["id"] for s in follow["next_steps"]]
        # the agent reads the disclosure: the step ticks
        ws.send_json({"type": "utterance", "speaker": "agent", "text": "理财非存款、产品有风险、投资须谨慎。"})
        ticked = ws.receive_json()
        assert ticked["type"] == "checklist"
        assert {s["id"]: s["done"] for s in ticked["next_steps"]}["read_risk_disclosure"] is True


def test_malformed_messages_get_errors_and_the_socket_stays_open(client, keys, call_id) -> None:
    with client.websocket_connect(url(call_id, keys["agent"])) as ws:
        ws.send_text("{not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "dance"})
        err = ws.receive_json()
        assert err["type"] == "error" and "dance" in err["detail"]
        ws.send_json([1, 2])
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "utterance", "speaker": "customer", "text": ""})
        assert "empty" in ws.receive_json()["detail"]
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "字" * 2001})
        assert "over the limit" in ws.receive_json()["detail"]
        ws.send_json({"type": "utterance", "speaker": "alien", "text": "hi"})
        assert "speaker" in ws.receive_json()["detail"]
        ws.send_json({"type": "utterance", "speaker": "customer"})
        assert "text" in ws.receive_json()["detail"]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        # still alive and answering
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "I want to pay off my mortgage early"})
        assert ws.receive_json()["type"] == "suggestion"


def test_bad_key_closes_4401(client, keys, call_id) -> None:
    for bad in ("", "ak_agent_wrong"):
        with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect(url(call_id, bad)) as ws:
            ws.receive_json()
        assert exc.value.code == 4401


def test_unknown_call_closes_4404(client, keys) -> None:
    with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect(url("nope", keys["agent"])) as ws:
        ws.receive_json()
    assert exc.value.code == 4404


def test_wrong_role_closes_4403(client, keys, call_id) -> None:
    with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect(url(call_id, keys["editor"])) as ws:
        ws.receive_json()
    assert exc.value.code == 4403


def test_bearer_header_works_for_the_socket(client, keys, call_id) -> None:
    with client.websocket_connect(
        f"/v1/calls/{call_id}/stream", headers={"Authorization": f"Bearer {keys['agent']}"}
    ) as ws:
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡丢了怎么办"})
        assert ws.receive_json()["type"] == "suggestion"


def test_one_calls_failure_does_not_affect_another(client, keys, agent, monkeypatch) -> None:
    a = client.post("/v1/calls", headers=agent).json()["call_id"]
    b = client.post("/v1/calls", headers=agent).json()["call_id"]
    engine = client.app.state.call_engine
    real = engine.handle_turn

    def flaky(call_id, **kw):
        if call_id == a:
            raise RuntimeError("boom")
        return real(call_id, **kw)

    monkeypatch.setattr(engine, "handle_turn", flaky)
    with client.websocket_connect(url(a, keys["agent"])) as wa, client.websocket_connect(url(b, keys["agent"])) as wb:
        wa.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡丢了怎么办"})
        err = wa.receive_json()
        assert err["type"] == "error" and "boom" not in err["detail"]
        wb.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡丢了怎么办"})
        assert wb.receive_json()["type"] == "suggestion"
        wa.send_json({"type": "ping"})
        assert wa.receive_json() == {"type": "pong"}


def test_ended_call_refuses_turns_with_an_error(client, keys, agent, call_id) -> None:
    client.post(f"/v1/calls/{call_id}/end", headers=agent)
    with client.websocket_connect(url(call_id, keys["agent"])) as ws:
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡丢了怎么办"})
        assert "ended" in ws.receive_json()["detail"]


def test_every_final_turn_is_answered_and_interim_text_is_not(client, keys, call_id) -> None:
    with client.websocket_connect(url(call_id, keys["agent"])) as ws:
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡", "final": False})
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "嗯"})
        assert ws.receive_json() == {"type": "ack", "call_id": call_id, "turn": 1}
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡丢了怎么办"})
        assert ws.receive_json()["turn"] == 2


def test_a_swapped_guard_applies_from_the_next_turn(client, keys, call_id) -> None:
    from tests.fakes import FakeGuard

    with client.websocket_connect(url(call_id, keys["agent"])) as ws:
        ws.send_json({"type": "utterance", "speaker": "agent", "text": "这个利率锁定三年"})
        assert ws.receive_json()["type"] == "ack"
        client.app.state.guard_holder.swap(FakeGuard(extra_block={"利率锁定": "misleading"}))
        ws.send_json({"type": "utterance", "speaker": "agent", "text": "这个利率锁定三年"})
        alert = ws.receive_json()
        assert alert["type"] == "compliance_alert" and alert["matches"][0]["category"] == "misleading"


def test_every_panel_on_the_call_sees_turns_sent_by_others(client, keys, call_id) -> None:
    auth = {"Authorization": f"Bearer {keys['agent']}"}
    with client.websocket_connect(url(call_id, keys["agent"])) as panel:
        # the ASR connector posts the customer's turn over HTTP; the agent's panel gets the suggestion
        r = client.post(
            f"/v1/calls/{call_id}/utterances",
            headers=auth,
            json={"speaker": "customer", "text": "我的信用卡丢了怎么办"},
        )
        assert r.status_code == 200
        pushed = panel.receive_json()
        assert pushed["type"] == "suggestion" and pushed["id"] == r.json()["suggestion"]["id"]
        assert pushed["citations"][0]["document_id"] == "doc-loss-zh"
        with client.websocket_connect(url(call_id, keys["agent"])) as connector:
            connector.send_json({"type": "utterance", "speaker": "agent", "text": "这个理财产品保本，稳赚不赔"})
            own = [connector.receive_json()["type"], connector.receive_json()["type"]]
            assert own == ["compliance_alert", "checklist"]
            alert = panel.receive_json()
            assert alert["type"] == "compliance_alert" and alert["action"] == "block" and alert["turn"] == 2
            assert panel.receive_json()["type"] == "checklist"
            # a quiet turn: the sender gets its ack, the other panel gets nothing
            connector.send_json({"type": "utterance", "speaker": "customer", "text": "好的"})
            assert connector.receive_json()["type"] == "ack"
            panel.send_json({"type": "ping"})
            assert panel.receive_json() == {"type": "pong"}
        # the connector left; the panel still works on its own
        panel.send_json({"type": "utterance", "speaker": "customer", "text": "补卡要收费吗"})
        assert panel.receive_json()["type"] == "suggestion"
