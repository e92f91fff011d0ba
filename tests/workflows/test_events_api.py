"""The review queue over HTTP, with live calls: a rule change takes effect on a call's next turn without a
restart; alerts enter the queue; a false positive adds an exception in one step; stats and CSV export."""

from __future__ import annotations

import csv
import io

from sqlmodel import Session, select

from assist.models.audit import AuditEntry
from assist.models.calls import Feedback, Suggestion
from tests.workflows.test_rules_api import PREDICTION

CLAIM = "这只基金明年肯定涨，收益翻倍。"


def say(client, agent_hdrs, call_id: str, text: str, speaker: str = "agent") -> dict:
    r = client.post(f"/v1/calls/{call_id}/utterances", headers=agent_hdrs, json={"speaker": speaker, "text": text})
    assert r.status_code == 200, r.text
    return r.json()


def start(client, agent_hdrs) -> str:
    r = client.post("/v1/calls", headers=agent_hdrs)
    assert r.status_code == 201, r.text
    return r.json()["call_id"]


def test_rule_change_takes_effect_on_the_live_calls_next_turn(client, headers):
    agent, comp = headers["agent"], headers["compliance"]
    call_id = start(client, agent)
    assert say(client, agent, call_id, CLAIM)["alerts"] == []

    assert client.post("/v1/rules", headers=comp, json=PREDICTION).status_code == 201
    alerts = say(client, agent, call_id, CLAIM)["alerts"]
    assert [a["action"] for a in alerts] == ["block"]
    assert {m["rule_id"] for m in alerts[0]["matches"]} == {"performance_prediction"}

    client.patch("/v1/rules/performance_prediction", headers=comp, json={"severity": "warn"})
    assert [a["action"] for a in say(client, agent, call_id, CLAIM)["alerts"]] == ["warn"]

    client.delete("/v1/rules/performance_prediction", headers=comp)
    assert say(client, agent, call_id, CLAIM)["alerts"] == []


def test_queue_filters_review_and_exception_in_one_step(client, headers):
    agent, comp = headers["agent"], headers["compliance"]
    call_id = start(client, agent)
    say(client, agent, call_id, "您好，请问有什么可以帮您？")
    say(client, agent, call_id, "我们的保本理财已经卖完了", speaker="agent")
    say(client, agent, call_id, "这款产品零风险")
    say(client, agent, call_id, "你们保本吗？", speaker="customer")  # a customer's question: no event

    pending = client.get("/v1/guard/events", params={"status": "pending"}, headers=comp).json()
    assert [e["rule_ids"] for e in pending] == [["no_risk"], ["guaranteed_return"]]
    fp = pending[1]
    assert fp["call_id"] == call_id and fp["agent_name"] == "agent-tester" and fp["speaker"] == "agent"
    assert fp["rule_versions"] == {"guaranteed_return": 1}
    assert any("请问有什么可以帮您" in t.get("text", "") for t in fp["context"])
    only = client.get("/v1/guard/events", params={"rule": "no_risk"}, headers=comp).json()
    assert [e["id"] for e in only] == [pending[0]["id"]]
    assert client.get("/v1/guard/events", params={"category": "no_risk", "agent": "nobody"}, headers=comp).json() == []
    assert len(client.get("/v1/guard/events", params={"agent": "agent-tester"}, headers=comp).json()) == 2
    assert client.get(f"/v1/guard/events/{fp['id']}", headers=comp).json()["text"] == fp["text"]

    r = client.post(
        f"/v1/guard/events/{pending[0]['id']}/review",
        headers=comp,
        json={"decision": "confirmed", "note": "a real no-risk claim"},
    )
    assert r.status_code == 200 and r.json()["event"]["status"] == "confirmed" and r.json()["rule"] is None

    # "保本理财已经卖完了" names a product line, not a promise: mark it and add the phrase as an exception
    r = client.post(
        f"/v1/guard/events/{fp['id']}/review",
        headers=comp,
        json={"decision": "false_positive", "note": "product name", "add_exception": "保本理财"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["event"]["status"] == "false_positive" and body["event"]["reviewer"] == "compliance-tester"
    assert body["rule"]["rule_id"] == "guaranteed_return" and body["rule"]["version"] == 2
    assert body["rule"]["change"] == "exception"
    # the running call sees the new version on its next turn, and a real claim is still caught
    assert say(client, agent, call_id, "我们的保本理财已经卖完了")["alerts"] == []
    assert [a["action"] for a in say(client, agent, call_id, "这个产品保本")["alerts"]] == ["block"]
    newest = client.get("/v1/guard/events", params={"status": "pending"}, headers=comp).json()[0]
    assert newest["rule_versions"] == {"guaranteed_return": 2}
    assert [e["id"] for e in client.get("/v1/guard/events", params={"status": "pending"}, headers=comp).json()] == [
        newest["id"]
    ]

    with Session(client.app.state.db_engine) as s:
        acts = [
            (e.action, e.target_id)
            for e in s.exec(select(AuditEntry).order_by(AuditEntry.id))
            if e.action.startswith(("guard_event", "rule.exception"))
        ]
    assert acts == [
        ("guard_event.review", str(pending[0]["id"])),
        ("rule.exception", "guaranteed_return"),
        ("guard_event.review", str(fp["id"])),
    ]


def test_review_errors(client, headers):
    agent, comp = headers["agent"], headers["compliance"]
    call_id = start(client, agent)
    say(client, agent, call_id, "这款产品零风险")
    ev = client.get("/v1/guard/events", headers=comp).json()[0]
    url = f"/v1/guard/events/{ev['id']}/review"
    assert (
        client.post("/v1/guard/events/999999/review", headers=comp, json={"decision": "confirmed"}).status_code == 404
    )
    r = client.post(url, headers=comp, json={"decision": "perhaps"})
    assert r.status_code == 422 and "decision" in r.json()["detail"]
    r = client.post(url, headers=comp, json={"decision": "confirmed", "add_exception": "零风险投资法"})
    assert r.status_code == 422 and "false_positive" in r.json()["detail"]
    # an exception that would break the rule's own examples is refused, and nothing is half-applied
    client.patch("/v1/rules/no_risk", headers=comp, json={"examples": {"positive": ["这款产品零风险"], "negative": []}})
    r = client.post(url, headers=comp, json={"decision": "false_positive", "add_exception": "零风险"})
    assert r.status_code == 422
    assert client.get(f"/v1/guard/events/{ev['id']}", headers=comp).json()["status"] == "pending"
    assert client.get("/v1/rules/no_risk", headers=comp).json()["current"]["version"] == 2


def test_stats_and_csv_export(client, headers, db):
    agent, comp = headers["agent"], headers["compliance"]
    call_id = start(client, agent)
    for text in ("这款产品零风险", "这个产品保本", "这个也保本"):
        say(client, agent, call_id, text)
    events = client.get("/v1/guard/events", headers=comp).json()
    by_rule = {e["rule_ids"][0]: e["id"] for e in events}
    client.post(f"/v1/guard/events/{by_rule['no_risk']}/review", headers=comp, json={"decision": "false_positive"})
    for e in events:
        if e["rule_ids"] == ["guaranteed_return"]:
            client.post(f"/v1/guard/events/{e['id']}/review", headers=comp, json={"decision": "confirmed"})
    sug = Suggestion(call_id=call_id, turn=1, query="q", answer="a")
    db.add(sug)
    db.commit()
    db.add(Feedback(suggestion_id=sug.id, rating="used"))
    db.commit()

    stats = client.get("/v1/guard/stats", headers=comp).json()
    rates = {r["rule_id"]: r["false_positive_rate"] for r in stats["rules"]}
    assert rates == {"no_risk": 1.0, "guaranteed_return": 0.0}
    assert stats["rules"][0]["rule_id"] == "no_risk"
    assert sum(d["total"] for d in stats["alerts_per_day"]) == 3
    assert stats["feedback"] == {"used": 1} and stats["acceptance_rate"] == 1.0

    day = stats["alerts_per_day"][0]["day"]
    r = client.get("/v1/guard/events/export.csv", params={"from": day, "to": day}, headers=comp)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(row["status"] for row in rows) == ["confirmed", "confirmed", "false_positive"]
    assert {row["text"] for row in rows} == {"这款产品零风险", "这个产品保本", "这个也保本"}
    empty = client.get("/v1/guard/events/export.csv", params={"from": "2001-01-01", "to": "2001-01-02"}, headers=comp)
    assert len(list(csv.reader(io.StringIO(empty.content.decode("utf-8-sig"))))) == 1  # header only
    assert client.get("/v1/guard/events/export.csv", params={"from": "yesterday"}, headers=comp).status_code == 422
