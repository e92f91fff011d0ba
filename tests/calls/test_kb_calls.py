"""Whole calls against the sample knowledge base in kb_docs/, with the real guard and rule pack.

The fast variant uses the hash embedder (BM25 carries retrieval); the `slow` variant loads the real
models once per session. Both skip, with the reason, while the knowledge base or the rule pack is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assist.calls.engine import CallEngine
from assist.calls.playbooks import Playbooks
from assist.config import Settings
from assist.text import to_simplified

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "kb_docs" / "rules"


def _needs() -> None:
    try:
        import assist.compliance.guard  # noqa: F401
        import assist.knowledge.base  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"needs the knowledge base and guard packages: {exc}")
    if not any(RULES.glob("*.y*ml")):
        pytest.skip("kb_docs/rules/ has no rule pack yet")


def _build(tmp: Path, embedders: list[str]) -> dict[str, Any]:
    _needs()
    from assist.compliance.guard import Guard
    from assist.compliance.holder import GuardHolder
    from assist.db import make_engine
    from assist.knowledge.base import KnowledgeBase

    settings = Settings(data_dir=tmp, embedders=embedders)
    db = make_engine(settings)
    guard = Guard.from_path(settings.rules_path)
    kb = KnowledgeBase(settings, db, guard=GuardHolder(guard))
    kb.warm_up()
    kb.ingest_paths([settings.kb_dir])
    return {"settings": settings, "db": db, "kb": kb, "guard": guard}


@pytest.fixture(scope="session")
def kb_hash(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _build(tmp_path_factory.mktemp("kb_hash"), ["hash"])


@pytest.fixture(scope="session")
def kb_real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _build(tmp_path_factory.mktemp("kb_real"), ["minilm", "e5"])


def _engine(env: dict[str, Any]) -> CallEngine:
    s: Settings = env["settings"]
    return CallEngine(
        settings=s,
        db_engine=env["db"],
        retriever=lambda: env["kb"].retriever,
        guard=lambda: env["guard"],
        playbooks=Playbooks(s.playbooks_path),
        next_steps_for=env["kb"].next_steps_for,
    )


def _ids(result: Any) -> dict[str, bool]:
    return {s.id: s.done for s in result.next_steps}


def chinese_call(e: CallEngine) -> None:
    cid = e.start_call()
    r = e.handle_turn(cid, speaker="customer", text="你好，我的信用卡丢了，怎么办？")
    assert r.suggestion.citations[0]["title"] == "信用卡挂失、冻结与补卡"
    assert "freeze_card" in _ids(r)
    r = e.handle_turn(cid, speaker="agent", text="好的，身份核验通过。我已为您冻结卡片，挂失已生效。")
    assert _ids(r)["verify_identity"] and _ids(r)["freeze_card"]
    r = e.handle_turn(cid, speaker="customer", text="那补卡要钱吗？")
    assert any(c["section"] == "补卡" for c in r.suggestion.citations), r.suggestion.citations
    assert "补卡费" in r.suggestion.answer
    assert _ids(r)["reissue_card"] is False
    r = e.handle_turn(cid, speaker="agent", text="我们这款理财保本保收益，稳赚不赔，您放心买。")
    assert r.alerts and r.alerts[0].action == "block"


def traditional_call(e: CallEngine) -> None:
    cid = e.start_call()
    r = e.handle_turn(cid, speaker="customer", text="我的信用卡遺失了，要怎麼掛失？")
    s = r.suggestion
    assert s.citations[0]["title"] in {"信用卡遺失、凍結及補領（香港分行）", "信用卡挂失、冻结与补卡"}, s.citations
    assert s.language == "zh-Hant" and to_simplified(s.answer) != s.answer  # shown in Traditional script
    assert "freeze_card" in _ids(r)
    r = e.handle_turn(cid, speaker="customer", text="補卡要收費嗎？")
    assert "補" in r.suggestion.answer
    r = e.handle_turn(cid, speaker="agent", text="呢隻基金保證回報，穩賺不賠，你放心。")
    assert r.alerts and r.alerts[0].action == "block"


def english_call(e: CallEngine) -> None:
    cid = e.start_call()
    text = "Hi, I want to pay off my mortgage early. Can I repay before the term ends?"
    r = e.handle_turn(cid, speaker="customer", text=text)
    assert r.suggestion.citations[0]["title"].startswith("Mortgage Loans")
    assert "verify_identity" in _ids(r)
    r = e.handle_turn(cid, speaker="customer", text="What about the fee?")
    assert r.suggestion.citations[0]["section"] == "Prepayment fee", r.suggestion.citations
    text = "Don't worry, this fund has a guaranteed return of 6% and it's risk-free."
    r = e.handle_turn(cid, speaker="agent", text=text)
    assert r.alerts and r.alerts[0].action == "block"
    assert _ids(r)["read_risk_disclosure"] is False  # the alert's category calls for the disclosure
    text = "Sorry, I must correct that: this fund is not a deposit, it carries risk, please invest with caution."
    r = e.handle_turn(cid, speaker="agent", text=text)
    assert not r.alerts and _ids(r)["read_risk_disclosure"] is True  # the guard found all three parts


CALLS: list[Callable[[CallEngine], None]] = [chinese_call, traditional_call, english_call]


@pytest.mark.parametrize("call", CALLS, ids=lambda f: f.__name__)
def test_sample_call_hash_embedder(kb_hash: dict[str, Any], call: Callable[[CallEngine], None]) -> None:
    call(_engine(kb_hash))


@pytest.mark.slow
@pytest.mark.parametrize("call", CALLS, ids=lambda f: f.__name__)
def test_sample_call_real_models(kb_real: dict[str, Any], call: Callable[[CallEngine], None]) -> None:
    call(_engine(kb_real))


@pytest.mark.slow
def test_hong_kong_follow_up_quotes_the_hong_kong_fee(kb_real: dict[str, Any]) -> None:
    """The policy says 補領 where the customer says 補卡: the answer must still be the Hong Kong fee."""
    e = _engine(kb_real)
    cid = e.start_call()
    r = e.handle_turn(cid, speaker="customer", text="我張信用卡唔見咗，點樣報失？")
    assert r.suggestion.citations[0]["title"] == "信用卡遺失、凍結及補領（香港分行）"
    r = e.handle_turn(cid, speaker="customer", text="補卡要收費嗎？")
    titles = {c["title"] for c in r.suggestion.citations}
    assert titles == {"信用卡遺失、凍結及補領（香港分行）"}, r.suggestion.citations
    assert "HK$50" in r.suggestion.answer and "¥" not in r.suggestion.answer


FIRST_ANSWERS = [
    # (question, the policy that must answer, words the answer must hold, words it must not lead with)
    (
        "How do I dispute a charge I don't recognise on my credit card?",
        "Disputed Card Transactions and Chargebacks",
        "dispute",
        "raise a dispute (see",
    ),
    ("我的信用卡丢了怎么办", "信用卡挂失、冻结与补卡", "挂失", "如客户发现可疑交易"),
    ("我的信用卡丟了怎麼辦？", "信用卡遺失、凍結及補領（香港分行）", "報失", "如有可疑交易"),
    (
        "What is the cooling-off period for my insurance policy?",
        "Life Insurance - Cooling-off Period and Surrender (Hong Kong and Mainland)",
        "21 calendar days",
        "Where |",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "question,title,holds,not_first",
    FIRST_ANSWERS,
    ids=["dispute-en", "card-loss-zh-hans", "card-loss-zh-hant", "cooling-off-en"],
)
def test_first_answer_comes_from_the_policy_itself(
    kb_real: dict[str, Any], question: str, title: str, holds: str, not_first: str
) -> None:
    """The policy on the question answers, in its own words: not another policy's pointer to it ("raise a
    dispute (see ...)"), not a pointer onwards, not a bare table header."""
    e = _engine(kb_real)
    s = e.handle_turn(e.start_call(), speaker="customer", text=question).suggestion
    assert s.citations[0]["title"] == title, s.citations
    assert holds in s.answer and not s.sentences[0]["text"].startswith(not_first), s.answer
