"""The ingest pipeline: versioning, retirement, review status, index rebuilds, batch failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from assist.compliance.guard.engine import Match, Verdict
from assist.errors import GuardUnavailableError, NotFoundError
from assist.models import ChunkVector, Document, DocumentStatus
from assist.text import TOKENIZER_VERSION, tokenize
from ingest.embedders import HashEmbedder
from tests.factories import make_kb, write
from tests.fakes import fake_rule

CARD_V1 = """---
source: card-fees
product: credit_card
tags: [fees]
---
# 信用卡收费

## 补卡

补卡费每张二十元，首次补卡免费。

## 年费

普卡年费一百元，刷卡六次免年费。
"""
CARD_V2 = CARD_V1.replace("补卡费每张二十元", "补卡费每张十五元")


def texts(kb, query: str, k: int = 5) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.text for r in kb.retriever.retrieve(query, k=k)]


def test_identical_content_is_a_no_op(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    f = write(tmp_path / "kb" / "fees.md", CARD_V1)
    first = kb.ingest_paths([f.parent])
    again = kb.ingest_paths([f.parent])
    assert first.summary()["new"] == 1
    assert again.summary() == {"new": 0, "updated": 0, "unchanged": 1, "failed": 0, "chunks": 0, "flagged": 0}
    with Session(kb.engine) as s:
        assert len(s.exec(select(Document)).all()) == 1


def test_changed_content_becomes_next_version_and_old_text_is_never_served(
    tmp_path: Path, _isolated_data_dir: Path
) -> None:
    kb = make_kb(_isolated_data_dir)
    f = write(tmp_path / "kb" / "fees.md", CARD_V1)
    kb.ingest_paths([f])
    assert any("二十元" in t for t in texts(kb, "补卡费多少钱"))
    write(f, CARD_V2)
    report = kb.ingest_paths([f])
    item = report.items[0]
    assert (item.outcome, item.version) == ("updated", 2)
    served = texts(kb, "补卡费多少钱", k=20)
    assert any("十五元" in t for t in served)
    assert not any("二十元" in t for t in served)
    with Session(kb.engine) as s:
        statuses = sorted((d.version, d.status) for d in s.exec(select(Document)))
    assert statuses == [(1, DocumentStatus.superseded), (2, DocumentStatus.published)]


def test_the_swap_is_one_step_for_readers(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    f = write(tmp_path / "fees.md", CARD_V1)
    kb.ingest_paths([f])
    seen: list[int] = []
    original = kb.index.replace

    def spy(**kw):  # type: ignore[no-untyped-def]
        original(**kw)
        versions = {m.version for m in kb.index.chunks.values()}
        seen.append(len(versions))

    kb.index.replace = spy  # type: ignore[method-assign]
    write(f, CARD_V2)
    kb.ingest_paths([f])
    assert seen == [1]  # after the single replace step only version 2 is in the index


def test_retired_documents_are_never_returned(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    item = kb.ingest_paths([write(tmp_path / "fees.md", CARD_V1)]).items[0]
    kb.retire(document_id=item.document_id)
    assert texts(kb, "补卡费多少钱") == []
    with pytest.raises(NotFoundError, match="nope"):
        kb.retire(document_id="nope")


def test_expired_documents_are_never_returned(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    old = "---\neffective_to: 2020-12-31\n---\n# Promotion\n\nDouble points on all card spending this month.\n"
    future = "---\neffective_from: 2999-01-01\n---\n# Future\n\nTriple points on card spending one day.\n"
    kb.ingest_paths([write(tmp_path / "promo.md", old), write(tmp_path / "future.md", future)])
    assert texts(kb, "points on card spending") == []


def test_index_is_rebuilt_from_the_database_when_a_file_is_missing(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    kb.ingest_paths([write(tmp_path / "fees.md", CARD_V1)])
    before = texts(kb, "年费")
    (_isolated_data_dir / "index" / "hash.faiss").unlink()
    kb2 = make_kb(_isolated_data_dir)
    assert texts(kb2, "年费") == before


def test_index_that_disagrees_with_the_database_is_not_trusted(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    item = kb.ingest_paths([write(tmp_path / "fees.md", CARD_V1)]).items[0]
    saved = (_isolated_data_dir / "index" / "manifest.json").read_text()
    kb.retire(document_id=item.document_id)
    # an older manifest and index put back by hand must not resurrect the retired text
    (_isolated_data_dir / "index" / "manifest.json").write_text(saved)
    kb2 = make_kb(_isolated_data_dir)
    assert texts(kb2, "年费") == []


def test_index_made_by_another_tokenizer_is_rebuilt(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    kb.ingest_paths([write(tmp_path / "disputes.md", "# Disputes\n\nThe customer disputed a charge.\n")])
    index_dir = _isolated_data_dir / "index"
    manifest = json.loads((index_dir / "manifest.json").read_text())
    payload = json.loads((index_dir / "chunks.json").read_text())
    # what an older tokenizer stored: other tokens for the same chunks, under the same fingerprint
    payload["bm25"]["postings"] = {f"old-{t}": p for t, p in payload["bm25"]["postings"].items()}
    manifest["tokenizer"] = TOKENIZER_VERSION - 1
    (index_dir / "chunks.json").write_text(json.dumps(payload))
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    kb2 = make_kb(_isolated_data_dir)
    assert set(tokenize("disputed charge")) <= set(kb2.index.bm25.to_json()["postings"])  # type: ignore[arg-type]


class _QuestionSpaceEmbedder(HashEmbedder):
    """The same model name with documents embedded another way (like e5 with ASSIST_E5_DOCUMENT_PREFIX=query)."""

    vector_space = "hash-query"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return -super().embed_documents(texts)


def test_documents_embedded_another_way_are_re_embedded_not_mixed(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    kb.ingest_paths([write(tmp_path / "card.md", CARD_V1)])
    chunk_ids = sorted(kb.index.chunks)
    before = kb.index.dense["hash"].vectors_for(chunk_ids[:1])[0].copy()
    kb2 = make_kb(_isolated_data_dir, embedders=[_QuestionSpaceEmbedder()])
    assert np.allclose(kb2.index.dense["hash"].vectors_for(chunk_ids[:1])[0], -before)  # not the stored "hash" vectors
    with Session(kb2.engine) as session:
        spaces = {v.embedder for v in session.exec(select(ChunkVector))}
    assert spaces == {"hash", "hash-query"}  # both kept: switching back costs nothing
    kb3 = make_kb(_isolated_data_dir)
    assert np.allclose(kb3.index.dense["hash"].vectors_for(chunk_ids[:1])[0], before)


def test_a_batch_goes_on_past_bad_files_and_reports_them(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    write(tmp_path / "kb" / "a.md", CARD_V1)
    write(tmp_path / "kb" / "empty.md", "")
    (tmp_path / "kb" / "blob.bin").write_bytes(b"\x00\x01\x02")
    report = kb.ingest_paths([tmp_path / "kb"])
    s = report.summary()
    assert (s["new"], s["failed"]) == (1, 2)
    errors = " ".join(i.error or "" for i in report.failures)
    assert "empty.md" in errors and "blob.bin" in errors


class _BlockingGuard:
    rules = (fake_rule("guaranteed_return", "guarantee"),)

    def check(self, text: str, speaker: str = "agent") -> Verdict:
        if "稳赚不赔" in text:
            i = text.index("稳赚不赔")
            m = Match("guaranteed_return", "guarantee", "block", i, i + 4, "稳赚不赔")
            return Verdict("block", (m,), speaker=speaker)
        return Verdict("allow", speaker=speaker)

    def find_disclosures(self, text: str) -> list[str]:
        return []

    def completed_disclosures(self, said: Iterable[str]) -> list[str]:
        return []


class _RulelessGuard(_BlockingGuard):
    rules = ()  # a guard whose rule set is empty would allow everything


def test_a_guard_without_rules_publishes_nothing(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir, guard=_RulelessGuard())
    with pytest.raises(GuardUnavailableError) as err:
        kb.ingest_upload(data=CARD_V1.encode(), filename="fees.md")
    assert str(err.value) == (
        "compliance check unavailable: the compliance guard has no rules in force; nothing is published unchecked"
    )
    item = kb.ingest_paths([write(tmp_path / "fees.md", CARD_V1)]).items[0]
    assert item.outcome == "failed" and "no rules in force" in (item.error or "")
    with Session(kb.engine) as s:
        assert s.exec(select(Document)).all() == []
    assert texts(kb, "补卡费") == []


def test_a_document_with_a_blocking_claim_waits_for_review(tmp_path: Path, _isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir, guard=_BlockingGuard())
    doc = "# 新品理财\n\n本产品稳赚不赔，年化收益百分之八，欢迎抢购。\n"
    item = kb.ingest_paths([write(tmp_path / "draft.md", doc)]).items[0]
    assert item.status == "needs_review"
    assert item.flags[0]["rule_id"] == "guaranteed_return"
    assert texts(kb, "稳赚不赔 理财") == []
    kb.publish(document_id=item.document_id, note="approved after edit")
    assert texts(kb, "稳赚不赔 理财")


def test_upload_with_replaces_makes_a_new_version_of_that_family(_isolated_data_dir: Path) -> None:
    kb = make_kb(_isolated_data_dir)
    first = kb.ingest_upload(data=CARD_V1.encode(), filename="fees.md")
    second = kb.ingest_upload(data=CARD_V2.encode(), filename="fees-2026.md", replaces=first.document_id)
    assert (second.version, second.family_id) == (2, first.family_id)
    with pytest.raises(NotFoundError):
        kb.ingest_upload(data=b"# x\n\nsome text here that is long enough", filename="x.md", replaces="missing")


class _MeetingEmbedder(HashEmbedder):
    """Embeds only once the other embedder of the batch has started too (a barrier, never a sleep)."""

    def __init__(self, name: str, barrier: threading.Barrier) -> None:
        super().__init__()
        self._name, self._barrier = name, barrier

    @property
    def name(self) -> str:
        return self._name

    @property
    def vector_space(self) -> str:
        return self._name

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if texts:
            self._barrier.wait()  # raises BrokenBarrierError when the other one never comes
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return HashEmbedder.embed_documents(self, [text])[0]


def test_the_embedders_of_a_batch_run_side_by_side(
    tmp_path: Path, _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # as `assist ingest` on two cores
    barrier = threading.Barrier(2, timeout=30)
    kb = make_kb(_isolated_data_dir, embedders=[_MeetingEmbedder("a", barrier), _MeetingEmbedder("b", barrier)])
    report = kb.ingest_paths([write(tmp_path / "card.md", CARD_V1)])
    assert report.summary()["new"] == 1
    chunk_id = sorted(kb.index.chunks)[0]
    want = HashEmbedder().embed_documents([kb.index.chunks[chunk_id].text])
    assert kb.index.dense["a"].vectors_for([chunk_id]).shape == want.shape
    assert np.allclose(kb.index.dense["a"].vectors_for([chunk_id]), kb.index.dense["b"].vectors_for([chunk_id]))


def test_the_server_embeds_one_model_at_a_time(
    tmp_path: Path, _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`assist serve` sets OMP_NUM_THREADS=1 so that an upload leaves a core to live calls."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    seen: list[str] = []

    class Recording(HashEmbedder):
        def __init__(self, name: str) -> None:
            super().__init__()
            self._name = name

        @property
        def name(self) -> str:
            return self._name

        @property
        def vector_space(self) -> str:
            return self._name

        def embed_documents(self, texts: list[str]) -> np.ndarray:
            if texts:
                seen.append(threading.current_thread().name)
            return super().embed_documents(texts)

    kb = make_kb(_isolated_data_dir, embedders=[Recording("a"), Recording("b")])
    kb.ingest_paths([write(tmp_path / "card.md", CARD_V1)])
    assert seen and all(name == threading.current_thread().name for name in seen)


def test_a_batch_is_embedded_while_the_next_document_is_parsed(
    tmp_path: Path, _isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`assist ingest`: the models do not wait for the parse (in a child process) of the next file, nor for
    the previous batch's commit; every document is still stored, in order, once."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    next_parsed, armed = threading.Event(), threading.Event()
    waited: list[bool] = []

    class Waiting(HashEmbedder):
        def embed_documents(self, texts: list[str]) -> np.ndarray:
            if armed.is_set() and not waited:  # the first batch: only done once the second file is being parsed
                waited.append(next_parsed.wait(timeout=20))
            return super().embed_documents(texts)

    kb = make_kb(_isolated_data_dir, embedders=[Waiting()])
    armed.set()
    run = kb.pipeline.loader.run

    def loading(path: Path, **kw: object) -> object:
        if path.name == "b.md":
            next_parsed.set()
        return run(path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(kb.pipeline.loader, "run", loading)
    files = [write(tmp_path / f"{name}.md", CARD_V1.replace("card-fees", name)) for name in ("a", "b", "c")]
    items = list(kb.pipeline.ingest_files([(f, tmp_path) for f in [*files, files[0]]], batch_chunks=1))
    assert waited == [True]
    assert sorted((i.source, i.outcome) for i in items) == [
        ("a", "new"),
        ("a", "unchanged"),
        ("b", "new"),
        ("c", "new"),
    ]
    with Session(kb.pipeline.engine) as s:
        assert sorted(d.source for d in s.exec(select(Document))) == ["a", "b", "c"]
