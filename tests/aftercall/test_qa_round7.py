"""Seventh round of the QA reading (issue #19), in three scripts, none of the sentences taken from the
labelled calls: identity read as the spec defines it, turn by turn (a request to say a detail is an identity
question, not a disclosure; the check said done in few words is verification; a greeting or the bank's rules
in general read close to a disclosure are none; a space between the scripts hides no detail read back), and a
farewell said with a thank-you is a closing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assist.aftercall.qa import CallFacts, Criterion, load_rubric, score_call
from assist.aftercall.tickets import CallTurn

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = load_rubric(ROOT / "kb_docs" / "qa" / "rubric.yaml")


class StubJudge:
    """Reads agent turns as the test says (what the e5 examples would)."""

    def __init__(self, groups: dict[str, str]) -> None:
        self.groups = groups

    def group(self, _c: Criterion, text: str) -> str | None:
        return self.groups.get(text)

    def nearest(self, _c: Criterion, text: str) -> str | None:
        return self.groups.get(text)

    def steps_done(self, _text: str) -> list[str]:
        return []


def _verdict(criterion: str, turns: list[tuple[str, str]], judge: StubJudge | None = None) -> Any:
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    facts = CallFacts(turns=said, topics=set(), judge=judge)  # type: ignore[arg-type]
    return {v.id: v for v in score_call(RUBRIC, facts)[1]}[criterion]


@pytest.mark.parametrize(
    ("request_", "verified", "detail"),
    [
        ("好的，麻烦您再报一下账单上的邮寄城市。", "好的，身份核实通过。", "我这边看到您前天有一笔六百元的消费。"),
        ("唔該你講一講你登記嘅地址喺邊區。", "OK，核實咗。", "我見到你張卡今朝有一筆二百蚊嘅簽賬。"),
        ("Please tell me the postcode on your statement.", "Thanks, you're verified.",
         "I can see a payment of 45 dollars this morning."),
    ],
)  # fmt: skip
def test_a_request_to_say_a_detail_is_an_identity_question_not_a_disclosure(
    request_: str, verified: str, detail: str
) -> None:
    turns = [("agent", "Hello"), ("customer", "hi"), ("agent", request_), ("customer", "..."),
             ("agent", verified), ("customer", "ok"), ("agent", detail)]  # fmt: skip
    v = _verdict("identity_before_details", turns)
    assert v.passed is True and v.turns == [5]


@pytest.mark.parametrize(
    "confirmed",
    ["好的，已确认。请问您要办理什么业务？", "確認完成，請問是哪一張卡？", "OK，已經確認，你想問邊筆？",
        "好，身份驗證成功，請問哪一筆？",
     "Great, you're all confirmed. Which card is it?"],
)  # fmt: skip
def test_the_identity_check_said_done_in_few_words_is_verification(confirmed: str) -> None:
    turns = [("agent", "Hello"), ("customer", "hi"), ("agent", "Your full name and date of birth, please?"),
             ("customer", "..."), ("agent", confirmed), ("customer", "the one ending 1234"),
             ("agent", "I can see a charge of 300 dollars on it yesterday.")]  # fmt: skip
    v = _verdict("identity_before_details", turns)
    assert v.passed is True and v.turns == [5]


def test_asking_to_confirm_a_detail_is_not_verification() -> None:
    turns = [("agent", "您好"), ("customer", "你好"), ("agent", "請再確認一下您的出生日期。"), ("customer", "..."),
             ("agent", "我這邊看到您昨天有一筆五百元的交易。")]  # fmt: skip
    assert _verdict("identity_before_details", turns).passed is False


@pytest.mark.parametrize(
    "general",
    [
        "每位存款人在每家成员银行最高可获得五十万元的保障。",  # the bank's rules, a figure but nobody's account
        "一般嚟講，信用卡年費係每年一千二百蚊，簽夠六次就豁免。",
        "Good evening, Harbor Bank card services, Amy speaking.",  # a greeting
    ],
)
def test_a_greeting_or_the_banks_rules_read_close_to_a_disclosure_are_none(general: str) -> None:
    turns = [("agent", general), ("customer", "ok thanks"), ("agent", "Anything else? Goodbye.")]
    v = _verdict("identity_before_details", turns, StubJudge({general: "details"}))
    assert v.passed is None  # no detail of the caller's, and no verification: the criterion does not apply


@pytest.mark.parametrize(
    "own",
    [
        "我看到您这张卡上周有一笔八百元的消费。",
        "你張卡今朝有一筆三百蚊嘅簽賬。",
        "There's a payment of 90 dollars on your card today.",
    ],
)
def test_the_callers_own_record_read_by_meaning_before_verification_is_still_a_disclosure(own: str) -> None:
    turns = [("agent", "Hello"), ("customer", "hi"), ("agent", own), ("customer", "yes"),
             ("agent", "Your full name and date of birth, please?"), ("customer", "..."),
             ("agent", "Thanks, you're verified.")]  # fmt: skip
    v = _verdict("identity_before_details", turns, StubJudge({own: "details"}))
    assert v.passed is False and v.turns == [3]


@pytest.mark.parametrize(
    "read_back",
    [
        "我看到您登记的 email 是 [EMAIL]，对吗？",
        "我見到你登記嘅 email 係 [EMAIL]，啱唔啱？",
        "我查到您登記的 email 是 [EMAIL]，對嗎？",
    ],
)
def test_a_space_between_the_scripts_hides_no_detail_read_back(read_back: str) -> None:
    turns = [("agent", "您好"), ("customer", "我想改电邮"), ("agent", read_back), ("customer", "係"),
             ("agent", "全名同出世日期？"), ("customer", "..."), ("agent", "核实无误。")]  # fmt: skip
    v = _verdict("identity_before_details", turns)
    assert v.passed is False and v.turns == [3]


@pytest.mark.parametrize(
    ("last", "closed"),
    [
        ("好的，谢谢您，拜拜。", True),
        ("好，唔該晒你，拜拜。", True),
        ("OK, thanks a lot, bye now.", True),
        ("多謝你來電。", True),
        ("拜拜。", False),
        ("OK, bye then.", False),
        ("好，就這樣，拜拜。", False),
    ],
)
def test_a_farewell_said_with_a_thank_you_is_a_closing(last: str, closed: bool) -> None:
    turns = [("agent", "您好"), ("customer", "没有了"), ("agent", last)]
    assert _verdict("closing", turns).passed is closed


@pytest.mark.parametrize(
    ("reassurance", "detail"),
    [
        ("明白，您的意见我们一定会转达给网点负责人。", "我看到您这张卡昨天有一笔三百元的消费。"),
        ("明白，我會將你嘅意見反映俾分行。", "你張卡琴日有一筆五百蚊嘅簽賬。"),
        ("I understand, I'll pass your feedback on to the branch.", "There's a charge of 60 dollars on your card."),
    ],
)
def test_a_turn_read_as_verified_by_meaning_verifies_only_after_the_check_began(reassurance: str, detail: str) -> None:
    judge = StubJudge({reassurance: "verified", detail: "details"})
    unchecked = [("agent", "Hello"), ("customer", "I want to complain"), ("agent", reassurance),
                 ("customer", "ok"), ("agent", detail)]  # fmt: skip
    v = _verdict("identity_before_details", unchecked, judge)
    assert v.passed is False and v.turns == [5]  # nothing was checked: the detail came before any ID&V
    checked = [("agent", "Hello"), ("customer", "I want to complain"), ("agent", "Your full name and ID number?"),
               ("customer", "..."), ("agent", reassurance), ("customer", "ok"), ("agent", detail)]  # fmt: skip
    v = _verdict("identity_before_details", checked, judge)
    assert v.passed is True and v.turns == [5]


@pytest.mark.parametrize(
    "logged",
    [
        "好的，已经帮您登记了这笔争议交易，三个工作日内答复。",
        "OK，我幫你開咗個掛失申請，聽日會有短訊通知。",
        "I've now logged a stolen card report, reference K-20931.",
        "Your complaint is registered and the team will call you within five days.",
    ],
)
def test_the_agent_saying_the_case_was_registered_passes_ticket_submitted(logged: str) -> None:
    turns = [("agent", "Hello"), ("customer", "my card was stolen"), ("agent", logged)]
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    facts = CallFacts(turns=said, topics=set(), template="lost_stolen_card")
    v = {v.id: v for v in score_call(RUBRIC, facts)[1]}["ticket_submitted"]
    assert v.passed is True and 3 in v.turns


@pytest.mark.parametrize(
    "updated",
    ["好的，我这边帮您改好了。", "得，我幫你 update 咗，下個月開始用。", "Alright, I'll update that for you now."],
)
def test_a_change_made_without_naming_a_record_is_no_ticket_even_if_it_reads_close(updated: str) -> None:
    turns = [("agent", "Hello"), ("customer", "I want to change my number"), ("agent", updated)]
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    facts = CallFacts(turns=said, topics=set(), template="contact_change", judge=StubJudge({updated: "logged"}))  # type: ignore[arg-type]
    assert {v.id: v for v in score_call(RUBRIC, facts)[1]}["ticket_submitted"].passed is False


def test_the_number_on_file_named_in_a_question_is_no_record_of_a_case() -> None:
    asking = "你而家係咪用緊登記嗰個手機打嚟？"
    turns = [("agent", "你好"), ("customer", "我想改電話"), ("agent", asking), ("customer", "唔係")]
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    facts = CallFacts(turns=said, topics=set(), template="contact_change", judge=StubJudge({asking: "logged"}))  # type: ignore[arg-type]
    assert {v.id: v for v in score_call(RUBRIC, facts)[1]}["ticket_submitted"].passed is False


def _disclosure(turns: list[tuple[str, str]], topics: set[str]) -> Any:
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    return {v.id: v for v in score_call(RUBRIC, CallFacts(turns=said, topics=topics))[1]}["disclosures_read"]


@pytest.mark.parametrize(
    "cooling_off",
    [
        "这款保险签收合同后有十五天犹豫期，期间退保全额退还保费。",
        "呢份保單簽收之後有二十一日冷靜期，期間取消可以全數退返保費。",
        "There's a 21-day cooling-off period after the policy reaches you, and you can cancel for a full refund.",
    ],
)
def test_the_cooling_off_period_explained_is_the_insurance_disclosure_whatever_the_topics(cooling_off: str) -> None:
    turns = [("agent", "Hello"), ("customer", "tell me about the plan"), ("agent", cooling_off)]
    v = _disclosure(turns, set())  # the call's topics missed the insurance product
    assert v.passed is True and v.turns == [3]


@pytest.mark.parametrize(
    "cooling_off",
    ["签收后有十五天犹豫期，可以无条件退保。", "收到保單後有二十一日冷靜期。", "You have a 21-day cooling-off period."],
)
def test_a_savings_insurance_plan_is_due_the_cooling_off_not_the_wealth_disclosure(cooling_off: str) -> None:
    turns = [("agent", "Hello"), ("customer", "the savings insurance plan"), ("agent", cooling_off)]
    v = _disclosure(turns, {"insurance", "wealth"})
    assert v.passed is True
    begun = [*turns, ("agent", "This product is not a deposit and it involves risk.")]  # two of three parts
    assert _disclosure(begun, {"insurance", "wealth"}).passed is False  # begun: due, and read only in part


@pytest.mark.parametrize(
    "advice", ["您可以自己在App上提交申请。", "你可以去分行登記投訴。", "You can file a complaint on our website."]
)
def test_telling_the_caller_how_to_file_it_themselves_is_no_ticket(advice: str) -> None:
    turns = [("agent", "Hello"), ("customer", "I want to complain"), ("agent", advice)]
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    facts = CallFacts(turns=said, topics=set(), template="complaint")
    assert {v.id: v for v in score_call(RUBRIC, facts)[1]}["ticket_submitted"].passed is False


@pytest.mark.parametrize(
    "blocked",
    [
        "好的，已经为您冻结这张卡，挂失马上生效。",
        "我已經幫你掛失咗張卡。",
        "Right, I've blocked that card for you now.",
    ],
)
def test_a_lost_cards_block_read_as_logged_by_meaning_is_its_report(blocked: str) -> None:
    turns = [("agent", "Hello"), ("customer", "I lost my card"), ("agent", blocked)]
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    facts = CallFacts(turns=said, topics=set(), template="lost_stolen_card", judge=StubJudge({blocked: "logged"}))  # type: ignore[arg-type]
    assert {v.id: v for v in score_call(RUBRIC, facts)[1]}["ticket_submitted"].passed is True


@pytest.mark.parametrize(
    ("said", "logged"),
    [
        ("好的，已经为您办理挂失，新卡七个工作日寄出。", True),
        ("OK，張卡我幫你掛失咗。", True),
        ("Done, I've reported the card as lost and stopped it.", True),
        ("您也可以自己在App上挂失。", False),
        ("已為您凍結卡片。", False),  # a freeze alone is no report said
    ],
)
def test_a_lost_cards_report_said_made_is_the_ticket(said: str, logged: bool) -> None:
    turns = [("agent", "Hello"), ("customer", "I lost my card"), ("agent", said)]
    turns_ = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    facts = CallFacts(turns=turns_, topics=set(), template="lost_stolen_card")
    assert {v.id: v for v in score_call(RUBRIC, facts)[1]}["ticket_submitted"].passed is logged


@pytest.mark.parametrize(
    "asking",
    [
        "Before we go on I need to get you verified, can I have your full name and date of birth?",
        "要先核实完成才能查询，请提供您的身份证后六位。",
        "要核實完成先可以幫你查，唔該講你嘅出生日期。",
    ],
)
def test_a_turn_still_asking_for_proof_is_no_verification_whatever_words_it_uses(asking: str) -> None:
    turns = [("agent", "Hello"), ("customer", "hi"), ("agent", asking), ("customer", "..."),
             ("agent", "I can see a payment of 70 dollars on your card yesterday.")]  # fmt: skip
    v = _verdict("identity_before_details", turns)
    assert v.passed is False and v.turns == [5]
