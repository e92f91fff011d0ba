"""QA scorecards through the HTTP API: scored after the call ends, verdicts citing turns, critical failures
zeroing the score, overrides audited with the agreement rate, roles; first-contact resolution."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

GOOD_WEALTH = [
    ("agent", "您好，海港银行，请问有什么可以帮您？"),
    ("customer", "你们的理财产品收益怎么样？"),
    ("agent", "这款理财保本，您放心。"),  # FakeGuard blocks 保本
    ("agent", "抱歉，我更正一下：理财非存款、产品有风险、投资须谨慎。"),
    ("customer", "好的，谢谢。"),
    ("agent", "请问还有其他可以帮您的吗？再见。"),
]
UNCORRECTED = [
    ("agent", "Hello, Harbor Bank."),
    ("customer", "Is the fund a good investment?"),
    ("agent", "It is a guaranteed return, do not worry."),
    ("customer", "ok"),
    ("agent", "Anything else?"),
    ("agent", "Goodbye."),
]
DETAILS_FIRST = [
    ("agent", "您好。"),
    ("customer", "我的信用卡丢了"),
    ("agent", "已为您冻结，您的余额是五千元。"),
    ("agent", "请提供姓名，身份核验通过。"),
]


def _card(client: TestClient, keys: dict, call_id: str, who: str = "agent") -> dict:
    r = client.get(f"/v1/calls/{call_id}/scorecard", headers=keys[who])
    assert r.status_code == 200, r.text
    return r.json()


def _crit(card: dict) -> dict[str, dict]:
    return {c["id"]: c for c in card["criteria"]}


def test_a_call_is_scored_only_after_it_ends(client: TestClient, keys: dict, play: Callable[..., str]) -> None:
    call_id = play(GOOD_WEALTH)
    r = client.get(f"/v1/calls/{call_id}/scorecard", headers=keys["agent"])
    assert r.status_code == 409 and "has not ended" in r.json()["detail"]


def test_a_corrected_claim_and_a_full_disclosure_pass_with_their_turns(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    card = _card(client, keys, play(GOOD_WEALTH, end=True))
    c = _crit(card)
    assert c["forbidden_claim_corrected"]["passed"] is True and c["forbidden_claim_corrected"]["turns"] == [3, 4]
    assert c["disclosures_read"]["passed"] is True and "3/3" in c["disclosures_read"]["reason"]
    assert c["greeting"]["passed"] is True and c["greeting"]["turns"] == [1]
    assert c["closing"]["passed"] is True
    assert c["identity_before_details"]["passed"] is None  # no account details discussed
    assert c["ticket_submitted"]["passed"] is None  # a fund question needs no ticket
    assert card["score"] == 100.0 and c["greeting"]["label"] == "规范开场问候"


def test_an_uncorrected_claim_is_a_critical_failure(client: TestClient, keys: dict, play: Callable[..., str]) -> None:
    card = _card(client, keys, play(UNCORRECTED, end=True))
    c = _crit(card)
    assert c["forbidden_claim_corrected"]["passed"] is False and c["forbidden_claim_corrected"]["critical"]
    assert c["forbidden_claim_corrected"]["turns"] == [3]
    assert c["disclosures_read"]["passed"] is False and "0/3" in c["disclosures_read"]["reason"]
    assert card["score"] == 0.0


def test_details_before_verification_fail(client: TestClient, keys: dict, play: Callable[..., str]) -> None:
    c = _crit(_card(client, keys, play(DETAILS_FIRST, end=True)))
    assert c["identity_before_details"]["passed"] is False and 3 in c["identity_before_details"]["turns"]


def test_a_complaint_without_a_ticket_fails_and_with_one_passes(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    turns = [("agent", "您好"), ("customer", "我要投诉，你们的服务太差了，昨天在网点等了两个小时")]
    c = _crit(_card(client, keys, play(turns, end=True)))
    assert c["ticket_submitted"]["passed"] is False and c["ticket_submitted"]["turns"] == [2]
    call_id = play(turns)
    body = {
        "call_id": call_id,
        "template": "complaint",
        "fields": {"channel": "branch", "date": "2024-03-05", "description": "等候太久"},
    }
    assert client.post("/v1/tickets", headers=keys["agent"], json=body).status_code == 201
    client.post(f"/v1/calls/{call_id}/end", headers=keys["agent"])
    assert _crit(_card(client, keys, call_id))["ticket_submitted"]["passed"] is True


def test_escalation_when_the_customer_asks_twice(client: TestClient, keys: dict, play: Callable[..., str]) -> None:
    asked = [("customer", "I want a supervisor"), ("agent", "Let me help"), ("customer", "Get me your manager now")]
    c = _crit(_card(client, keys, play(asked, end=True)))
    assert c["escalation_offered"]["passed"] is False and c["escalation_offered"]["turns"] == [1, 3]
    offered = [*asked, ("agent", "I will transfer you to my supervisor now.")]
    c = _crit(_card(client, keys, play(offered, end=True)))
    assert c["escalation_offered"]["passed"] is True and 4 in c["escalation_offered"]["turns"]


def test_roles_and_overrides_are_audited_with_the_agreement_rate(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    call_id = play(UNCORRECTED, end=True)
    assert client.get(f"/v1/calls/{call_id}/scorecard", headers=keys["agent2"]).status_code == 404
    assert _card(client, keys, call_id, who="compliance")["score"] == 0.0
    body = {"criterion": "forbidden_claim_corrected", "passed": True, "note": "said in a training context"}
    assert client.post(f"/v1/calls/{call_id}/scorecard/overrides", headers=keys["agent"], json=body).status_code == 403
    r = client.post(f"/v1/calls/{call_id}/scorecard/overrides", headers=keys["compliance"], json=body)
    assert r.status_code == 201, r.text
    c = _crit(r.json())
    assert c["forbidden_claim_corrected"]["passed"] is True and c["forbidden_claim_corrected"]["auto_passed"] is False
    assert r.json()["auto_score"] == 0.0
    agree = {"criterion": "greeting", "passed": True, "note": "fine"}
    client.post(f"/v1/calls/{call_id}/scorecard/overrides", headers=keys["compliance"], json=agree)
    bad = {"criterion": "nope", "passed": True, "note": "x"}
    assert (
        client.post(f"/v1/calls/{call_id}/scorecard/overrides", headers=keys["compliance"], json=bad).status_code == 422
    )
    audit = client.get("/v1/audit?action=scorecard.override", headers=keys["admin"]).json()
    assert len(audit) == 2 and audit[-1]["before"] == {"criterion": "forbidden_claim_corrected", "passed": False}
    summary = client.get("/v1/qa/summary?group=agent", headers=keys["compliance"]).json()
    assert summary["agreement"]["reviewed"] == 2 and summary["agreement"]["rate"] == 0.5
    assert client.get("/v1/qa/summary", headers=keys["agent"]).status_code == 403


def test_worst_calls_first_and_csv_export(client: TestClient, keys: dict, play: Callable[..., str]) -> None:
    good, bad = play(GOOD_WEALTH, end=True), play(UNCORRECTED, end=True)
    for c in (good, bad):
        _card(client, keys, c)
    listed = client.get("/v1/qa/scorecards", headers=keys["compliance"]).json()
    assert [x["call_id"] for x in listed] == [bad, good]
    assert client.get("/v1/qa/scorecards", headers=keys["agent2"]).json() == []
    csv_text = client.get("/v1/qa/export", headers=keys["compliance"]).text
    assert csv_text.splitlines()[0].startswith("call_id,agent,score") and bad in csv_text


def test_a_repeat_contact_on_the_same_topic_marks_the_first_call_not_resolved(
    client: TestClient, keys: dict, play: Callable[..., str]
) -> None:
    loss = [("customer", "我的信用卡丢了")]
    first = play(loss, end=True, customer_ref="CUST-1")
    other_topic = play([("customer", "我想问一下房贷提前还款")], end=True, customer_ref="CUST-1")
    _card(client, keys, other_topic)  # scoring links repeat contacts
    fcr = client.get("/v1/qa/summary?group=topic", headers=keys["compliance"]).json()["fcr"]
    assert {r["group"]: r["fcr"] for r in fcr}["card_loss"] == 1.0
    again = play(loss, end=True, customer_ref="cust-1")
    _card(client, keys, again)
    fcr = client.get("/v1/qa/summary?group=topic", headers=keys["compliance"]).json()["fcr"]
    row = next(r for r in fcr if r["group"] == "card_loss")
    assert (row["calls"], row["resolved"]) == (2, 1)
    assert first != again
