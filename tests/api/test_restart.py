"""A call survives a restart of the app: a new app on the same data directory picks it up."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assist.models.keys import Role
from tests.utils.api import bearer, new_key


def test_call_survives_an_app_restart(make_app) -> None:
    app1 = make_app()
    with TestClient(app1) as c1:
        key = new_key(app1, Role.agent)
        cid = c1.post("/v1/calls", headers=bearer(key)).json()["call_id"]
        with c1.websocket_connect(f"/v1/calls/{cid}/stream?token={key}") as ws:
            ws.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡丢了怎么办"})
            assert ws.receive_json()["citations"][0]["chunk_id"] == "c1"
            ws.send_json({"type": "utterance", "speaker": "agent", "text": "好的，已核实您的身份"})
            assert ws.receive_json()["type"] == "checklist"
    app2 = make_app()  # same ASSIST_DATA_DIR, nothing in memory
    with TestClient(app2) as c2, c2.websocket_connect(f"/v1/calls/{cid}/stream?token={key}") as ws:
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "那补卡要钱吗?"})
        msg = ws.receive_json()
        assert msg["turn"] == 3
        assert msg["citations"][0]["chunk_id"] == "c2"  # the context came back from the database
        assert {s["id"]: s["done"] for s in msg["next_steps"]}["verify_identity"] is True
    with TestClient(make_app()) as c3:
        call = c3.get(f"/v1/calls/{cid}", headers=bearer(key)).json()
        assert [t["turn"] for t in call["turns"]] == [1, 2, 3]
