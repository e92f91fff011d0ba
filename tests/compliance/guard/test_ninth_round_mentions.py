"""Ninth round (issue #16): the sixth batch's false blocks and the 没问题 veto bug, fixed as kinds.

Sentences written for these tests (none from the corpus, the dev sets or a spent set), three scripts, both
directions: each kind of mention is allowed, and the same claim said as a claim still blocks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.compliance.guard import Guard
from assist.compliance.guard.model import ClaimModel
from tests.compliance.guard.claim_fakes import train_fake
from tests.compliance.guard.test_guard_with_model import StubLayer

RULES = Path(__file__).resolve().parents[3] / "kb_docs" / "rules"


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.from_path(RULES)


# a quoted claim the sentence names as a tactic, a keyword or a lure
QUOTED_AS_TACTIC_OR_LURE = [
    'Classic pressure tricks include "act now" and "only today".',
    'Typical tactics include "risk-free" and "guaranteed returns".',
    "不少人就是被“稳赚不赔”四个字吸引进场的。",
    "不少人就是被「穩賺不賠」四個字吸引進場的。",
    "許多人被「穩賺不賠」的投資誘惑，最後血本無歸。",
    # a claim joined to such a quoted claim shares its quotation
    "这类保本又“稳赚不赔”的产品曾经很受追捧。",
    "這類保本又「穩賺不賠」的商品曾經很受追捧。",
]
# a list of claims under a lead-in that names them as keywords or warning signs
KEYWORD_LISTS = [
    "留意以下关键词：稳赚不赔、保本保息",
    "留意以下關鍵字：穩賺不賠、保本保息",
    "Keywords: guaranteed returns, risk-free.",
    "Red flags: guaranteed returns, no risk, act now.",
]
# a scheme defined by its hallmark
SCHEME_DEFINITIONS = [
    "The hallmark of a Ponzi scheme is guaranteed returns with no risk.",
    "One feature of pyramid schemes is that they guarantee returns with no risk at all.",
    "An HYIP is a fund that guarantees high returns at no risk.",
]
# what the crooks do, told in the third person
THIRD_PERSON_FRAUD = [
    "To make it look official, the crooks ask for the three-digit code on the back of your card.",
    "Next the scammers ask for the verification code from the text message.",
]
# the same claims, made: quoted with no cue, a product's own features, a request to the customer
STILL_CLAIMS = [
    'This plan is "risk-free", you will never lose.',
    'Like many clients, you will love our "guaranteed returns" plan.',
    "这款产品保本又“稳赚不赔”，您放心买。",
    "這款產品保本又「穩賺不賠」，您放心買。",
    "这类保本又“稳赚不赔”的产品曾经风靡一时。",
    "我们的产品特点：保本保息、稳赚不赔",
    "我們的產品特點：保本保息、穩賺不賠",
    "A key feature of this product is that it guarantees your principal.",
    "Please read me the three-digit code on the back of your card.",
    "The scammers are gone now, so please read me the verification code from the text message.",
]


@pytest.mark.parametrize("text", QUOTED_AS_TACTIC_OR_LURE + KEYWORD_LISTS + SCHEME_DEFINITIONS + THIRD_PERSON_FRAUD)
def test_a_claim_named_described_or_defined_is_a_mention(guard: Guard, text: str) -> None:
    verdict = guard.check(text)
    assert verdict.action == "allow", [m.text for m in verdict.matches]


@pytest.mark.parametrize("text", STILL_CLAIMS)
def test_the_same_claims_made_still_block(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "block"


@pytest.fixture(scope="module")
def model() -> ClaimModel:
    return train_fake()


def _with_model(guard: Guard, model: ClaimModel) -> Guard:
    g = Guard(guard.pack, check_examples=False)
    g.attach_claim_layer(StubLayer(model))  # the model reads every clause as `none`, as the real one read 没问题
    return g


@pytest.mark.parametrize(
    "text",
    [
        "到期以后保本保息，绝对没问题。",
        "到期以后保本保息绝对没问题",
        "到期以後保本保息，冇問題嘅。",
        "到期以後保本保息，絕對沒問題。",
        "At maturity you get guaranteed returns, no problem.",
    ],
)
def test_an_affirmation_built_from_a_negator_keeps_the_block(guard: Guard, model: ClaimModel, text: str) -> None:
    assert guard.check(text).action == "block"  # the rules never read 没问题 as a negator
    verdict = _with_model(guard, model).check(text)
    assert verdict.action == "block", "the model's reading of 没问题 as a denial vetoed the rule's block"


def test_without_the_affirmation_the_veto_still_works(guard: Guard, model: ClaimModel) -> None:
    text = "到期以后保本保息，您再考虑考虑。"
    assert guard.check(text).action == "block"
    assert _with_model(guard, model).check(text).action == "allow"


def test_a_negated_claim_followed_by_no_problem_stays_allowed(guard: Guard, model: ClaimModel) -> None:
    for text in ("这个产品不保本不保息，这一点没问题吧？", "It is not risk-free, no problem."):
        assert _with_model(guard, model).check(text).action == "allow"


# investment-scam ad copy stated as fact: a return per day or hour, money multiplied, a fortune, no crash
SCAM_AD_RETURNS = [
    "Members earn 4% daily on every deposit for 25 days.",
    "Enjoy a fixed hourly return of 0.3% on your balance.",
    "Your daily profit will be 300 to 8000 dollars.",
    "Put in a thousand now and we will quadruple your money.",
    "Anyone can make a fortune with our copy-trading robot!",
    "Buy before Friday, because this time there will be no crash.",
    "加入会员以后每日收益稳定在2%。",
    "這個項目每天回報高達1.5%。",
    "这一轮行情肯定不会崩盘，放心进。",
]
SCAM_AD_RETURNS_NOT_MADE = [
    "If someone offers you 4% daily returns, it is a scam.",
    "Real funds have ups and downs, not a steady 1% a day.",
    "Overdue loans carry a late fee of 0.05% per day.",
    "Nobody can quadruple your money without risk.",
    "You will not make a fortune with a savings account.",
    "No one can promise there will be no crash.",
    "谁跟您说每日收益2%，那一定是骗局。",
    "貸款逾期每天收取0.05%的罰息。",
    "市场有涨有跌，谁也不能保证不会崩盘。",
    "系统升级后不会崩溃。",
]


@pytest.mark.parametrize("text", SCAM_AD_RETURNS)
def test_scam_ad_returns_stated_as_fact_block(guard: Guard, text: str) -> None:
    verdict = guard.check(text)
    assert verdict.action == "block" and {m.category for m in verdict.matches} == {"performance_prediction"}


@pytest.mark.parametrize("text", SCAM_AD_RETURNS_NOT_MADE)
def test_scam_ad_returns_negated_warned_about_or_charged_are_allowed(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow"
