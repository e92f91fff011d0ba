"""Tickets through the HTTP API: the draft from the conversation (three scripts), submission with
validation, roles, status changes audited, export, webhook delivery with retries, and the customer_ref."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assist.aftercall.tickets import WebhookSender
from assist.models.aftercall import CallContact
from assist.models.calls import Call

DISPUTE_ZH = [
    ("agent", "您好，这里是海港银行信用卡中心。"),
    ("customer", "我的信用卡被盗刷了，昨天下午在京东消费了三百块，不是我刷的"),
    ("agent", "好的，请问卡号后四位是多少？"),
    ("customer", "尾号1234"),
]
DISPUTE_HK = [
    ("customer", "我張卡尋日喺百老匯碌咗兩千五百蚊，唔係我簽嘅，係盜刷"),
    ("customer", "張卡尾號五六七八"),
]
DISPUTE_EN = [
    ("customer", "I want to dispute a charge: two hundred and fifty dollars at Amazon on 5 March, ending in 4321")
]


def _fields(draft: dict) -> dict[str, tuple[str | None, int | None]]:
    return {f["name"]: (f["value"], f["turn"]) for f in draft["fields"]}


def _created(client: TestClient, call_id: str):
    with Session(client.app.state.db_engine) as s:
        return s.get(Call, call_id).created_at.date()  # type: ignore[union-attr]


def test_draft_fills_a_simplified_dispute_with_the_turn_of_each_value(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    call_id = play(DISPUTE_ZH)
    r = client.get(f"/v1/calls/{call_id}/ticket", headers=keys["agent"])
    assert r.status_code == 200, r.text
    draft = r.json()
    assert draft["template"] == "card_dispute" and draft["language"] == "zh-Hans"
    f = _fields(draft)
    yesterday = (_created(client, call_id) - timedelta(days=1)).isoformat()
    assert f["amount"] == ("300", 2) and f["currency"] == ("CNY", 2) and f["merchant"] == ("京东", 2)
    assert f["date"] == (yesterday, 2) and f["time"] == ("afternoon", 2) and f["card_last4"] == ("1234", 4)
    assert draft["missing"] == []
    assert {x["label"] for x in draft["fields"]} >= {"交易金额", "商户名称"}


def test_draft_in_cantonese_and_english(client: TestClient, keys: dict, play: Callable[..., str]) -> None:
    hk = client.get(f"/v1/calls/{play(DISPUTE_HK)}/ticket", headers=keys["agent"]).json()
    assert hk["language"] == "zh-Hant" and hk["template_label"] == "爭議交易登記"
    f = _fields(hk)
    assert f["amount"] == ("2500", 1) and f["currency"] == ("HKD", 1) and f["merchant"][0] == "百老匯"
    assert f["card_last4"] == ("5678", 2)
    en = client.get(f"/v1/calls/{play(DISPUTE_EN)}/ticket", headers=keys["agent"]).json()
    f = _fields(en)
    assert f["amount"] == ("250", 1) and f["merchant"][0] == "Amazon" and f["card_last4"][0] == "4321"
    assert f["currency"] == (None, None) and en["missing"] == ["currency"]  # which dollars: the agent asks


def test_no_template_is_404_and_another_agents_call_is_404(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    plain = play([("customer", "你好")])
    r = client.get(f"/v1/calls/{plain}/ticket", headers=keys["agent"])
    assert r.status_code == 404 and "ticket template" in r.json()["detail"]
    assert client.get(f"/v1/calls/{play(DISPUTE_ZH)}/ticket", headers=keys["agent2"]).status_code == 404


def test_submit_names_missing_fields_and_refuses_bad_values(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    call_id = play(DISPUTE_ZH)
    r = client.post("/v1/tickets", headers=keys["agent"], json={"call_id": call_id, "template": "card_dispute"})
    assert r.status_code == 422
    for name in ("card_last4", "amount", "currency", "date", "merchant", "description"):
        assert name in r.json()["detail"]
    bad = {"card_last4": "6222021234561234", "amount": "300", "currency": "CNY", "date": "2024-03-05"}
    r = client.post(
        "/v1/tickets", headers=keys["agent"], json={"call_id": call_id, "template": "card_dispute", "fields": bad}
    )
    assert r.status_code == 422 and "four digits" in r.json()["detail"] and "6222021234561234" not in r.json()["detail"]
    r = client.post(
        "/v1/tickets",
        headers=keys["agent"],
        json={"call_id": call_id, "template": "card_dispute", "fields": {"colour": "x"}},
    )
    assert r.status_code == 422 and "colour" in r.json()["detail"]
    r = client.post("/v1/tickets", headers=keys["agent"], json={"call_id": call_id, "template": "nope", "fields": {}})
    assert r.status_code == 404


def _complete(call_id: str) -> dict:
    return {
        "call_id": call_id,
        "template": "card_dispute",
        "fields": {
            "card_last4": "1234",
            "amount": "300",
            "currency": "cny",
            "date": "2024-03-05",
            "merchant": "京东",
            "description": "客户称卡号 6222021234561234 被盗刷",
        },
    }


def test_submitted_ticket_is_redacted_owned_listed_exported_and_its_status_audited(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    call_id = play(DISPUTE_ZH)
    r = client.post("/v1/tickets", headers=keys["agent"], json=_complete(call_id))
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["status"] == "open" and t["fields"]["currency"] == "CNY"
    assert "6222021234561234" not in json.dumps(t) and "[CARD]" in t["fields"]["description"]
    assert t["turns"]["card_last4"] == 4 and t["turns"]["date"] is None  # typed by the agent, not said
    assert [x["id"] for x in client.get("/v1/tickets", headers=keys["agent"]).json()] == [t["id"]]
    assert client.get("/v1/tickets", headers=keys["agent2"]).json() == []
    assert client.get(f"/v1/tickets/{t['id']}", headers=keys["agent2"]).status_code == 404
    assert client.get(f"/v1/tickets/{t['id']}", headers=keys["compliance"]).status_code == 200
    assert client.get("/v1/tickets", headers=keys["editor"]).status_code == 403
    r = client.patch(f"/v1/tickets/{t['id']}", headers=keys["compliance"], json={"status": "in_progress"})
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert client.patch(f"/v1/tickets/{t['id']}", headers=keys["agent"], json={"status": "closed"}).status_code == 422
    audit = client.get("/v1/audit?action=ticket.*", headers=keys["admin"]).json()
    assert {a["action"] for a in audit} == {"ticket.create", "ticket.status"}
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/tickets/export", headers=keys["compliance"]).text)))
    assert rows[0]["id"] == t["id"] and json.loads(rows[0]["fields"])["merchant"] == "京东"
    exported = client.get("/v1/tickets/export?format=json", headers=keys["compliance"]).json()
    assert exported[0]["status"] == "in_progress"


def test_an_agent_may_not_submit_for_another_agents_call(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    call_id = play(DISPUTE_ZH)
    assert client.post("/v1/tickets", headers=keys["agent2"], json=_complete(call_id)).status_code == 404


def test_webhook_is_retried_and_every_delivery_recorded(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(503 if len(seen) < 3 else 200)

    from starlette.requests import HTTPConnection

    from assist.deps import get_aftercall

    conn = HTTPConnection({"type": "http", "app": client.app, "headers": []})
    get_aftercall(conn).sender = WebhookSender(
        "https://tickets.example/hook", attempts=3, transport=httpx.MockTransport(handler), sleep=lambda _s: None
    )
    call_id = play(DISPUTE_ZH)
    t = client.post("/v1/tickets", headers=keys["agent"], json=_complete(call_id)).json()
    deliveries = client.get(f"/v1/tickets/{t['id']}/deliveries", headers=keys["agent"]).json()
    assert [(d["attempt"], d["ok"], d["status_code"]) for d in deliveries] == [
        (1, False, 503),
        (2, False, 503),
        (3, True, 200),
    ]
    assert seen[0]["id"] == t["id"] and seen[0]["fields"]["card_last4"] == "1234"


def test_webhook_gives_up_after_the_attempts_and_records_the_error(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    from assist.aftercall.service import aftercall_of

    aftercall_of(client.app.state, client.app.state.settings).sender = WebhookSender(
        "https://tickets.example/hook", attempts=2, transport=httpx.MockTransport(handler), sleep=lambda _s: None
    )
    t = client.post("/v1/tickets", headers=keys["agent"], json=_complete(play(DISPUTE_ZH))).json()
    assert t["status"] == "open"  # the ticket is stored whatever the webhook does
    deliveries = client.get(f"/v1/tickets/{t['id']}/deliveries", headers=keys["agent"]).json()
    assert [d["ok"] for d in deliveries] == [False, False] and "ConnectError" in deliveries[0]["error"]


def test_customer_ref_is_stored_only_as_a_keyed_hash(client: TestClient, keys: dict, play: Callable[..., str]) -> None:
    a = play([], customer_ref="CUST-0042")
    b = play([], customer_ref=" cust-0042 ")
    with Session(client.app.state.db_engine) as s:
        rows = {c.call_id: c.customer_hash for c in s.exec(select(CallContact))}
    assert rows[a] == rows[b] and len(rows[a]) == 64 and "0042" not in rows[a]
    r = client.post("/v1/calls", headers=keys["agent"], json={"customer_ref": ""})
    assert r.status_code == 422
    assert client.post("/v1/calls", headers=keys["agent"]).status_code == 201  # no body still works
