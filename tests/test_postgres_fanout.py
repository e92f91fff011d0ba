"""Two replicas (two apps, own data directories) on one PostgreSQL database, with no sticky routing: a socket
on A gets the turns posted to B in order and once; a call ended on B is refused on A; a panel resumes on B
without a gap; a rule added on A blocks on B and a document retired on A is no longer cited on B, at once
(the periodic sync is off). Needs ASSIST_TEST_POSTGRES_URL (.ci/start-postgres prints one)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from assist.config import Settings, get_settings
from assist.models.keys import Role
from tests.factories import write
from tests.utils.api import bearer, new_key
from tests.workflows.conftest import RULE_PACK

URL = os.environ.get("ASSIST_TEST_POSTGRES_URL")
ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="set ASSIST_TEST_POSTGRES_URL (.ci/start-postgres prints one)"),
]

LOST_CARD = "我的信用卡丢了怎么办"
CLAIM = "这个理财产品保本，稳赚不赔"
CARD_DOC = "# 信用卡挂失\n\n信用卡丢失后请立即致电客服挂失，并可申请补卡。\n"
SAFE_DOC = "# 保管箱\n\n保管箱年费为三百元，可在网点办理保管箱租用。\n"


@dataclass
class Replicas:
    a: TestClient
    b: TestClient
    keys: dict[str, dict[str, str]]  # role → Authorization header
    agent_key: str


def _wait(check: Callable[[], bool], *, deadline_s: float = 15.0, what: str) -> float:
    """Poll `check` until true; the seconds it took. Fails past a generous deadline (never a fixed sleep)."""
    start = time.monotonic()
    ready = threading.Event()
    while not check():
        assert time.monotonic() - start < deadline_s, f"{what}: not within {deadline_s} s"
        ready.wait(0.02)
    return time.monotonic() - start


@pytest.fixture
def replicas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Replicas]:
    from assist.app import create_app

    assert URL
    engine = create_engine(URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    engine.dispose()
    rules = tmp_path / "rules"
    write(rules / "pack.yaml", RULE_PACK)
    kb = tmp_path / "kb"
    write(kb / "card_loss.md", CARD_DOC)
    monkeypatch.setenv("ASSIST_EMBEDDERS", "hash")
    get_settings.cache_clear()

    def settings(name: str) -> Settings:
        return Settings(
            database_url=URL,
            data_dir=tmp_path / name,
            kb_dir=kb,
            rules_dir=rules,
            playbooks_dir=ROOT / "kb_docs" / "playbooks",
            sync_interval_s=0,  # no periodic sync: what follows a change is its announcement
        )

    with TestClient(create_app(settings("a"))) as a, TestClient(create_app(settings("b"))) as b:
        for client in (a, b):
            assert client.app.state.call_hub.listening.wait(30)  # type: ignore[attr-defined]
        keys = {r.value: bearer(new_key(a.app, r)) for r in Role}  # type: ignore[arg-type]
        agent = new_key(a.app, Role.agent)  # type: ignore[arg-type]
        keys["agent"] = bearer(agent)
        yield Replicas(a, b, keys, agent)


def _post(client: TestClient, hdrs: dict[str, str], call_id: str, speaker: str, text: str) -> dict[str, Any]:
    r = client.post(f"/v1/calls/{call_id}/utterances", headers=hdrs, json={"speaker": speaker, "text": text})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _expected(result: dict[str, Any]) -> list[tuple[str, int]]:
    """What a watching socket gets for a turn (assist.calls.messages.turn_messages), as (type, turn)."""
    out = [("compliance_alert", result["turn"]) for _ in result["alerts"]]
    if result["suggestion"] is not None:
        out.append(("suggestion", result["turn"]))
    elif result["turn"] is not None and result["checklist_changed"]:
        out.append(("checklist", result["turn"]))
    return out


def _drain_messages(ws: Any) -> list[dict[str, Any]]:
    """Every message up to the pong of a ping sent now."""
    ws.send_json({"type": "ping"})
    got = []
    while (m := ws.receive_json())["type"] != "pong":
        got.append(m)
    return got


def _drain(ws: Any) -> list[tuple[str, int]]:
    """As _drain_messages, as (type, turn)."""
    return [(m["type"], m["turn"]) for m in _drain_messages(ws)]


def _until(ws: Any, n: int, *, what: str) -> list[tuple[str, int]]:
    """The messages that arrive on `ws` until there are at least `n` (no fixed sleep; a generous deadline)."""
    got: list[tuple[str, int]] = []

    def enough() -> bool:
        got.extend(_drain(ws))
        return len(got) >= n

    _wait(enough, what=what)
    return got


def test_a_socket_on_a_gets_every_turn_posted_to_b_in_order_and_once(replicas: Replicas) -> None:
    a, b, agent = replicas.a, replicas.b, replicas.keys["agent"]
    call_id = a.post("/v1/calls", headers=agent).json()["call_id"]
    with a.websocket_connect(f"/v1/calls/{call_id}/stream?token={replicas.agent_key}") as panel:
        results = [
            _post(b, agent, call_id, "customer", LOST_CARD),  # B: a suggestion
            _post(b, agent, call_id, "agent", CLAIM),  # B: an alert and the checklist
            _post(a, agent, call_id, "customer", "好的"),  # A: quiet
            _post(b, agent, call_id, "agent", "理财非存款、产品有风险、投资须谨慎。"),  # B: a step ticks
        ]
        expected = [m for r in results for m in _expected(r)]
        assert [t for t, _ in expected] == ["suggestion", "compliance_alert", "checklist", "checklist"]
        got = _until(panel, len(expected), what="the turns posted to B")
        assert got == expected


def test_a_notice_too_large_for_notify_is_read_back_from_the_database(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assist.calls import pg_hub

    monkeypatch.setattr(pg_hub, "MAX_PAYLOAD", 10)  # every notice with messages becomes a pointer
    a, b, agent = replicas.a, replicas.b, replicas.keys["agent"]
    call_id = a.post("/v1/calls", headers=agent).json()["call_id"]
    with a.websocket_connect(f"/v1/calls/{call_id}/stream?token={replicas.agent_key}") as panel:
        first = _post(b, agent, call_id, "customer", LOST_CARD)
        second = _post(b, agent, call_id, "agent", CLAIM)
        expected = _expected(first) + _expected(second)
        got: list[dict[str, Any]] = []

        def arrived() -> bool:
            got.extend(_drain_messages(panel))
            return len(got) >= len(expected)

        _wait(arrived, what="the turns, read back from the database")
        assert [(m["type"], m["turn"]) for m in got] == expected
        assert got[0]["id"] == first["suggestion"]["id"] and got[0]["answer"] == first["suggestion"]["answer"]
        assert got[1]["event_id"] == second["alerts"][0]["event_id"]
        assert got[2]["next_steps"] == second["next_steps"]


def test_turns_posted_concurrently_to_both_arrive_in_turn_order(replicas: Replicas) -> None:
    a, b, agent = replicas.a, replicas.b, replicas.keys["agent"]
    call_id = a.post("/v1/calls", headers=agent).json()["call_id"]
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def post(client: TestClient, texts: list[str]) -> None:
        for text in texts:
            r = _post(client, agent, call_id, "agent", text)
            with lock:
                results.append(r)

    with b.websocket_connect(f"/v1/calls/{call_id}/stream?token={replicas.agent_key}") as panel:
        threads = [
            threading.Thread(target=post, args=(a, [f"{CLAIM} A{i}" for i in range(4)])),
            threading.Thread(target=post, args=(b, [f"{CLAIM} B{i}" for i in range(4)])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r["turn"] for r in results) == list(range(1, 9))  # no number twice
        expected = sorted(m for r in results for m in _expected(r) if m[0] == "compliance_alert")
        got: list[tuple[str, int]] = []

        def arrived() -> bool:
            got.extend(_drain(panel))
            return len([m for m in got if m[0] == "compliance_alert"]) >= len(expected)

        _wait(arrived, what="the alerts of both replicas' turns")
        alerts = [m for m in got if m[0] == "compliance_alert"]
        assert alerts == expected  # every turn once, in number order
        assert [t for _, t in got] == sorted(t for _, t in got)


def test_a_call_ended_on_b_is_refused_on_a(replicas: Replicas) -> None:
    a, b, agent = replicas.a, replicas.b, replicas.keys["agent"]
    call_id = a.post("/v1/calls", headers=agent).json()["call_id"]
    _post(a, agent, call_id, "customer", LOST_CARD)  # A has the call's state cached
    assert b.post(f"/v1/calls/{call_id}/end", headers=agent).status_code == 200
    r = a.post(f"/v1/calls/{call_id}/utterances", headers=agent, json={"speaker": "agent", "text": "还在吗"})
    assert r.status_code == 409 and "ended" in r.json()["detail"]


def test_a_panel_resumes_on_the_other_replica_without_a_gap(replicas: Replicas) -> None:
    a, b, agent = replicas.a, replicas.b, replicas.keys["agent"]
    call_id = a.post("/v1/calls", headers=agent).json()["call_id"]
    url = f"/v1/calls/{call_id}/stream?token={replicas.agent_key}"
    with a.websocket_connect(url) as panel:
        first = _post(a, agent, call_id, "customer", LOST_CARD)
        assert panel.receive_json()["turn"] == 1
    # A's socket is gone; the connector goes on posting (to A) meanwhile
    second = _post(a, agent, call_id, "agent", CLAIM)
    with b.websocket_connect(url + "&after=1") as again:
        replayed = [again.receive_json() for _ in range(3)]
        assert [(m["type"], m.get("turn")) for m in replayed[:2]] == [("compliance_alert", 2), ("checklist", 2)]
        assert replayed[2] == {"type": "resumed", "call_id": call_id, "after": 1, "through": 2}
        assert replayed[0]["event_id"] == second["alerts"][0]["event_id"]
        third = _post(a, agent, call_id, "customer", "补卡要收费吗")  # live again, from the other replica
        assert _until(again, len(_expected(third)), what="the live turn after the resume") == _expected(third)
    assert first["turn"] == 1


def test_a_rule_added_on_a_blocks_on_b_at_once(replicas: Replicas) -> None:
    a, b, comp = replicas.a, replicas.b, replicas.keys["compliance"]
    text = "这只基金明年肯定涨"

    def verdict() -> str:
        return str(b.post("/v1/guard/check", headers=comp, json={"text": text, "speaker": "agent"}).json()["action"])

    assert verdict() == "allow"
    rule = {
        "id": "performance_prediction",
        "category": "performance_prediction",
        "severity": "block",
        "languages": ["zh-Hans", "zh-Hant", "en"],
        "phrases": ["肯定涨"],
        "advice": "不预测收益。",
        "source": "广告法第二十五条",
    }
    assert a.post("/v1/rules", headers=comp, json=rule).status_code == 201
    took = _wait(lambda: verdict() == "block", what="the rule added on A, on B")
    assert took < 5


def test_a_document_uploaded_then_retired_on_a_follows_on_b_at_once(replicas: Replicas) -> None:
    a, b, editor = replicas.a, replicas.b, replicas.keys["editor"]
    kb = b.app.state.knowledge  # type: ignore[attr-defined]

    def cited_on_b() -> bool:
        return any("保管箱" in h.text for h in kb.retriever.retrieve("保管箱年费", k=3))

    assert not cited_on_b()
    r = a.post("/v1/documents", headers=editor, files={"file": ("safe.md", SAFE_DOC.encode())})
    assert r.status_code == 201, r.text
    _wait(cited_on_b, what="the document uploaded on A, on B")
    agent = replicas.keys["agent"]
    call_id = b.post("/v1/calls", headers=agent).json()["call_id"]
    cited = _post(b, agent, call_id, "customer", "保管箱年费多少钱")["suggestion"]
    assert cited is not None and cited["citations"][0]["document_id"] == r.json()["id"]
    assert a.post(f"/v1/documents/{r.json()['id']}/retire", headers=editor).status_code == 200
    took = _wait(lambda: not cited_on_b(), what="the document retired on A, off B")
    assert took < 5
    call_id = b.post("/v1/calls", headers=agent).json()["call_id"]
    after = _post(b, agent, call_id, "customer", "保管箱年费多少钱")["suggestion"]
    assert after is None or r.json()["id"] not in [c["document_id"] for c in after["citations"]]


def test_a_document_ingested_from_the_command_line_is_served_at_once(replicas: Replicas, tmp_path: Path) -> None:
    from assist.services import build_services

    b = replicas.b
    kb = b.app.state.knowledge  # type: ignore[attr-defined]
    settings = b.app.state.settings.model_copy(update={"data_dir": tmp_path / "cli"})  # type: ignore[attr-defined]
    cli = build_services(settings, limit_threads=False)  # what `assist ingest` builds
    doc = write(tmp_path / "new" / "fx.md", "# 购汇\n\n购汇额度为每人每年五万美元。\n")
    try:
        assert cli.documents.ingest_paths([doc], actor=None).summary()["failed"] == 0
    finally:
        cli.db_engine.dispose()
    _wait(lambda: any("五万美元" in h.text for h in kb.retriever.retrieve("购汇额度", k=3)), what="the CLI's document")


def _engines(tmp_path: Path) -> tuple[Any, Any]:
    from assist.calls.engine import CallEngine
    from assist.calls.playbooks import Playbooks
    from assist.db import make_engine
    from tests.fakes import FakeGuard, FakeKnowledge, fake_redact

    assert URL
    engine = create_engine(URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    engine.dispose()
    settings = Settings(database_url=URL, data_dir=tmp_path)

    def server() -> CallEngine:
        knowledge = FakeKnowledge()
        return CallEngine(
            settings=settings,
            db_engine=make_engine(settings),
            retriever=lambda: knowledge.retriever,
            guard=lambda: FakeGuard(),
            playbooks=Playbooks(ROOT / "kb_docs" / "playbooks"),
            redactor=fake_redact,
        )

    return server(), server()


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    a, b = _engines(tmp_path)
    yield a, b
    for e in (a, b):
        e.store.dispose()
        e.db_engine.dispose()


def test_concurrent_turns_on_two_engines_keep_every_turns_state(engines: tuple[Any, Any]) -> None:
    """Each turn starts from the state the call's previous turn stored, on whichever replica: nothing is
    overwritten (the context keeps the last six turns, in order, whatever engine took each)."""
    from sqlmodel import Session

    from assist.models.calls import Call

    a, b = engines
    call_id = a.start_call()
    counter = iter(range(1000))
    lock = threading.Lock()

    def post() -> None:
        for _ in range(8):
            with lock:
                n = next(counter)
            (a if n % 2 else b).handle_turn(call_id, speaker="agent", text=f"第{n}句")

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t.turn for t in a.store.get_call(call_id).turns) == list(range(1, 33))
    with Session(a.db_engine) as session:
        row = session.get(Call, call_id)
        assert row is not None
        assert [t["turn"] for t in row.state["recent_turns"]] == list(range(27, 33))
