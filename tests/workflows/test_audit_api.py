"""The audit log over HTTP: every action leaves an entry with who (key name and role), what, when and the
identifiers before and after; GET /v1/audit filters it; no route edits or deletes it."""

from __future__ import annotations

from sqlmodel import Session

from tests.workflows.test_documents_api import FLAGGED, V1, V2, upload
from tests.workflows.test_rules_api import PREDICTION


def test_every_action_is_audited_with_who_what_and_identifiers(client, headers, keys):
    ed, comp = headers["editor"], headers["compliance"]
    from assist.security.keys import create_key, lookup_key, revoke_key

    with Session(client.app.state.db_engine) as s:
        row, _ = create_key(s, role="agent", name="temp-agent")
        revoke_key(s, key_id=row.id)
        editor_id = lookup_key(s, keys["editor"]).id

    d1 = upload(client, ed, "fees.md", V1).json()
    d2 = upload(client, ed, "fees.md", V2).json()
    client.post(f"/v1/documents/{d2['id']}/retire", headers=ed)
    flagged = upload(client, ed, "wealth.md", FLAGGED).json()
    client.post(f"/v1/documents/{flagged['id']}/review", headers=comp, json={"decision": "reject", "note": "fix"})
    client.post(f"/v1/documents/{flagged['id']}/review", headers=comp, json={"decision": "approve"})
    client.post("/v1/rules", headers=comp, json=PREDICTION)
    client.patch("/v1/rules/performance_prediction", headers=comp, json={"severity": "warn"})
    client.delete("/v1/rules/performance_prediction", headers=comp)
    client.post("/v1/rules/import", headers=comp, content=b"rules: []\ndisclosures: []\n")
    call_id = client.post("/v1/calls", headers=headers["agent"]).json()["call_id"]
    client.post(
        f"/v1/calls/{call_id}/utterances",
        headers=headers["agent"],
        json={"speaker": "agent", "text": "我们的保本理财卖完了"},
    )
    ev = client.get("/v1/guard/events", headers=comp).json()[0]
    client.post(
        f"/v1/guard/events/{ev['id']}/review",
        headers=comp,
        json={"decision": "false_positive", "add_exception": "保本理财"},
    )

    r = client.get("/v1/audit", params={"limit": 1000}, headers=comp)
    assert r.status_code == 200
    entries = list(reversed(r.json()))
    acts = [e["action"] for e in entries]
    for expected in [
        "key.create",
        "key.revoke",
        "rule.seed",
        "document.upload",
        "document.version",
        "document.retire",
        "document.reject",
        "document.approve",
        "rule.create",
        "rule.update",
        "rule.delete",
        "disclosures.import",
        "rule.exception",
        "guard_event.review",
    ]:
        assert expected in acts, (expected, acts)
    by = {e["action"]: e for e in entries}
    assert (by["document.retire"]["actor"], by["document.retire"]["role"]) == ("editor-tester", "editor")
    assert by["document.retire"]["actor_key_id"] == editor_id
    assert by["document.retire"]["before"]["status"] == "published"
    assert by["document.retire"]["after"]["status"] == "retired"
    assert by["document.version"]["before"]["id"] == d1["id"] and by["document.version"]["after"]["id"] == d2["id"]
    assert by["rule.update"]["before"]["version"] == 1 and by["rule.update"]["after"]["version"] == 2
    assert (by["guard_event.review"]["actor"], by["guard_event.review"]["role"]) == ("compliance-tester", "compliance")
    assert by["guard_event.review"]["after"]["rule_version"] == 2
    assert all(e["created_at"] for e in entries)

    # filters
    only = client.get("/v1/audit", params={"action": "rule.*"}, headers=comp).json()
    assert only and all(e["action"].startswith("rule.") for e in only)
    mine = client.get("/v1/audit", params={"actor": "editor-tester"}, headers=comp).json()
    assert {e["action"] for e in mine} == {"document.upload", "document.version", "document.retire"}
    doc = client.get("/v1/audit", params={"target_id": flagged["id"]}, headers=comp).json()
    assert [e["action"] for e in doc] == ["document.approve", "document.reject", "document.upload"]
    assert client.get("/v1/audit", params={"from": "2001-01-01", "to": "2001-12-31"}, headers=comp).json() == []
    assert client.get("/v1/audit", params={"limit": 2}, headers=comp).json() == r.json()[:2]
    assert client.get("/v1/audit", params={"from": "not a date"}, headers=comp).status_code == 422


def test_no_route_edits_or_deletes_the_audit_log(client, headers, http_routes):
    audit_routes = [(m, p) for m, p, _ in http_routes if p.startswith("/v1/audit")]
    assert audit_routes and all(m == "GET" for m, _ in audit_routes), audit_routes
    admin = headers["admin"]
    before = client.get("/v1/audit", headers=admin).json()
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        for url in ("/v1/audit", f"/v1/audit/{before[0]['id'] if before else 1}"):
            assert client.request(method, url, headers=admin).status_code in (404, 405)
    assert client.get("/v1/audit", headers=admin).json() == before
