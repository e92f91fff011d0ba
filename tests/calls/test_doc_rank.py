"""The learned choice of the document a turn is answered from: its file is validated (a bad one leaves the hand
ranking in force, with a log line), the setting turns it off, and the ranking lifts the document it chooses to
the top without letting in one the relevance gate refused.

Sentences here are written for these tests; none comes from a natural-call set.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assist.calls.context import ContextQuery
from assist.calls.doc_rank import FEATURES, RANKER_FILE, DocumentRanker, load_document_ranker
from assist.calls.engine import CallEngine
from assist.calls.rank import Ranker
from assist.config import Settings
from tests.fakes import search_result

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "kb_docs" / "playbooks" / RANKER_FILE


def _ranker(margin: float = 0.0, **weights: float) -> DocumentRanker:
    """A ranker that scores by the named features only (unit scale)."""
    w = np.array([weights.get(f, 0.0) for f in FEATURES])
    return DocumentRanker(w, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), margin=margin)


def test_the_shipped_ranker_loads_and_reads_this_codes_features() -> None:
    ranker = load_document_ranker(SHIPPED)
    assert ranker is not None
    assert ranker.weights.shape == (len(FEATURES),)
    body = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert body["meta"]["trained_on"], "the file says what it was trained on"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"format": "assist-answer-sentence-ranker"}), "not a document ranker file"),
        (json.dumps({"format": "assist-document-ranker", "version": 99}), "version 99"),
        (json.dumps({"format": "assist-document-ranker", "version": 1, "features": ["hand"]}), "features differ"),
    ],
)
def test_a_corrupt_or_mismatched_file_leaves_the_hand_ranking_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, reason: str
) -> None:
    path = tmp_path / RANKER_FILE
    path.write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="assist.calls.doc_rank"):
        assert load_document_ranker(path) is None
    record = next(r for r in caplog.records if "hand ranking" in r.getMessage())
    assert reason in record.reason  # type: ignore[attr-defined]


def test_weights_that_are_not_finite_the_wrong_size_or_a_negative_margin_are_refused(tmp_path: Path) -> None:
    good = json.loads(_ranker(e5_gap=1.0).to_json(trained_on=["test"]))
    path = tmp_path / RANKER_FILE
    for change in (
        {"weights": [float("nan")] + good["weights"][1:]},
        {"weights": good["weights"][:-1]},
        {"scale": [0.0] * len(FEATURES)},
        {"margin": -1.0},
    ):
        path.write_text(json.dumps({**good, **change}), encoding="utf-8")
        assert load_document_ranker(path) is None, change
    path.write_text(json.dumps(good), encoding="utf-8")
    assert load_document_ranker(path) is not None


def test_a_missing_file_leaves_the_hand_ranking_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="assist.calls.doc_rank"):
        assert load_document_ranker(tmp_path / "nowhere.json") is None
    assert any("no document ranker" in r.getMessage() for r in caplog.records)


def test_the_file_form_round_trips() -> None:
    ranker = _ranker(margin=0.5, e5_gap=2.0, in_play=1.5, hand_gap=-0.5)
    again = DocumentRanker.from_json(ranker.to_json(trained_on=["test"]))
    x = np.random.default_rng(0).normal(size=(5, len(FEATURES)))
    assert np.allclose(ranker.score(x), again.score(x))
    assert again.margin == 0.5


def test_the_engine_ranks_by_hand_by_default_and_with_the_shipped_ranker_when_the_setting_is_on(
    make_call_engine: Callable[..., CallEngine], tmp_path: Path
) -> None:
    default = make_call_engine(settings=Settings(data_dir=tmp_path))
    assert default.suggester.ranker.doc_ranker is None, "not adopted: off unless asked for"
    on = make_call_engine(settings=Settings(data_dir=tmp_path, document_ranker="on"))
    assert on.suggester.ranker.doc_ranker is not None
    assert on.suggester.need_ranker.doc_ranker is not None
    missing = make_call_engine(
        settings=Settings(data_dir=tmp_path, document_ranker="on", document_ranker_path=tmp_path / "gone.json")
    )
    assert missing.suggester.ranker.doc_ranker is None


# A card-fraud call: the hand ranking puts the dispute policy first on its fused score; the fraud guide is
# closer in meaning (e5) to what the customer asked.
DISPUTE = search_result(
    "card-dispute",
    "A disputed transaction is raised within 60 days of the statement date.",
    section="Raising a dispute",
    score=1.0,
    language="en",
    e5=0.86,
)
DISPUTE_MORE = search_result(
    "card-dispute", "The bank answers a dispute within 45 days.", section="Timelines", score=0.9, language="en", e5=0.84
)
FRAUD = search_result(
    "card-fraud",
    "If someone used your card without you, we block it and open a fraud case at once.",
    section="Unauthorised use",
    score=0.8,
    language="en",
    e5=0.9,
)
UNRELATED = search_result(
    "mortgage", "Partial prepayment starts from 10,000.", section="Prepayment", score=0.2, language="en", e5=0.76
)
QUERY = ContextQuery(query="someone used my card for things i never bought", turn_text="someone used my card")


def _rank(doc_ranker: DocumentRanker | None, results: list) -> list[str]:  # type: ignore[type-arg]
    ranker = Ranker(min_score=0.3, doc_ranker=doc_ranker)
    return [r.document_id for r in ranker.rank(QUERY, results, "en")]


def test_the_chosen_document_is_lifted_to_the_top_and_keeps_its_passages_order() -> None:
    results = [DISPUTE, FRAUD, DISPUTE_MORE]
    assert _rank(None, results)[0] == "card-dispute"
    ranked = _rank(_ranker(e5_gap=5.0), results)
    assert ranked[0] == "card-fraud"
    assert ranked.count("card-dispute") == 2, "the other document's passages stay for the answer's sections"


def test_a_lead_within_the_margin_keeps_the_hand_ranking() -> None:
    results = [DISPUTE, FRAUD, DISPUTE_MORE]
    # the fraud guide leads by 5 x 0.04 = 0.2 on the learned score
    assert _rank(_ranker(margin=0.1, e5_gap=5.0), results)[0] == "card-fraud"
    assert _rank(_ranker(margin=0.5, e5_gap=5.0), results)[0] == "card-dispute"


def test_a_document_the_gate_refused_is_never_chosen() -> None:
    results = [DISPUTE, UNRELATED]
    # a ranker that prefers the document furthest behind in every way would choose the mortgage passage
    ranked = _rank(_ranker(hand_gap=-5.0, e5_gap=-5.0, fused_gap=-5.0), results)
    assert ranked == ["card-dispute"]


TOPICS = ["card_loss", "card_dispute", "card_fees", "wealth", "insurance", "mortgage", "fraud", "complaint", "deposit"]
# A call that began on a time deposit and has moved on to a wealth product (the turn model reads the call's topic
# as wealth now); the deposit policy is still the document in play and leads on the retrieval's fused score, the
# wealth policy is as close in meaning.
MOVED_ON = [
    (
        "zh-Hans",
        "到期那笔钱想换成收益高点的产品 亏本的可能大吗",
        "定期存款到期后自动转存，利率按转存日挂牌利率执行。",
        "理财产品不保本，风险等级分为R1至R5。",
    ),
    (
        "en",
        "when it matures I'd rather put it somewhere that pays more, could I lose money",
        "A time deposit that matures is renewed at the rate of the renewal day.",
        "Wealth products are not deposits and can lose value; risk levels run from R1 to R5.",
    ),
    (
        "zh-Hant",
        "到期嗰筆錢想轉去買回報高啲嘅產品 會唔會蝕本",
        "定期存款到期後自動續存，利率按續存日牌價計算。",
        "理財產品並非存款，可能損失本金，風險等級分為R1至R5。",
    ),
]


def _moved_on(language: str, turn: str, deposit: str, wealth: str, *, topic: str, learned: bool) -> list[str]:
    results = [
        search_result(
            "deposit-guide", deposit, section="Renewal", score=1.0, language=language, e5=0.87, tags=["deposit"]
        ),
        search_result(
            "wealth-risk", wealth, section="Risk levels", score=0.85, language=language, e5=0.87, tags=["wealth"]
        ),
    ]
    cq = ContextQuery(query=turn, turn_text=turn, prefer_documents=["deposit-guide"], topic=topic)
    ranker = Ranker(min_score=0.3, topics=TOPICS, doc_ranker=load_document_ranker(SHIPPED) if learned else None)
    return [r.document_id for r in ranker.rank(cq, results, language)]


@pytest.mark.parametrize(("language", "turn", "deposit", "wealth"), MOVED_ON)
def test_the_shipped_ranker_follows_the_call_to_its_new_topic_over_the_document_in_play(
    language: str, turn: str, deposit: str, wealth: str
) -> None:
    assert _moved_on(language, turn, deposit, wealth, topic="wealth", learned=False)[0] == "deposit-guide"
    assert _moved_on(language, turn, deposit, wealth, topic="wealth", learned=True)[0] == "wealth-risk"


@pytest.mark.parametrize(("language", "turn", "deposit", "wealth"), MOVED_ON)
def test_the_shipped_ranker_keeps_the_document_in_play_while_the_call_stays_on_its_topic(
    language: str, turn: str, deposit: str, wealth: str
) -> None:
    assert _moved_on(language, turn, deposit, wealth, topic="deposit", learned=True)[0] == "deposit-guide"
