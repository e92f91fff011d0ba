"""The guard never fails open: a server whose guard has no rules, or cannot load them, is not ready, answers
guard checks with 503, alerts on every agent turn, withholds its own suggestions and refuses uploads; it
recovers as soon as rules are in force. Rule regexes RE2 refuses are 422 before they are saved."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session, func, select

from assist.config import get_settings
from assist.models.documents import Document
from assist.models.guard import GuardEvent, RuleRecord

from .conftest import RULE_PACK

CLAIM = "这款产品保本保收益"
FLAGGED_DOC = "# 稳健理财计划\n\n本产品保本，稳赚不赔，适合所有客户。\n"


@pytest.fixture
def no_rules(app_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Rules from an empty folder: what an installed server without its package data used to start with."""
    empty = tmp_path / "no_rules_here"
    empty.mkdir()
    monkeypatch.setenv("ASSIST_RULES_DIR", str(empty))
    get_settings.cache_clear()
    return empty


def _utterance(client: TestClient, hdrs: dict[str, str], call_id: str, speaker: str, text: str) -> dict:
    r = client.post(f"/v1/calls/{call_id}/utterances", headers=hdrs, json={"speaker": speaker, "text": text})
    assert r.status_code == 200, r.text
    return dict(r.json())


# ---------------------------------------------------------------- readiness


def test_readyz_is_200_with_rules_database_and_indexes(client, headers):
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and body["detail"] is None
    assert {k: v["ok"] for k, v in body["checks"].items()} == {"database": True, "indexes": True, "guard": True}
    assert body["guard"] == {"ready": True, "rules": 2, "reason": None, "model": None}  # claim model off in tests
    h = client.get("/healthz")
    assert h.status_code == 200 and h.json()["status"] == "ok" and h.json()["guard"] == body["guard"]


def test_a_server_with_no_rules_is_not_ready_and_says_why(no_rules, client, headers):
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not ready"
    assert body["checks"]["guard"]["ok"] is False and body["checks"]["database"]["ok"] is True
    assert body["guard"]["rules"] == 0 and body["guard"]["ready"] is False
    assert "no rule is in force" in body["detail"] and str(no_rules) in body["detail"]
    # liveness stays 200: restarting would not bring rules; the body tells a dashboard what is wrong
    h = client.get("/healthz")
    assert h.status_code == 200
    assert h.json()["guard"]["ready"] is False and h.json()["guard"]["rules"] == 0


@pytest.fixture
def broken_rules(app_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A rule pack that is not valid YAML."""
    broken = tmp_path / "broken_rules"
    broken.mkdir()
    (broken / "pack.yaml").write_text("rules: [{id: x, phrases: [保本]", encoding="utf-8")
    monkeypatch.setenv("ASSIST_RULES_DIR", str(broken))
    get_settings.cache_clear()
    return broken


def test_a_rule_pack_that_cannot_load_makes_the_server_not_ready(broken_rules, client, headers):
    r = client.get("/readyz")
    assert r.status_code == 503
    assert "the rules could not be loaded" in r.json()["detail"] and "pack.yaml" in r.json()["detail"]
    r = client.post("/v1/guard/check", headers=headers["agent"], json={"text": CLAIM})
    assert r.status_code == 503 and "could not be loaded" in r.json()["detail"]


def test_an_unreachable_database_makes_the_server_not_ready(client):
    working = client.app.state.db_engine
    client.app.state.db_engine = create_engine("sqlite:////nonexistent-dir/for/sure/assist.db")
    try:
        r = client.get("/readyz")
    finally:
        client.app.state.db_engine = working
    assert r.status_code == 503
    assert r.json()["checks"]["database"]["ok"] is False and r.json()["detail"].startswith("database:")


# ---------------------------------------------------------------- nothing passes unchecked


def test_guard_check_is_503_with_the_reason_when_the_guard_has_no_rules(no_rules, client, headers):
    r = client.post("/v1/guard/check", headers=headers["agent"], json={"text": CLAIM, "speaker": "agent"})
    assert r.status_code == 503
    assert r.json()["detail"].startswith("compliance check unavailable: no rule is in force")


def test_agent_turns_get_an_explicit_alert_and_suggestions_are_withheld(no_rules, client, headers):
    agent = headers["agent"]
    call_id = client.post("/v1/calls", headers=agent).json()["call_id"]

    turn = _utterance(client, agent, call_id, "agent", CLAIM)
    [alert] = turn["alerts"]
    assert (alert["type"], alert["action"], alert["matches"], alert["speaker"]) == (
        "compliance_alert",
        "warn",
        [],
        "agent",
    )
    assert alert["advice"].startswith("compliance check unavailable")

    turn = _utterance(client, agent, call_id, "customer", "我的信用卡丢了怎么办？")
    assert turn["suggestion"] is None  # never shown unchecked
    [alert] = turn["alerts"]
    assert alert["speaker"] == "suggestion" and alert["action"] == "warn"
    assert "withheld" in alert["advice"]

    # the unchecked agent turn waits in the review queue, marked as such
    with Session(client.app.state.db_engine) as s:
        events = s.exec(select(GuardEvent)).all()
    assert [(e.kind, e.action, e.rule_ids) for e in events] == [("unchecked", "warn", [])]


def test_the_websocket_gets_the_alert_too(no_rules, client, headers, keys):
    call_id = client.post("/v1/calls", headers=headers["agent"]).json()["call_id"]
    with client.websocket_connect(f"/v1/calls/{call_id}/stream?token={keys['agent']}") as ws:
        ws.send_json({"type": "utterance", "speaker": "agent", "text": CLAIM, "final": True})
        msg = ws.receive_json()  # alerts come first; a quiet turn would get an `ack`
    assert msg["type"] == "compliance_alert" and msg["action"] == "warn"
    assert msg["advice"].startswith("compliance check unavailable")


def test_uploads_are_refused_while_the_guard_is_unavailable(no_rules, client, headers):
    r = client.post("/v1/documents", headers=headers["editor"], files={"file": ("wealth.md", FLAGGED_DOC.encode())})
    assert r.status_code == 503
    assert r.json()["detail"].startswith("compliance check unavailable")
    with Session(client.app.state.db_engine) as s:
        assert s.exec(select(func.count()).select_from(Document)).one() == 0


def test_the_server_recovers_when_rules_are_imported(no_rules, client, headers):
    assert client.get("/readyz").status_code == 503
    r = client.post("/v1/rules/import", headers=headers["compliance"], content=RULE_PACK.encode())
    assert r.status_code == 200, r.text
    assert client.get("/readyz").status_code == 200
    r = client.post("/v1/guard/check", headers=headers["agent"], json={"text": CLAIM, "speaker": "agent"})
    assert r.status_code == 200 and r.json()["action"] == "block"


def test_the_sync_loop_retries_a_guard_that_failed_to_load(no_rules, client, rules_dir):
    from assist.app import sync_with_database

    holder = client.app.state.guard_holder
    assert not holder.ready
    holder.seed_path = rules_dir  # the pack appears (e.g. a volume mounted late)
    changed = sync_with_database(client.app.state.knowledge, holder, client.app.state.db_engine)
    assert changed["rules"] is True and holder.ready
    assert client.get("/readyz").status_code == 200


def test_the_last_rule_in_force_cannot_be_deleted(client, headers):
    c = headers["compliance"]
    assert client.delete("/v1/rules/no_risk", headers=c).status_code == 200
    r = client.delete("/v1/rules/guaranteed_return", headers=c)
    assert r.status_code == 409 and "no rule in force" in r.json()["detail"]
    r = client.patch("/v1/rules/guaranteed_return", headers=c, json={"enabled": False})
    assert r.status_code == 409
    assert client.get("/readyz").status_code == 200


# ---------------------------------------------------------------- regexes RE2 refuses are never saved


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("lose\\b(?! your card)", "lookarounds are not supported"),
        ("(guaranteed) \\1", "backreferences are not supported"),
    ],
)
def test_rules_api_refuses_regexes_re2_cannot_run_with_422(client, headers, pattern, why):
    c = headers["compliance"]
    rule = yaml.safe_load(RULE_PACK)["rules"][0]
    new = {**rule, "id": "user_rule", "phrases": [], "regexes": [pattern]}
    r = client.post("/v1/rules", headers=c, json=new)
    assert r.status_code == 422 and why in r.json()["detail"] and "user_rule" in r.json()["detail"]
    r = client.patch("/v1/rules/guaranteed_return", headers=c, json={"regexes": [pattern]})
    assert r.status_code == 422 and why in r.json()["detail"]
    pack = yaml.safe_dump({"rules": [new]}, allow_unicode=True)
    r = client.post("/v1/rules/import", headers=c, content=pack.encode())
    assert r.status_code == 422 and why in r.json()["detail"]
    with Session(client.app.state.db_engine) as s:
        assert s.exec(select(func.count()).select_from(RuleRecord)).one() == 2  # nothing saved
