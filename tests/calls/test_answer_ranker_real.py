"""The learned order of the answer's sentences on the sample knowledge base, with the real models.

Questions that ask for no period, fee or amount ("what should I do", "how is the interest worked out") are where
the hand-set weights chose a sentence that shares the question's words over the one that answers it. None of
these phrasings is in benchmarks/data/; each is asked with the shipped ranker, and with the hand order (the
setting off) to check that the document cited first is the same. On the code before the ranker (11e9913) none
of the three answers carried its fact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assist.calls.engine import CallEngine
from assist.calls.playbooks import Playbooks
from assist.calls.sentences import SentenceVectors
from assist.calls.understanding import Understanding
from assist.config import Settings
from assist.text import to_simplified

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from assist.compliance.guard import Guard
    from assist.compliance.holder import GuardHolder
    from assist.db import make_engine
    from assist.knowledge.base import KnowledgeBase

    settings = Settings(data_dir=tmp_path_factory.mktemp("answer_ranker_real"), embedders=["minilm", "e5"])
    db = make_engine(settings)
    guard = Guard.from_path(settings.rules_path)
    knowledge = KnowledgeBase(settings, db, guard=GuardHolder(guard))
    knowledge.warm_up()
    knowledge.ingest_paths([settings.kb_dir])
    e5 = next(e for e in knowledge.embedders if e.name == "e5")
    return {
        "settings": settings,
        "db": db,
        "kb": knowledge,
        "guard": guard,
        "vectors": SentenceVectors(e5.embed_documents),  # shared: the sentences are embedded once
        "understanding": Understanding.from_settings(settings, knowledge.embedders),
    }


def _ask(env: dict[str, Any], text: str, *, ranker: str) -> Any:
    settings = env["settings"].model_copy(update={"answer_ranker": ranker})
    engine = CallEngine(
        settings=settings,
        db_engine=env["db"],
        retriever=lambda: env["kb"].retriever,
        guard=lambda: env["guard"],
        playbooks=Playbooks(Path(settings.playbooks_path)),
        next_steps_for=env["kb"].next_steps_for,
        understanding=env["understanding"],
        sentence_vectors=env["vectors"],
    )
    assert (engine.suggester.answer.composer.ranker is not None) == (ranker == "on")
    result = engine.handle_turn(engine.start_call(), speaker="customer", text=text)
    assert result.suggestion is not None, text
    return result.suggestion


@pytest.mark.parametrize(
    ("said", "title", "fact"),
    [
        (
            "I think I was scammed, I sent money to a guy who said he was from the police. what should I do?",
            "Harbor Bank Scam Alert - Protecting Customers from Fraud",
            "register a fraud case",
        ),
        (
            "我在别的银行ATM取钱 钱没吐出来 但是扣款了 怎么办",
            "海港银行 ATM 取款、存款与吞卡处理规定",
            "5 至 15 个工作日内退回",
        ),
        ("我想將定期存款提早攞出嚟 會點計利息", "存款保障計劃及定期存款（香港分行）", "不會支付任何利息"),
    ],
    ids=["en-scam-what-to-do", "zh-Hans-other-banks-atm", "zh-Hant-hk-early-withdrawal"],
)
def test_the_learned_order_answers_what_the_hand_order_missed(
    kb: dict[str, Any], said: str, title: str, fact: str
) -> None:
    learned = _ask(kb, said, ranker="on")
    hand = _ask(kb, said, ranker="off")
    assert learned.citations[0]["title"] == hand.citations[0]["title"] == title
    assert to_simplified(fact) in to_simplified(learned.answer), (learned.answer, hand.answer)
