"""Rules over HTTP: versions on every change, the guard swapped without a restart, draft testing, YAML
import/export, and validation errors that name the rule."""

from __future__ import annotations

import yaml
from sqlmodel import Session, select

from assist.models.audit import AuditEntry

PREDICTION = {
    "id": "performance_prediction",
    "category": "performance_prediction",
    "severity": "block",
    "languages": ["zh-Hans", "zh-Hant", "en"],
    "phrases": ["肯定涨", "翻倍", "will double"],
    "advice": "不预测收益；请说明过往业绩不代表未来表现。",
    "source": "广告法第二十五条",
}


def check(client, hdrs, text: str, speaker: str = "agent") -> str:
    """The verdict of the guard now in force (the live calls' guard)."""
    return str(client.app.state.guard_holder.get().check(text, speaker).action)


def rule_audit(client) -> list[tuple[str, str | None]]:
    with Session(client.app.state.db_engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.target_type == "rule").order_by(AuditEntry.id))
        return [(e.action, e.target_id) for e in rows]


def test_seeded_from_the_pack_on_first_start(client, headers):
    r = client.get("/v1/rules", headers=headers["compliance"])
    assert r.status_code == 200
    assert [(x["rule_id"], x["version"], x["change"]) for x in r.json()] == [
        ("guaranteed_return", 1, "seed"),
        ("no_risk", 1, "seed"),
    ]
    with Session(client.app.state.db_engine) as s:
        seeds = s.exec(select(AuditEntry).where(AuditEntry.action == "rule.seed")).all()
    assert len(seeds) == 1 and seeds[0].after["rules"] == {"guaranteed_return": 1, "no_risk": 1}


def test_create_update_delete_each_make_a_version_and_swap_the_guard(client, headers):
    c = headers["compliance"]
    text = "这只基金明年肯定涨，收益翻倍。"
    assert check(client, c, text) == "allow"

    r = client.post("/v1/rules", headers=c, json=PREDICTION)
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["author"]) == (1, "compliance-tester")
    assert check(client, c, text) == "block"
    assert client.post("/v1/rules", headers=c, json=PREDICTION).status_code == 409

    r = client.patch("/v1/rules/performance_prediction", headers=c, json={"severity": "warn"})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert check(client, c, text) == "warn"

    detail = client.get("/v1/rules/performance_prediction", headers=c).json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][1]["body"]["severity"] == "block"  # the previous version stays readable

    r = client.delete("/v1/rules/performance_prediction", headers=c)
    assert r.status_code == 200 and r.json()["deleted"] is True and r.json()["version"] == 3
    assert check(client, c, text) == "allow"
    assert "performance_prediction" not in [x["rule_id"] for x in client.get("/v1/rules", headers=c).json()]
    listed = client.get("/v1/rules", params={"include_deleted": True}, headers=c).json()
    assert "performance_prediction" in [x["rule_id"] for x in listed]
    assert client.delete("/v1/rules/performance_prediction", headers=c).status_code == 404

    # re-creating a deleted rule continues its history
    r = client.post("/v1/rules", headers=c, json=PREDICTION)
    assert r.status_code == 201 and r.json()["version"] == 4
    assert [a for a, t in rule_audit(client) if t == "performance_prediction"] == [
        "rule.create",
        "rule.update",
        "rule.delete",
        "rule.create",
    ]


def test_invalid_rules_are_422_naming_the_rule_and_change_nothing(client, headers):
    c = headers["compliance"]
    bad_regex = {**PREDICTION, "id": "bad_one", "regexes": ["(unclosed"], "phrases": []}
    r = client.post("/v1/rules", headers=c, json=bad_regex)
    assert r.status_code == 422 and "bad_one" in r.json()["detail"]
    r = client.post("/v1/rules", headers=c, json={**PREDICTION, "id": "sev", "severity": "maybe"})
    assert r.status_code == 422 and "sev" in r.json()["detail"]
    r = client.post("/v1/rules", headers=c, json={"id": "lonely"})
    assert r.status_code == 422 and "lonely" in r.json()["detail"]
    r = client.patch("/v1/rules/no_risk", headers=c, json={"severity": "extreme"})
    assert r.status_code == 422 and "no_risk" in r.json()["detail"]
    r = client.patch("/v1/rules/no_risk", headers=c, json={"id": "renamed"})
    assert r.status_code == 422
    assert client.patch("/v1/rules/nope", headers=c, json={"severity": "warn"}).status_code == 404
    assert client.get("/v1/rules/nope", headers=c).status_code == 404
    assert [x["version"] for x in client.get("/v1/rules", headers=c).json()] == [1, 1]
    assert check(client, c, "这个产品零风险") == "block"


def test_draft_testing_shows_what_would_newly_block_and_stop_blocking(client, headers):
    c = headers["compliance"]
    r = client.post("/v1/rules/test", headers=c, json={"rule": PREDICTION})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["cases"] >= 150 and rep["newly_blocked"] and not rep["stops_blocking"]
    assert all(
        ch["rules_after"] == ["performance_prediction"] or "performance_prediction" in ch["rules_after"]
        for ch in rep["newly_blocked"]
    )
    assert rep["after"]["recall"] >= rep["before"]["recall"]

    r = client.post("/v1/rules/test", headers=c, json={"delete_rule_id": "guaranteed_return"})
    rep = r.json()
    assert rep["stops_blocking"] and not rep["newly_blocked"]
    assert all("guaranteed_return" in ch["rules_before"] for ch in rep["stops_blocking"])
    assert rep["after"]["recall"] < rep["before"]["recall"]

    # nothing was published by testing
    assert [x["rule_id"] for x in client.get("/v1/rules", headers=c).json()] == ["guaranteed_return", "no_risk"]
    bad = client.post("/v1/rules/test", headers=c, json={"rule": {**PREDICTION, "severity": "x"}})
    assert bad.status_code == 422 and "performance_prediction" in bad.json()["detail"]
    assert client.post("/v1/rules/test", headers=c, json={}).status_code == 422


def test_draft_testing_covers_recent_guard_events(client, headers, db):
    from assist.models.guard import GuardEvent

    db.add(GuardEvent(action="warn", text="this fund will double next year", rule_ids=[], speaker="agent"))
    db.commit()
    rep = client.post("/v1/rules/test", headers=headers["compliance"], json={"rule": PREDICTION}).json()
    events = [ch for ch in rep["newly_blocked"] if ch["source"] == "event"]
    assert rep["events"] == 1 and [e["text"] for e in events] == ["this fund will double next year"]


def test_export_then_import_round_trips_and_import_is_all_or_nothing(client, headers):
    c = headers["compliance"]
    r = client.get("/v1/rules/export", headers=c)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/yaml")
    pack = yaml.safe_load(r.text)
    assert [x["id"] for x in pack["rules"]] == ["guaranteed_return", "no_risk"]
    assert pack["disclosures"][0]["id"] == "wealth_risk_disclosure"

    form = client.post("/v1/rules/import", headers=c, files={"file": ("rules.yaml", r.content)})
    assert form.status_code == 200 and len(form.json()["unchanged"]) == 2, form.text
    assert client.post("/v1/rules/import", headers=c, files={"other": ("x.yaml", b"rules: []")}).status_code == 422
    same = client.post("/v1/rules/import", headers=c, content=r.text.encode())
    assert same.status_code == 200, same.text
    assert same.json()["unchanged"] == ["guaranteed_return", "no_risk"] and not same.json()["updated"]

    pack["rules"][1]["phrases"].append("毫无风险")
    pack["rules"].append(PREDICTION)
    r = client.post("/v1/rules/import", headers=c, content=yaml.safe_dump(pack, allow_unicode=True).encode())
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"]) == (["performance_prediction"], ["no_risk"])
    assert check(client, c, "收益翻倍") == "block" and check(client, c, "这个产品毫无风险") == "block"

    # one bad rule: nothing of the pack is applied
    pack["rules"][0]["phrases"].append("保收益")
    pack["rules"].append({**PREDICTION, "id": "broken", "regexes": ["(x"], "phrases": []})
    r = client.post("/v1/rules/import", headers=c, content=yaml.safe_dump(pack, allow_unicode=True).encode())
    assert r.status_code == 422 and "broken" in r.json()["detail"]
    assert client.get("/v1/rules/guaranteed_return", headers=c).json()["current"]["version"] == 1

    for garbage in (b"", b"rules: [", b"just a string", b"\xff\xfe\x00", b"rules: {a: 1}"):
        assert client.post("/v1/rules/import", headers=c, content=garbage).status_code == 422, garbage

    # prune: rules the pack lacks are deleted
    only = {"rules": [pack["rules"][0]]}
    only["rules"][0]["phrases"].remove("保收益")
    r = client.post(
        "/v1/rules/import", params={"prune": True}, headers=c, content=yaml.safe_dump(only, allow_unicode=True).encode()
    )
    assert r.status_code == 200 and sorted(r.json()["deleted"]) == ["no_risk", "performance_prediction"]
    assert check(client, c, "收益翻倍") == "allow"


def test_import_refuses_yaml_bombs_and_deep_nesting(client, headers):
    bomb = (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(8)
        )
        + "rules: *i\n"
    )
    r = client.post("/v1/rules/import", headers=headers["compliance"], content=bomb.encode())
    assert r.status_code == 422 and "expands" in r.json()["detail"]
    r = client.post("/v1/rules/import", headers=headers["compliance"], content=b"[" * 5000)
    assert r.status_code == 422
