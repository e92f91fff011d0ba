"""A replica's index follows another replica's document changes incrementally: the retired version's chunks
leave, a new document's arrive, and every other document's vectors and BM25 postings stay as they were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assist.knowledge.base import KnowledgeBase
from tests.factories import make_kb, write


def _ids_of(kb: KnowledgeBase, document_id: str) -> list[int]:
    return sorted(i for i, m in kb.index.chunks.items() if m.document_id == document_id)


def test_sync_adds_and_removes_just_the_changed_documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = make_kb(tmp_path / "a", database_url=url), make_kb(tmp_path / "b", database_url=url)
    docs = tmp_path / "docs"
    write(docs / "card.md", "# 挂失\n\n信用卡丢失后请立即致电挂失，补卡收取工本费。\n")
    write(docs / "safe.md", "# 保管箱\n\n保管箱年费为三百元，可在网点办理。\n")
    report = a.ingest_paths([docs])
    card, safe = (i.document_id for i in sorted(report.items, key=lambda i: i.source))
    assert card and safe
    assert b.sync() is True  # b catches up with both
    index = b.index
    keep = _ids_of(b, card)
    vectors = {name: idx.vectors_for(keep).copy() for name, idx in index.dense.items()}
    postings = {t: dict(p) for t, p in index.bm25._postings.items() if set(p) & set(keep)}

    def no_rebuild() -> None:
        raise AssertionError("a change must not rebuild the whole index")

    monkeypatch.setattr(b.pipeline, "rebuild", no_rebuild)
    gone = _ids_of(b, safe)
    a.retire(document_id=safe)  # on the other replica
    write(docs / "fx.md", "# 外汇\n\n购汇额度为每人每年五万美元。\n")
    a.ingest_paths([docs / "fx.md"])
    assert b.sync() is True
    assert b.index is index  # the same index, changed in place
    assert not set(gone) & set(index.chunks) and not set(gone) & index.bm25.ids()
    assert all(not set(gone) & idx.ids() for idx in index.dense.values())
    assert _ids_of(b, card) == keep
    for name, idx in index.dense.items():
        np.testing.assert_array_equal(idx.vectors_for(keep), vectors[name])
    for token, posting in postings.items():
        assert {i: n for i, n in index.bm25._postings[token].items() if i in keep} == {
            i: n for i, n in posting.items() if i in keep
        }
    assert any("五万美元" in h.text for h in b.retriever.retrieve("购汇额度", k=3))
    assert not any("保管箱" in h.text for h in b.retriever.retrieve("保管箱年费", k=3))
    assert b.sync() is False  # nothing more to follow


def test_a_change_through_the_knowledge_base_is_announced(tmp_path: Path) -> None:
    kb = make_kb(tmp_path / "a")
    told: list[str] = []
    kb.on_change = lambda: told.append("knowledge")
    doc = write(tmp_path / "docs" / "safe.md", "# 保管箱\n\n保管箱年费为三百元。\n")
    (item,) = kb.ingest_paths([doc]).items
    assert told == ["knowledge"]
    assert item.document_id
    kb.retire(document_id=item.document_id)
    assert told == ["knowledge", "knowledge"]
