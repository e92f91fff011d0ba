"""A panel that reconnects (its replica went away) resumes with `?after=<turn>`: the stored results of the
turns it missed first, then `resumed`, then live turns; nothing missed, nothing twice."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect


def _url(call_id: str, key: str, after: str | int | None = None) -> str:
    return f"/v1/calls/{call_id}/stream?token={key}" + (f"&after={after}" if after is not None else "")


def _post(client, key: str, call_id: str, speaker: str, text: str) -> dict:
    r = client.post(
        f"/v1/calls/{call_id}/utterances",
        headers={"Authorization": f"Bearer {key}"},
        json={"speaker": speaker, "text": text},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_resume_replays_the_missed_turns_then_goes_on_live(client, keys, call_id) -> None:
    key = keys["agent"]
    first = _post(client, key, call_id, "customer", "我的信用卡丢了怎么办")  # turn 1: a suggestion
    _post(client, key, call_id, "agent", "这个理财产品保本，稳赚不赔")  # turn 2: an alert and the checklist
    _post(client, key, call_id, "customer", "好的")  # turn 3: quiet
    assert first["suggestion"]["turn"] == 1
    with client.websocket_connect(_url(call_id, key, after=1)) as ws:  # the panel had turn 1
        alert = ws.receive_json()
        assert alert["type"] == "compliance_alert" and alert["turn"] == 2 and alert["action"] == "block"
        checklist = ws.receive_json()
        assert checklist["type"] == "checklist" and checklist["turn"] == 3
        assert "read_risk_disclosure" in [s["id"] for s in checklist["next_steps"]]
        assert ws.receive_json() == {"type": "resumed", "call_id": call_id, "after": 1, "through": 3}
        live = _post(client, key, call_id, "customer", "补卡要收费吗")  # turn 4, posted elsewhere: live
        pushed = ws.receive_json()
        assert pushed["type"] == "suggestion" and pushed["turn"] == 4 and pushed["id"] == live["suggestion"]["id"]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # nothing else came: no turn twice


def test_resume_from_the_start_replays_every_suggestion(client, keys, call_id) -> None:
    key = keys["agent"]
    first = _post(client, key, call_id, "customer", "我的信用卡丢了怎么办")
    with client.websocket_connect(_url(call_id, key, after=0)) as ws:
        replayed = ws.receive_json()
        assert replayed["type"] == "suggestion" and replayed["id"] == first["suggestion"]["id"]
        assert replayed["citations"] == first["suggestion"]["citations"]
        assert ws.receive_json() == {"type": "resumed", "call_id": call_id, "after": 0, "through": 1}


def test_resume_after_the_last_turn_sends_only_resumed(client, keys, call_id) -> None:
    key = keys["agent"]
    _post(client, key, call_id, "customer", "我的信用卡丢了怎么办")
    with client.websocket_connect(_url(call_id, key, after=1)) as ws:
        assert ws.receive_json() == {"type": "resumed", "call_id": call_id, "after": 1, "through": 1}


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", ""])
def test_a_bad_resume_point_closes_with_the_reason(client, keys, call_id, bad) -> None:
    with pytest.raises(WebSocketDisconnect) as exc:
        with client.websocket_connect(_url(call_id, keys["agent"], after=bad)) as ws:
            ws.receive_json()
    assert exc.value.code == 4400
    assert "after must be" in exc.value.reason


def test_a_retried_post_reaches_the_panels_once_even_if_the_first_was_never_pushed(
    client, keys, call_id, monkeypatch
) -> None:
    """The replica that ran the turn died between storing it and pushing it: the connector's retry (same
    Idempotency-Key, on any replica) replays the answer and pushes it; a second retry pushes nothing new."""
    key = keys["agent"]
    hub = client.app.state.call_hub
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "turn-1"}
    body = {"speaker": "customer", "text": "我的信用卡丢了怎么办"}
    with client.websocket_connect(_url(call_id, key)) as panel:
        panel.send_json({"type": "ping"})
        assert panel.receive_json() == {"type": "pong"}  # subscribed
        with monkeypatch.context() as m:
            m.setattr(hub, "publish", lambda *a, **k: 0)  # the first answer is never pushed
            first = client.post(f"/v1/calls/{call_id}/utterances", headers=headers, json=body)
        assert first.status_code == 200
        for _ in range(2):
            again = client.post(f"/v1/calls/{call_id}/utterances", headers=headers, json=body)
            assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        panel.send_json({"type": "ping"})
        got = []
        while (m := panel.receive_json())["type"] != "pong":
            got.append(m)
        assert [(m["type"], m["id"]) for m in got] == [("suggestion", first.json()["suggestion"]["id"])]  # once


def test_a_turn_still_running_is_not_counted_as_replayed(client, keys, call_id) -> None:
    """A turn that has its number but is not stored yet (running on another replica) comes live after the
    replay: `through` counts stored turns only, so the socket does not skip it."""
    key = keys["agent"]
    _post(client, key, call_id, "customer", "我的信用卡丢了怎么办")
    engine = client.app.state.call_engine
    engine.store.next_turn(engine.store.load(call_id))  # turn 2 taken elsewhere, still running
    with client.websocket_connect(_url(call_id, key, after=0)) as ws:
        assert ws.receive_json()["type"] == "suggestion"
        assert ws.receive_json() == {"type": "resumed", "call_id": call_id, "after": 0, "through": 1}
