"""Steps, eighth round (issue 17): three kinds of false tick, each with its completion that still ticks.

- Cantonese clause-final 先 ("first"): "V咗…先" is what the agent is about to do, not what is done.
- A means of confirmation sent to the customer (a push notification, a code, a link) with a request to act on it:
  the check waits on the customer. A request about a step keeps it open the way a question does.
- The customer told where they stand in a period ("你仲喺冷靜期入面", "you're still within the cooling-off
  period") says the pin but explains nothing.

The model is built by hand as in test_understanding_sixth.py. The sentences are written for these tests in three
scripts; none is taken from the labelled calls.
"""

from __future__ import annotations

import pytest

from assist.calls.understanding.model import TurnUnderstanding
from assist.calls.understanding.text import says_done, tick_clauses
from tests.calls.test_understanding_seventh import _understanding
from tests.calls.test_understanding_sixth import NORM, OTHER, SHIPPED, _model, _steps, _vec

VERIFY = "verify_identity"
FREEZE = "freeze_card"


@pytest.fixture(scope="module")
def model() -> TurnUnderstanding:
    return _model()


def _strong() -> TurnUnderstanding:
    """Every step the heads are sure of scores ≈ 0.72, over this model's 0.7 floor: the heads read it done."""
    strong = _model()
    strong.thresholds["step"] = {"default": 0.7}
    strong.thresholds["step_floor"] = 0.7
    return strong


# -- Cantonese clause-final 先 -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "ticked"),
    [
        ("我而家即刻幫你凍結咗張卡先", False),
        ("我睇到今朝有兩單簽賬，我宜家幫你停咗張卡先。", False),
        ("我睇到今朝有兩單簽賬，張卡我已經幫你停咗。", True),
        ("張卡已經幫你凍結咗", True),
        ("原先那张卡已经冻结了", True),  # 原先 ("the former") is no "first"
    ],
)
def test_cantonese_clause_final_first_is_no_completion(model: TurnUnderstanding, text: str, ticked: bool) -> None:
    assert _steps(model, _vec(FREEZE), text) == ([FREEZE] if ticked else [])


# -- a means of confirmation sent, and the customer asked to act on it --------------------------------------------
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("我哋頭先 send 咗個推送通知去你部手機，麻煩你撳一撳確認。", {"通知": VERIFY, "確認": VERIFY}),
        ("剛剛已經傳了推播到您的手機，麻煩您點一下確認。", {"推播": VERIFY, "確認": VERIFY}),
        ("我们刚给您发了验证码，麻烦您报一下短信里的六位数。", {"验证码": VERIFY, "六位数": VERIFY}),
        ("I've just sent a push notification to your phone, please tap confirm.", {"push": VERIFY, "confirm": VERIFY}),
        ("I've sent a one-time code to your mobile, could you read it back to me.", {"code": VERIFY, "read": VERIFY}),
    ],
)
def test_a_confirmation_sent_for_the_customer_to_act_on_ticks_nothing(text: str, words: dict[str, str]) -> None:
    assert _understanding(_strong(), words).agent(text, already=[])[0] == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("你喺 App 撳咗確認，核實完成，多謝。", {"核實": VERIFY}),
        ("您已經在 App 按了確認，身分核對無誤。", {"核對": VERIFY}),
        ("验证码对上了，身份核实通过。", {"核实": VERIFY}),
        ("The app confirmation came back, so you're verified.", {"verified": VERIFY}),
    ],
)
def test_the_confirmation_come_back_still_ticks(text: str, words: dict[str, str]) -> None:
    assert _understanding(_strong(), words).agent(text, already=[])[0] == [VERIFY]


def test_a_request_about_another_step_leaves_the_completion() -> None:
    words = {"核对": VERIFY, "冻结": FREEZE}
    text = "身份核对无误，麻烦您说一下要冻结哪一张卡"
    assert _understanding(_strong(), words).agent(text, already=[])[0] == [VERIFY]


def test_a_request_about_the_same_step_keeps_it_open() -> None:
    words = {"资料": VERIFY, "麻烦": VERIFY}
    text = "资料我这边都看过了，麻烦您再报一下身份证后四位"
    assert _understanding(_strong(), words).agent(text, already=[])[0] == []


def test_please_is_a_request_but_please_note_is_not() -> None:
    assert tick_clauses("I've sent the form, please sign it", NORM) == ["I've sent the form"]
    assert says_done(NORM("please note the card has been blocked"))
    assert not says_done(NORM("please confirm the card has been blocked"))


# -- the customer's standing in a period says the pin, explains nothing ----------------------------------------
@pytest.mark.parametrize(
    ("text", "ticked"),
    [
        ("你仲喺冷靜期入面，不過我建議你諗清楚先", False),
        ("您还在犹豫期内，我建议您再考虑考虑", False),
        ("您現在仍在冷靜期之內，再想想看", False),
        ("You're still within the cooling-off period, but I'd think it over.", False),
        ("冷靜期係 21 日，期內退保全數退還保費", True),
        ("犹豫期内退保，保费全额退还", True),
        ("The cooling-off period is 21 days, and you get a full refund inside it.", True),
    ],
)
def test_the_customers_standing_in_a_period_is_no_explanation(text: str, ticked: bool) -> None:
    shipped = _model(step_phrases=SHIPPED.step_phrases)  # 冷靜期, 犹豫期内, "cooling-off period is" are pins
    assert _steps(shipped, OTHER, text) == (["explain_cooling_off"] if ticked else [])


def test_a_request_that_opens_the_turn_leaves_a_later_completion() -> None:
    words = {"报案": "report_fraud", "诈骗案件": "report_fraud"}
    text = "请您今天就去派出所报案，收款账户我都记在诈骗案件里了"
    assert _understanding(_strong(), words).agent(text, already=[])[0] == ["report_fraud"]


@pytest.mark.parametrize(
    ("text", "confirmed"),
    [
        ("你仲喺冷靜期入面。不過我勸你諗清楚，呢份計劃好穩陣。", False),
        ("You're still within the cooling-off period. Honestly, I'd keep it.", False),
        ("您还在犹豫期内。这款产品放着比定期划算。", False),
        ("冷靜期係 21 日，期內退保全數退還保費。", True),
        ("The cooling-off period is 21 days; inside it you get a full refund.", True),
    ],
)
def test_the_guards_one_phrase_disclosure_is_not_confirmed_by_the_customers_standing(
    text: str, confirmed: bool
) -> None:
    shipped = _model(step_phrases=SHIPPED.step_phrases)
    understanding = _understanding(shipped, {})
    assert understanding.confirms_done(OTHER, text) is confirmed
