"""The call's topic, read by meaning, keeps its policy ahead of a passage that only shares words (issue 17,
answers6).

A follow-up in the customer's own words ("那我转出去的钱还能追回来吗" in a scam call) shares words with
documents on other subjects (a fund's redemption, a loan's repayment), whose passages then outranked the
policy the call is about. The turn model reads the call's topic every turn (it persists across turns that
name none); a document tagged with that topic gets a bonus in the re-ranking, a document on several topics
(the FAQ) a share of it.
"""

from __future__ import annotations

import pytest

from assist.calls.context import ContextQuery, ContextQueryBuilder
from assist.calls.playbooks import Playbooks
from assist.calls.rank import TOPIC_BONUS, Ranker, on_topic
from assist.calls.state import CallState
from assist.protocols import SearchResult
from tests.fakes import search_result

TOPICS = ["card_loss", "card_dispute", "card_fees", "wealth", "fraud", "deposit", "transfer", "complaint"]

# (script, the call's topic, the follow-up, the passage of the policy on that topic (its tags), a passage of
# another policy that shares more of the follow-up's words, slightly ahead on the retriever's score)
CASES = [
    (
        "zh-Hans",
        "fraud",
        "那我转出去的钱还能追回来吗",
        ("已转出款项的，请客户立即报警，本行可协助提交止付申请。", ["fraud", "scam"]),
        ("基金赎回款一般于 T+3 日内转回客户账户。", ["fund", "redemption"]),
    ),
    (
        "en",
        "card_loss",
        "and will the new one cost me anything this time",
        ("The second replacement in a calendar year costs RMB 20.", ["card_loss", "replacement"]),
        ("The annual fee of the new card is waived in its first year.", ["annual_fee"]),
    ),
    (
        "zh-Hant",
        "card_dispute",
        "咁嗰兩筆唔係我簽嘅數點算",
        ("客戶否認的交易須於結單日後 60 日內提出爭議，處理期間暫不計息。", ["dispute", "chargeback"]),
        ("貸款提前還款須於一個月前以書面通知本行。", ["loan", "mortgage"]),
    ),
]


def _passage(doc: str, text: str, tags: list[str], *, score: float, language: str) -> SearchResult:
    return search_result(doc, text, score=score, language=language, tags=tags, e5=0.86)


def _ranked(turn: str, topic: str | None, results: list[SearchResult], language: str) -> list[str]:
    ranker = Ranker(min_score=0.2, topics=TOPICS)
    cq = ContextQuery(query=turn, turn_text=turn, topic=topic)
    return [r.document_id for r in ranker.run(query=cq, results=results, language=language).results]


@pytest.mark.parametrize(("language", "topic", "turn", "own", "other"), CASES)
def test_the_policy_on_the_calls_topic_is_cited_first(
    language: str, topic: str, turn: str, own: tuple[str, list[str]], other: tuple[str, list[str]]
) -> None:
    policy = _passage("on-topic", own[0], own[1], score=0.9, language=language)
    elsewhere = _passage("other-subject", other[0], other[1], score=1.0, language=language)
    assert _ranked(turn, topic, [elsewhere, policy], language)[0] == "on-topic"


@pytest.mark.parametrize(("language", "topic", "turn", "own", "other"), CASES)
def test_without_a_topic_the_ranking_is_as_before(
    language: str, topic: str, turn: str, own: tuple[str, list[str]], other: tuple[str, list[str]]
) -> None:
    policy = _passage("on-topic", own[0], own[1], score=0.9, language=language)
    elsewhere = _passage("other-subject", other[0], other[1], score=1.0, language=language)
    assert _ranked(turn, None, [elsewhere, policy], language)[0] == "other-subject"


def test_a_clearly_better_passage_of_another_policy_still_wins() -> None:
    """The bonus weighs a topic, it does not fix the answer: a passage far ahead on its score keeps first place."""
    policy = _passage(
        "on-topic",
        "Report a lost card on the hotline; it takes effect at once.",
        ["card_loss"],
        score=0.5,
        language="en",
    )
    elsewhere = _passage(
        "other-subject",
        "Cross-border transfers arrive in one to three days.",
        ["transfer"],
        score=0.5 + TOPIC_BONUS + 0.2,
        language="en",
    )
    assert _ranked("how long does a transfer abroad take", "card_loss", [elsewhere, policy], "en")[0] == "other-subject"


def test_a_document_on_several_topics_gets_a_share() -> None:
    assert on_topic(["fraud", "scam"], "fraud", TOPICS) == 1.0
    assert on_topic(["faq", "fraud", "deposit", "transfer", "complaint"], "fraud", TOPICS) == pytest.approx(0.25)
    assert on_topic(["deposit"], "fraud", TOPICS) == 0.0
    assert on_topic(["fraud"], None, TOPICS) == 0.0


def test_topic_ids_with_other_tags() -> None:
    """A topic whose documents are tagged otherwise (disputes, card fees, funds under wealth) is still found."""
    assert on_topic(["chargeback"], "card_dispute", TOPICS) == 1.0
    assert on_topic(["annual_fee", "fee_waiver"], "card_fees", TOPICS) == 1.0
    assert on_topic(["fund", "redemption"], "wealth", TOPICS) == 1.0


def test_the_context_query_carries_the_calls_topic() -> None:
    state = CallState(call_id="c", topic="card_loss", last_need="我的信用卡不见了")
    builder = ContextQueryBuilder()
    assert builder.run(text="那邮寄要多久", state=state).topic == "card_loss"  # elliptical
    assert builder.run(text="I would like to know the opening hours of the Kowloon branch", state=state).topic == (
        "card_loss"
    )
    assert builder.run(text="那邮寄要多久", state=CallState(call_id="d")).topic is None


def test_the_call_engines_rankers_know_the_playbooks_topics(make_call_engine, playbooks: Playbooks) -> None:
    engine = make_call_engine()
    assert engine.suggester.ranker.topics == frozenset(playbooks.topics)
    assert engine.suggester.need_ranker.topics == frozenset(playbooks.topics)
