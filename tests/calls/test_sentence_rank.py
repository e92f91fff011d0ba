"""The learned order of the answer's sentences: its file is validated (a bad one leaves the hand order in force,
with a log line), it replaces the hand score only inside the document the hand score answers from, and the
answer keeps its limits.

Sentences here are written for these tests; none comes from a natural-call set.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assist.calls.compose import ExtractiveComposer
from assist.calls.engine import CallEngine
from assist.calls.llm import LLMComposer
from assist.calls.playbooks import Playbooks
from assist.calls.prompts import PromptLibrary
from assist.calls.sentence_rank import FEATURES, RANKER_FILE, Meaning, SentenceRanker, load_ranker
from assist.calls.sentences import SentenceVectors
from assist.config import Settings
from assist.protocols import SearchResult
from tests.fakes import search_result

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "kb_docs" / "playbooks" / RANKER_FILE
PROMPTS = ROOT / "prompts"


def _ranker(**weights: float) -> SentenceRanker:
    """A ranker that scores by the named features only (unit scale)."""
    w = np.array([weights.get(f, 0.0) for f in FEATURES])
    return SentenceRanker(w, np.zeros(len(FEATURES)), np.ones(len(FEATURES)))


def _passage(doc: str, section: str, text: str, language: str = "en", score: float = 1.0) -> SearchResult:
    return search_result(doc, text, section=section, language=language, score=score)


SAFE_BOX = _passage(
    "safe-box",
    "Closing a safe deposit box",
    "Safe deposit boxes come in three sizes. "
    "If the key is lost, the lock is drilled in your presence and a fee of RMB 800 applies. "
    "The box is emptied and closed at the branch that holds it.",
)


def test_the_shipped_ranker_loads_and_reads_this_codes_features() -> None:
    ranker = load_ranker(SHIPPED)
    assert ranker is not None
    assert ranker.weights.shape == (len(FEATURES),)
    body = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert body["meta"]["trained_on"], "the file says what it was trained on"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"format": "something-else"}), "not a sentence ranker file"),
        (json.dumps({"format": "assist-answer-sentence-ranker", "version": 99}), "version 99"),
        (
            json.dumps({"format": "assist-answer-sentence-ranker", "version": 2, "features": ["hand"]}),
            "features differ",
        ),
        (json.dumps({"format": "assist-answer-sentence-ranker", "version": 1}), "version 1"),
    ],
)
def test_a_corrupt_or_mismatched_file_leaves_the_hand_order_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, reason: str
) -> None:
    path = tmp_path / RANKER_FILE
    path.write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="assist.calls.sentence_rank"):
        assert load_ranker(path) is None
    record = next(r for r in caplog.records if "hand ranking" in r.getMessage())
    assert reason in record.reason  # type: ignore[attr-defined]


def test_weights_that_are_not_finite_or_the_wrong_size_are_refused(tmp_path: Path) -> None:
    body = json.loads(SHIPPED.read_text(encoding="utf-8"))
    body["weights"][0] = float("nan")
    path = tmp_path / RANKER_FILE
    path.write_text(json.dumps(body), encoding="utf-8")
    assert load_ranker(path) is None
    body["weights"] = body["weights"][:-1]
    path.write_text(json.dumps(body).replace("NaN", "0.1"), encoding="utf-8")
    assert load_ranker(path) is None


def test_a_missing_file_leaves_the_hand_order_with_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="assist.calls.sentence_rank"):
        assert load_ranker(tmp_path / "nowhere.json") is None
    assert any("no answer-sentence ranker" in r.getMessage() for r in caplog.records)


def test_the_file_form_round_trips() -> None:
    ranker = _ranker(sim=2.0, condition=1.5, position=-0.5)
    again = SentenceRanker.from_json(ranker.to_json(trained_on=["test"]))
    x = np.random.default_rng(0).normal(size=(5, len(FEATURES)))
    assert np.allclose(ranker.score(x), again.score(x))


def test_the_engine_composes_with_the_shipped_ranker_and_the_setting_turns_it_off(
    make_call_engine: Callable[..., CallEngine], tmp_path: Path
) -> None:
    on = make_call_engine()
    assert on.suggester.answer.composer.ranker is not None
    off = make_call_engine(settings=Settings(data_dir=tmp_path, answer_ranker="off"))
    assert off.suggester.answer.composer.ranker is None
    missing = make_call_engine(settings=Settings(data_dir=tmp_path, answer_ranker_path=tmp_path / "gone.json"))
    assert missing.suggester.answer.composer.ranker is None


def test_the_learned_order_chooses_the_answers_first_sentence() -> None:
    question = "what happens if I lost the key to my box?"
    hand = ExtractiveComposer(max_sentences=1).run(query=question, results=[SAFE_BOX], language="en")
    assert "drilled" in hand.answer  # the hand score: the sentence holding "key" and "lost"
    # a ranker that prefers the passage's later sentences, and one that prefers a short one
    by_length = ExtractiveComposer(max_sentences=1, ranker=_ranker(length=-5.0))
    assert "three sizes" in by_length.run(query=question, results=[SAFE_BOX], language="en").answer
    by_place = ExtractiveComposer(max_sentences=1, ranker=_ranker(position=-5.0, hits=0.1))
    assert "emptied and closed" in by_place.run(query=question, results=[SAFE_BOX], language="en").answer


@pytest.mark.parametrize(
    ("language", "question", "top", "other"),
    [
        (
            "en",
            "the envelope never came, now what",
            _passage("statements", "Paper statements", "Paper statements are posted monthly.", score=1.0),
            _passage("cheques", "Cheque books", "A cheque book is posted within 5 business days.", score=0.9),
        ),
        (
            "zh-Hans",
            "信封一直没收到 那现在呢",
            _passage("statements-zh", "纸质对账单", "纸质对账单每月寄出。", "zh-Hans", 1.0),
            _passage("cheques-zh", "支票簿", "支票簿在 5 个工作日内寄出。", "zh-Hans", 0.9),
        ),
        (
            "zh-Hant",
            "封信一直冇收到 咁而家點",
            _passage("statements-hk", "紙本月結單", "紙本月結單每月寄出。", "zh-Hant", 1.0),
            _passage("cheques-hk", "支票簿", "支票簿於 5 個工作天內寄出。", "zh-Hant", 0.9),
        ),
    ],
)
def test_the_learned_order_does_not_move_the_answer_to_another_document(
    language: str, question: str, top: SearchResult, other: SearchResult
) -> None:
    """With no sentence on the question's words in the top document, the hand order answers from the document of
    its best sentence; a learned order that prefers the other document's sentence stays in that document, so the
    document cited first is the passage ranking's and the hand score's choice."""
    hand = ExtractiveComposer().run(query=question, results=[top, other], language=language)
    learned = ExtractiveComposer(ranker=_ranker(rank=10.0, digit=10.0)).run(
        query=question, results=[top, other], language=language
    )
    assert hand.citations[0]["title"] == top.title
    assert learned.citations[0]["title"] == top.title
    assert {c["title"] for c in learned.citations} == {top.title}


@pytest.mark.parametrize("ranker", [None, "shipped"])
def test_a_sentence_two_overlapping_passages_share_is_said_once(ranker: str | None) -> None:
    shared = "The annual fee of RMB 600 is waived after 12 purchases a year."
    first = _passage("gold-card", "Fees", f"Gold cards carry travel insurance. {shared}")
    second = _passage("gold-card", "Fees (cont.)", f"{shared} Supplementary cards are free.")
    composer = ExtractiveComposer(ranker=load_ranker(SHIPPED) if ranker else None)
    comp = composer.run(query="is there an annual fee on the gold card", results=[first, second], language="en")
    assert comp.answer.count("annual fee of RMB 600") == 1, comp.answer


@pytest.mark.parametrize(
    ("language", "question", "passage"),
    [
        (
            "en",
            "my cheque bounced, what happens now and do I pay anything?",
            _passage(
                "cheques",
                "Returned cheques",
                "A cheque returned for lack of funds is sent back to the payee's bank. "
                "A fee of RMB 200 is charged to the drawer. "
                "Three returned cheques in a year close the cheque account. "
                "The payee may ask the drawer's bank for a certificate of return. "
                "Cheque books are issued at the branch.",
            ),
        ),
        (
            "zh-Hans",
            "支票被退票了 现在会怎样 要交钱吗",
            _passage(
                "cheques-zh",
                "退票",
                "因存款不足退票的支票退回收款人开户行。向出票人收取退票手续费 ¥200。一年内退票三次的，关闭支票账户。"
                "收款人可向出票人开户行申请退票证明。支票簿在网点领取。",
                "zh-Hans",
            ),
        ),
        (
            "zh-Hant",
            "張支票彈票 咁而家會點 使唔使俾錢",
            _passage(
                "cheques-hk",
                "退票",
                "因存款不足而退回的支票會退回收款人銀行。向出票人收取退票手續費 HK$150。"
                "一年內退票三次，支票戶口將被關閉。"
                "收款人可向出票人銀行申請退票證明。支票簿於分行領取。",
                "zh-Hant",
            ),
        ),
    ],
)
def test_the_shipped_order_keeps_the_answer_short_and_in_the_customers_script(
    language: str, question: str, passage: SearchResult
) -> None:
    comp = ExtractiveComposer(ranker=load_ranker(SHIPPED)).run(query=question, results=[passage], language=language)
    assert 1 <= len(comp.sentences) <= 3
    assert sum(len(s["text"]) for s in comp.sentences) <= 280
    assert all(s["text"] in passage.text for s in comp.sentences)


class _RecordingLLM(LLMComposer):
    """The chat-model composer, recording the sentences it is told the extractive ranking chose."""

    def __init__(self) -> None:
        super().__init__(
            chat_model=FakeListChatModel(responses=["挂失后可申请补卡。[1]"] * 4),
            prompts=PromptLibrary(PROMPTS),
            timeout_ms=2000,
        )
        self.key_sentences: list[list[str]] = []

    def run(self, **kw: Any) -> Any:
        self.key_sentences.append(list(kw["key_sentences"]))
        return super().run(**kw)


def test_a_chat_model_reads_the_sentences_the_learned_order_chose(
    make_call_engine: Callable[..., CallEngine], playbooks: Playbooks
) -> None:
    said = "我的信用卡丢了怎么办"
    seen = {}
    for name, ranker in (("short", _ranker(length=-5.0)), ("long", _ranker(length=5.0))):
        llm = _RecordingLLM()
        with_llm = make_call_engine(llm=llm, composer=ExtractiveComposer(expand=playbooks.expand, ranker=ranker))
        with_llm.handle_turn(with_llm.start_call(), speaker="customer", text=said)
        alone = make_call_engine(composer=ExtractiveComposer(expand=playbooks.expand, ranker=ranker))
        extractive = alone.handle_turn(alone.start_call(), speaker="customer", text=said).suggestion
        assert extractive is not None
        assert llm.key_sentences == [[s["text"] for s in extractive.sentences]]
        seen[name] = llm.key_sentences[0]
    assert seen["short"] != seen["long"]


@pytest.mark.parametrize(
    ("language", "asks_fee", "asks_how"),
    [
        ("en", "how much is the fee if I lose the key?", "what happens if I lose the key?"),
        ("zh-Hans", "钥匙丢了要收多少钱", "钥匙丢了会怎样"),
        ("zh-Hant", "鎖匙唔見咗要收幾多錢", "鎖匙唔見咗會點"),
    ],
)
def test_a_question_asking_for_a_kind_of_fact_keeps_the_hand_order(language: str, asks_fee: str, asks_how: str) -> None:
    box = {
        "en": SAFE_BOX,
        "zh-Hans": _passage(
            "safe-box-zh",
            "保管箱",
            "保管箱分三种尺寸。钥匙遗失的，须当面撬锁，收费 ¥800。保管箱在所属网点清空并退租。",
            "zh-Hans",
        ),
        "zh-Hant": _passage(
            "safe-box-hk",
            "保管箱",
            "保管箱分三種尺寸。鎖匙遺失須當面鑽鎖，收費 HK$800。保管箱於所屬分行清空及退租。",
            "zh-Hant",
        ),
    }[language]
    shortest = ExtractiveComposer(max_sentences=1, ranker=_ranker(length=-5.0))
    fee = shortest.run(query=asks_fee, results=[box], language=language)
    assert "800" in fee.answer  # the hand order's fee sentence, not the learned order's shortest one
    how = shortest.run(query=asks_how, results=[box], language=language)
    assert "800" not in how.answer and how.sentences  # asking no kind of fact: the learned order chose


def _meaning_ranker(dim_weight: int, *, meaning: bool = True, every_question: bool = False) -> SentenceRanker:
    """A ranker whose features weigh nothing; its meaning weights prefer the sentence sharing dimension
    `dim_weight` with the turn."""
    w = np.zeros(4)
    w[dim_weight] = 5.0
    m = Meaning(w, np.zeros(4), np.ones(4)) if meaning else None
    n = len(FEATURES)
    return SentenceRanker(np.zeros(n), np.zeros(n), np.ones(n), meaning=m, every_question=every_question)


_MEANING_TEXTS = (
    "Safe deposit boxes come in three sizes.",
    "The box is emptied and closed at the branch that holds it.",
    "Box rental is billed each year in advance.",
)


def _fake_vectors(cached: int = 3) -> SentenceVectors:
    """Sentence i of `_MEANING_TEXTS` lies along dimension i (the first `cached` are in the cache)."""
    vectors = SentenceVectors(lambda texts: np.zeros((len(texts), 4), np.float32), max_new=0)
    for i, text in enumerate(_MEANING_TEXTS[:cached]):
        vectors._cache[text] = np.eye(4, dtype=np.float32)[i]
    return vectors


def _meaning_answer(
    ranker: SentenceRanker | None, vectors: SentenceVectors, question: str = "what about my box"
) -> str:
    passage = _passage("safe-box", "Safe deposit boxes", " ".join(_MEANING_TEXTS))
    composer = ExtractiveComposer(max_sentences=1, sentence_vectors=vectors, ranker=ranker)
    turn = np.array([1.0, 1.0, 1.0, 0.0], np.float32)  # as close to each sentence: the cosine ties
    return composer.run(query=question, results=[passage], language="en", vector=turn).answer


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_the_meaning_interactions_choose_the_sentence(dim: int) -> None:
    """Fake vectors: each sentence along its own dimension, the turn as close to each; the ranker's meaning
    weights alone say which one answers. A composer that ignored them would answer the same for every `dim`."""
    answer = _meaning_answer(_meaning_ranker(dim), _fake_vectors())
    assert _MEANING_TEXTS[dim] in answer


def test_without_meaning_weights_or_a_cached_vector_the_meaning_adds_nothing() -> None:
    no_meaning = _meaning_answer(_meaning_ranker(2, meaning=False), _fake_vectors())
    assert _MEANING_TEXTS[2] not in no_meaning
    # the third sentence has no cached vector: it cannot win by meaning, and nothing is embedded on the turn
    vectors = _fake_vectors(cached=2)
    assert _MEANING_TEXTS[2] not in _meaning_answer(_meaning_ranker(2), vectors)
    assert vectors.embedded == 0


def test_the_file_says_which_questions_the_learned_order_is_for() -> None:
    fee = "is there a fee for my box"  # asks for a kind of fact
    only_no_kind = _meaning_ranker(2)
    every = _meaning_ranker(2, every_question=True)
    assert only_no_kind.applies(frozenset()) and not only_no_kind.applies(frozenset({"money"}))
    assert every.applies(frozenset({"money"}))
    assert _MEANING_TEXTS[2] in _meaning_answer(every, _fake_vectors(), fee)


def test_the_meaning_weights_round_trip_and_bad_ones_are_refused(tmp_path: Path) -> None:
    ranker = _meaning_ranker(1, every_question=True)
    again = SentenceRanker.from_json(ranker.to_json(trained_on=["test"]))
    assert again.every_question and again.meaning is not None
    assert np.allclose(again.meaning.weights, ranker.meaning.weights)  # type: ignore[union-attr]
    body = json.loads(ranker.to_json())
    path = tmp_path / RANKER_FILE
    for bad in (
        {"weights": [1.0], "mean": [0.0, 0.0], "scale": [1.0]},
        {"weights": [1.0], "mean": [0.0], "scale": [0.0]},
        {"weights": [1.0]},
        [1, 2],
    ):
        path.write_text(json.dumps({**body, "meaning": bad}), encoding="utf-8")
        assert load_ranker(path) is None, bad
    path.write_text(json.dumps({**body, "every_question": "yes"}), encoding="utf-8")
    assert load_ranker(path) is None


def test_the_shipped_ranker_weighs_meaning() -> None:
    ranker = load_ranker(SHIPPED)
    assert ranker is not None and ranker.meaning is not None
    assert ranker.meaning.weights.shape == (384,)  # the e5 vectors' size


def test_cached_rows_run_no_encoder() -> None:
    vectors = SentenceVectors(lambda texts: 1 / 0, max_new=10)  # any encoder run fails the test
    assert vectors.cached(["a"]).shape == (1, 0)
    vectors._cache["a"] = np.ones(3, np.float32)
    rows = vectors.cached(["a", "b"])
    assert rows.shape == (2, 3) and np.all(rows[0] == 1) and np.all(np.isnan(rows[1]))
    assert not vectors.pending
