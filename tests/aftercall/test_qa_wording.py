"""QA criteria said in other words (issue #19), in three scripts, none copied from the labelled calls: a
closing without the stock phrases, escalation asked for in the customer's own words (and a sales manager
named in a complaint is no ask), an offer that is a refusal, identity confirmed in other words, a question
about a detail that is no disclosure while a detail read back is one, and greetings; and (sixth round) a
contact detail on file read back before verification is a disclosure, a call-back arranged from someone
senior is an escalation offered (a refused call-back is not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assist.aftercall.qa import CallFacts, compile_phrases, load_rubric, score_call
from assist.aftercall.tickets import CallTurn

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = load_rubric(ROOT / "kb_docs" / "qa" / "rubric.yaml")


def _verdict(criterion: str, turns: list[tuple[str, str]]) -> Any:
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    verdicts = {v.id: v for v in score_call(RUBRIC, CallFacts(turns=said, topics=set()))[1]}
    return verdicts[criterion]


@pytest.mark.parametrize(
    ("last", "closed"),
    [
        ("好的，谢谢你的来电，拜拜", True),
        ("唔該晒你打嚟，拜拜", True),
        ("Thanks for your call, take care", True),
        ("Bye.", False),
        ("嗯，好。", False),
        ("好，就醬。", False),
    ],
)
def test_closings_in_other_words(last: str, closed: bool) -> None:
    turns = [("agent", "您好"), ("customer", "没事了"), ("agent", last)]
    assert _verdict("closing", turns).passed is closed


@pytest.mark.parametrize(
    ("asks", "offer", "offered"),
    [
        (["你们这样不行 让你们上级来跟我说", "我说了 我要见你们负责人"], "好的，我马上帮您转给主管处理", True),
        (["我要同你哋上司傾", "我再講一次 搵你哋主管嚟"], "明白，我安排主管今日覆你電話", True),
        (["I want to talk to your boss", "I'm asking again, can I speak to a manager"],
         "I can have a supervisor call you back this afternoon", True),
        (["I want to talk to your boss", "I'm asking again, can I speak to a manager"],
         "Sorry, there's no one I can transfer you to today", False),
        (["我要同你哋上司傾", "我再講一次 搵你哋主管嚟"], "唔好意思，冇人可以幫你轉駁", False),
    ],
)  # fmt: skip
def test_escalation_asked_in_the_customers_own_words(asks: list[str], offer: str, offered: bool) -> None:
    turns = [("agent", "您好"), ("customer", asks[0]), ("agent", "我先记录一下"), ("customer", asks[1]),
             ("agent", offer)]  # fmt: skip
    v = _verdict("escalation_offered", turns)
    assert v.passed is offered and v.turns[:2] == [2, 4]


def test_the_manager_who_sold_the_product_is_no_ask() -> None:
    turns = [("agent", "您好"), ("customer", "你们那个理财经理骗我买的"), ("agent", "明白"),
             ("customer", "客戶經理話保本喎"), ("agent", "我幫你記錄")]  # fmt: skip
    assert _verdict("escalation_offered", turns).passed is None


@pytest.mark.parametrize(
    ("verify", "detail"),
    [
        ("好的，身份核实无误", "我这边看到您昨天有一笔三百元的消费"),
        ("OK，資料對得上，核實咗", "我睇到你張卡琴日有一筆五百蚊嘅交易"),
        ("Right, that all matches, thank you", "I can see a payment of 80 dollars this morning"),
    ],
)
def test_identity_confirmed_in_other_words(verify: str, detail: str) -> None:
    turns = [("agent", "Hello"), ("customer", "hi"), ("agent", verify), ("customer", "ok"), ("agent", detail)]
    v = _verdict("identity_before_details", turns)
    assert v.passed is True and v.turns == [3]


def test_asking_for_a_detail_is_no_disclosure_reading_it_back_is() -> None:
    asking = "Which city is on your statement address?"
    turns = [("agent", "Hello"), ("customer", "hi"), ("agent", asking), ("customer", "Leeds"),
             ("agent", "Thanks, you're verified.")]  # fmt: skip
    assert _verdict("identity_before_details", turns).passed is True
    read_back = "我睇到你登記嘅地址係[ADDRESS]，係咪呢度？"
    turns = [("agent", "你好"), ("customer", "我想改地址"), ("agent", read_back), ("customer", "係"),
             ("agent", "好，核實咗")]  # fmt: skip
    v = _verdict("identity_before_details", turns)
    assert v.passed is False and v.turns == [3]


@pytest.mark.parametrize(
    ("first", "greeted"),
    [("早晨，我係阿明", True), ("海港银行，工号二零一，请讲", True), ("Harbor Bank, this is Nadia speaking", True),
     ("喂，講。", False), ("Yep, go on.", False)],
)  # fmt: skip
def test_greetings(first: str, greeted: bool) -> None:
    assert _verdict("greeting", [("agent", first), ("customer", "hi"), ("agent", "ok")]).passed is greeted


@pytest.mark.parametrize(
    ("said", "passed"),
    [
        (["理财产品不是存款，产品有风险", "投资须谨慎，您再考虑一下"], True),
        (["This fund is not a deposit and it carries risk.", "It pays about 3 percent."], False),
        (["呢個唔係存款，有風險嘅", "你想唔想買"], False),
        (["转账有风险，请注意", "好的"], None),  # one phrase in passing: no wealth product was discussed
    ],
)
def test_a_disclosure_the_agent_began_to_read_is_due_whatever_the_topics(said: list[str], passed: bool | None) -> None:
    turns = [("agent", "您好"), ("customer", "我有笔定期到期了"), ("agent", said[0]), ("customer", "嗯"),
             ("agent", said[1])]  # fmt: skip
    facts = CallFacts(turns=[CallTurn(i, s, t) for i, (s, t) in enumerate(turns, 1)], topics={"deposit"})
    verdicts = {v.id: v for v in score_call(RUBRIC, facts)[1]}
    assert verdicts["disclosures_read"].passed is passed


def test_a_turn_reading_a_detail_out_is_no_verification_by_meaning() -> None:
    class Judge:  # what the e5 examples would say: the read-back sounds like a confirmation
        def group(self, _c: Any, text: str) -> str | None:
            return "verified" if "[ADDRESS]" in text or "核實咗" in text else None

        def nearest(self, c: Any, text: str) -> str | None:
            return self.group(c, text)

        def steps_done(self, _text: str) -> list[str]:
            return []

    read_back = "好，我睇到你登記嘅地址係[ADDRESS]，啱唔啱？"
    turns = [("agent", "早晨"), ("customer", "我搬咗屋"), ("agent", read_back), ("customer", "啱"),
             ("agent", "好，核實咗")]  # fmt: skip
    said = [CallTurn(i, s, t) for i, (s, t) in enumerate(turns, 1)]
    v = {v.id: v for v in score_call(RUBRIC, CallFacts(turns=said, topics=set(), judge=Judge()))[1]}  # type: ignore[arg-type]
    assert v["identity_before_details"].passed is False and v["identity_before_details"].turns == [3]


@pytest.mark.parametrize(
    ("ask", "answer", "thanks"),
    [
        ("请问您的出生日期？", "一九八五年七月三号", "谢谢陈先生，您是想了解哪款产品？"),
        ("麻煩講埋你嘅出世日期", "八八年十月一號", "多謝何小姐，你想問邊隻計劃？"),
        ("And your date of birth, please?", "fifth of May, eighty-two", "Thank you Mr Diaz. So the plan I mentioned…"),
    ],
)
def test_thanking_the_caller_for_the_last_identity_answer_is_verification(ask: str, answer: str, thanks: str) -> None:
    detail = "I can see your balance is 3,200 dollars"
    turns = [("agent", "Hello"), ("customer", "hi"), ("agent", ask), ("customer", answer), ("agent", thanks),
             ("customer", "ok"), ("agent", detail)]  # fmt: skip
    v = _verdict("identity_before_details", turns)
    assert v.passed is True and v.turns == [5]
    asks_more = [*turns[:4], ("agent", "Thanks. And the city of your statement address?"), *turns[5:]]
    assert _verdict("identity_before_details", asks_more).passed is False  # a further question: not done yet


@pytest.mark.parametrize(
    "read_back",
    [
        "好的，您登记的手机号是139开头那个，现在还在用吗？",
        "我見到你登記嘅電郵係 mandy dot ho at hotmail dot com，仲用唔用？",
        "The email we have on file is tom dot reyes at mail dot com, is that still right?",
        "OK, the mobile number registered with us is the one ending in five five, yes?",
    ],
)
def test_a_contact_detail_on_file_read_back_before_verification_fails_identity(read_back: str) -> None:
    turns = [
        ("agent", "您好，海港银行"),
        ("customer", "I want to change my contact details"),
        ("agent", read_back),
        ("customer", "no, that one is old"),
        ("agent", "Before I change it: your full name and date of birth?"),
        ("customer", "Tom Reyes, 4 June 1985"),
        ("agent", "Thank you, you're verified."),
    ]
    v = _verdict("identity_before_details", turns)
    assert v.passed is False and v.turns == [3]


def test_asking_which_contact_detail_to_change_is_no_disclosure() -> None:
    turns = [
        ("agent", "Hello, Harbor Bank"),
        ("customer", "I need to update my details"),
        ("agent", "Sure, is it the email or the mobile number registered with us that you want to change?"),
        ("customer", "the email"),
        ("agent", "Your full name and date of birth, please?"),
        ("customer", "Tom Reyes, 4 June 1985"),
        ("agent", "Thank you, you're verified."),
    ]
    assert _verdict("identity_before_details", turns).passed is True


ASKED_TWICE = {
    "zh-Hans": ["你这样处理我不满意 我要找你们领导", "我再说一遍 让你们经理来跟我说"],
    "zh-Hant": ["我要跟你們主管講", "我已經說兩次了 請你們主管來聽"],
    "en": ["I want to speak to a manager", "I'm asking you again, get me your supervisor"],
}


@pytest.mark.parametrize(
    ("script", "offer", "offered"),
    [
        ("zh-Hans", "我帮您约了值班经理，明天上午十点前给您回电，可以吗？", True),
        ("zh-Hant", "我幫您登記，請客服主管稍後致電給您，好嗎？", True),
        ("en", "I'll book a call back from the duty manager for you before six today.", True),
        ("zh-Hans", "经理今天不会给您回电的，您有意见可以写信。", False),
        ("en", "The manager can't call you back, I'm afraid.", False),
    ],
)
def test_a_call_back_from_someone_senior_is_an_escalation_offered(script: str, offer: str, offered: bool) -> None:
    first, second = ASKED_TWICE[script]
    turns = [
        ("agent", "Hello"),
        ("customer", first),
        ("agent", "我明白 / I understand"),
        ("customer", second),
        ("agent", offer),
    ]
    assert _verdict("escalation_offered", turns).passed is offered


def test_the_rubric_compiles_its_new_lists() -> None:
    assert compile_phrases(RUBRIC, []) > 0
