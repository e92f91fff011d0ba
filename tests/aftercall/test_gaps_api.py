"""Knowledge gaps: questions with no approved answer, suggestions rated wrong and answers from retired
documents, grouped by near-duplicate with the fake hash embedder; editors and compliance only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from assist.aftercall.gaps import GapItem, group
from assist.models.calls import Call, Feedback, Suggestion
from assist.models.documents import Document, DocumentStatus
from ingest.embedders import HashEmbedder


def _seed(client: TestClient) -> None:
    with Session(client.app.state.db_engine) as s:
        s.add(Call(id="c1"))
        s.add(
            Document(
                id="old",
                family_id="old",
                title="旧年费政策",
                source="x.md",
                content_hash="h",
                status=DocumentStatus.retired,
            )
        )
        s.flush()
        for i, q in enumerate(["信用卡年费怎么免除", "信用卡年费怎么免除呢", "信用卡的年费怎么免除"]):
            s.add(Suggestion(id=f"n{i}", call_id="c1", turn=i + 1, query=q, answer="", source="none"))
        s.add(Suggestion(id="w", call_id="c1", turn=5, query="境外取现手续费多少", answer="..."))
        s.add(
            Suggestion(
                id="r", call_id="c1", turn=6, query="积分兑换规则", answer="...", citations=[{"document_id": "old"}]
            )
        )
        s.add(Suggestion(id="ok", call_id="c1", turn=7, query="补卡要多久", answer="七天"))
        s.flush()
        s.add(Feedback(suggestion_id="w", rating="wrong"))
        s.commit()


def test_gaps_are_grouped_and_typed(client: TestClient, keys: dict) -> None:
    _seed(client)
    r = client.get("/v1/knowledge/gaps?similarity=0.6", headers=keys["editor"])  # the hash embedder is coarse
    assert r.status_code == 200, r.text
    body = r.json()
    groups = body["groups"]
    assert groups[0]["size"] == 3 and groups[0]["kinds"] == {"no_answer": 3}
    assert len(groups[0]["examples"]) == 3 and groups[0]["examples"][0]["call_id"] == "c1"
    kinds = {next(iter(g["kinds"])): g for g in groups[1:]}
    assert set(kinds) == {"wrong", "retired"} and kinds["retired"]["documents"] == ["old"]
    assert body["total"] == 5  # the well-answered question is no gap
    assert client.get("/v1/knowledge/gaps", headers=keys["compliance"]).status_code == 200
    assert client.get("/v1/knowledge/gaps", headers=keys["agent"]).status_code == 403


def test_grouping_keeps_different_questions_apart() -> None:
    items = [
        GapItem("no_answer", t, "c", i)
        for i, t in enumerate(
            ["how do I waive the annual fee", "how to waive my annual fee", "what is the ATM withdrawal limit abroad"]
        )
    ]
    groups = group(items, HashEmbedder(), threshold=0.6)
    assert sorted(len(g) for g in groups) == [1, 2]
