"""Answers that answer the question: every part of it, the kind of fact asked, and sentences chosen by meaning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assist.calls.compose import ExtractiveComposer
from assist.calls.llm import LLMComposer
from assist.calls.prompts import PromptLibrary
from assist.calls.sentences import SentenceVectors, asks_for, question_parts
from assist.protocols import SearchResult
from tests.fakes import FakeListChatModel, search_result

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def _passage(doc: str, section: str, text: str, language: str = "en") -> SearchResult:
    return search_result(doc, text, section=section, language=language)


REPLACEMENT = _passage(
    "card-loss",
    "Replacement card",
    "The new card has a new number; the credit limit and points are unchanged. "
    "A replacement card is posted within 7 business days. "
    "The first replacement each year is free; after that RMB 20 per card.",
)
REPLACEMENT_ZH = _passage(
    "card-loss-zh",
    "补卡",
    "新卡卡号变更，额度与积分不变。补卡在 7 个工作日内寄出。每张卡每年首次补卡免费，之后每次收取 ¥20。",
    language="zh-Hans",
)


def test_a_two_part_question_gets_a_sentence_on_each_part() -> None:
    comp = ExtractiveComposer().run(
        query="How long until the new one arrives, and is there a charge?", results=[REPLACEMENT], language="en"
    )
    assert "7 business days" in comp.answer  # how long
    assert "RMB 20" in comp.answer  # is there a charge


def test_a_two_part_chinese_question_gets_the_period_and_the_fee() -> None:
    comp = ExtractiveComposer().run(query="新卡多久能寄到？要不要交钱？", results=[REPLACEMENT_ZH], language="zh-Hans")
    assert "7 个工作日" in comp.answer and "¥20" in comp.answer


def test_an_asr_question_without_punctuation_is_split_into_its_parts() -> None:
    parts = question_parts("那我得补张新的吧 要多久啊 要不要钱")
    assert [sorted(p.kinds) for p in parts if p.kinds] == [["period"], ["money"]]
    assert asks_for("How long until the new one arrives?") == {"period"}
    assert asks_for("补卡要多少钱") == {"money"}
    # a fee asked the way callers put it: deducted ("要扣钱吗"), or in Cantonese ("使唔使錢", "收唔收錢")
    for fee in ("五天前买的，现在赎回要扣钱吗", "而家取消使唔使錢㗎", "補卡收唔收錢"):
        assert asks_for(fee) == {"money"}, fee


def test_the_sentence_holding_the_fact_asked_is_preferred() -> None:
    passage = _passage(
        "mortgage",
        "Prepayment",
        "Customers may prepay part or all of the loan at any time by giving notice in writing. "
        "Within the first 3 years a fee of 1% of the amount applies.",
    )
    comp = ExtractiveComposer(max_sentences=1).run(
        query="What does it cost to prepay?", results=[passage], language="en"
    )
    assert "1%" in comp.answer


class _TableEncoder:
    """Sentence → a fixed vector: meaning the words do not share."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.vstack([self.table.get(t, np.array([0.0, 0.0, 1.0], np.float32)) for t in texts])


RISK = "Their value may fall."
REDEMPTION = "Redemption proceeds of bond funds are paid into the settlement account on the third working day."


def test_a_sentence_close_in_meaning_wins_without_shared_words() -> None:
    passage = _passage("fund-guide", "Bond funds", f"{REDEMPTION} {RISK}")
    encoder = _TableEncoder(
        {RISK: np.array([1.0, 0.0, 0.0], np.float32), REDEMPTION: np.array([0.0, 1.0, 0.0], np.float32)}
    )
    turn = np.array([0.98, 0.2, 0.0], np.float32)  # "Can it go down?" means the risk
    by_words = ExtractiveComposer(max_sentences=1).run(query="Can it go down?", results=[passage], language="en")
    assert RISK not in by_words.answer  # no word of the question is in it
    by_meaning = ExtractiveComposer(max_sentences=1, sentence_vectors=SentenceVectors(encoder)).run(
        query="Can it go down?", results=[passage], language="en", vector=turn
    )
    assert RISK in by_meaning.answer


def test_sentence_vectors_are_cached_and_bounded() -> None:
    encoder = _TableEncoder({})
    vectors = SentenceVectors(encoder, max_entries=2)
    first = vectors.get(["a", "b"])
    assert first.shape == (2, 3) and encoder.calls == 1
    vectors.get(["b", "a"])
    assert encoder.calls == 1 and vectors.embedded == 2  # both cached: nothing embedded again
    vectors.get(["c"])
    assert len(vectors) == 2  # the oldest gave way
    assert vectors.warm(["d", "e", "f"]) == 0  # full: warming adds nothing
    with pytest.raises(ValueError, match="max_entries"):
        SentenceVectors(encoder, max_entries=0)


def test_a_failing_sentence_encoder_leaves_the_answer_to_shared_words() -> None:
    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("model gone")

    comp = ExtractiveComposer(sentence_vectors=SentenceVectors(broken)).run(
        query="is there a charge for a replacement", results=[REPLACEMENT], language="en", vector=np.ones(3)
    )
    assert comp.source == "extractive" and "RMB 20" in comp.answer


def test_the_chat_model_reads_the_chosen_sentences_first() -> None:
    llm = LLMComposer(chat_model=FakeListChatModel(responses=["x"]), prompts=PromptLibrary(PROMPTS), timeout_ms=1000)
    chosen = "The first replacement each year is free; after that RMB 20 per card."
    msgs = llm.messages(
        question="is there a charge?", context=[], results=[REPLACEMENT], language="en", key_sentences=[chosen]
    )
    passages = str(msgs[1].content).split("Approved passages:")[1]
    assert passages.index(chosen) < passages.index("The new card has a new number")


def test_a_turn_embeds_at_most_its_budget_and_leaves_the_rest_for_the_background() -> None:
    encoder = _TableEncoder({})
    vectors = SentenceVectors(encoder, max_new=2)
    rows = vectors.get(["a", "b", "c", "d"])
    assert vectors.embedded == 2 and np.isnan(rows[2:]).all() and not np.isnan(rows[:2]).any()
    assert list(vectors.pending) == ["c", "d"]
    assert vectors.warm_pending() == 2 and not vectors.pending
    assert not np.isnan(vectors.get(["c", "d"])).any() and vectors.embedded == 4


def test_sentences_left_for_later_score_by_shared_words_only() -> None:
    encoder = _TableEncoder({RISK: np.array([1.0, 0.0, 0.0], np.float32)})
    passage = _passage("fund-guide", "Bond funds", f"{REDEMPTION} {RISK}")
    composer = ExtractiveComposer(max_sentences=1, sentence_vectors=SentenceVectors(encoder, max_new=0))
    comp = composer.run(query="Can it go down?", results=[passage], language="en", vector=np.ones(3, np.float32))
    assert RISK not in comp.answer and encoder.calls == 0  # nothing embedded on the turn itself


def test_the_knowledge_base_is_warmed_in_the_background_until_stopped() -> None:
    import threading
    from types import SimpleNamespace

    from assist.calls.sentences import warm_in_background

    chunk = SimpleNamespace(text="The first replacement is free. After that RMB 20 per card.")
    knowledge = SimpleNamespace(retriever=SimpleNamespace(index=SimpleNamespace(chunks={1: chunk})))
    vectors = SentenceVectors(_TableEncoder({}))
    stop = threading.Event()
    thread = warm_in_background(vectors, knowledge, limit=10, every_s=0.01, stop=stop)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive() and len(vectors) == 2


def test_a_turn_never_waits_for_the_encoder_the_background_is_using() -> None:
    encoder = _TableEncoder({})
    vectors = SentenceVectors(encoder)
    with vectors._model:  # the background is embedding a batch
        rows = vectors.get(["a", "b"])
    assert encoder.calls == 0 and rows.shape == (2, 0)  # nothing cached yet: no vector for either
    assert list(vectors.pending) == ["a", "b"]


def test_closing_the_services_stops_the_answer_sentences_warmed_in_the_background(tmp_path: Path) -> None:
    # a model run still going on that thread when the interpreter exits aborts the process ("terminate
    # called without an active exception", exit 134): the server's shutdown must stop it first
    import threading

    from assist.config import Settings
    from assist.services import Overrides, build_services
    from ingest.embedders import HashEmbedder
    from tests.fakes import FakeGuard, FakeKnowledge, fake_redact

    class E5Named(HashEmbedder):
        @property
        def name(self) -> str:
            return "e5"

    knowledge = FakeKnowledge()
    knowledge.embedders = [E5Named()]
    overrides = Overrides(knowledge=knowledge, guard=FakeGuard(), redactor=fake_redact)
    svc = build_services(Settings(data_dir=tmp_path), overrides=overrides)
    before = set(threading.enumerate())  # other tests' services may have left their own warming running
    svc.call_engine  # noqa: B018 - builds the engine and starts the warming
    ours = [t for t in threading.enumerate() if t.name == "sentence-warm" and t not in before]
    assert ours and all(t.is_alive() for t in ours)
    svc.close()
    assert not any(t.is_alive() for t in ours)
