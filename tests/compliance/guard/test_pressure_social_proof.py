"""The default pack's pressure and social-proof rules (issue #16): three scripts, negation, mentions, speakers."""

from __future__ import annotations

import pytest

from assist.compliance.guard import Guard

PRESSURE = [
    "这款产品下个月就要停售了，错过就没有了。",
    "今天不签的话，明天这个利率就没了。",
    "您今天不处理的话，会影响您的征信。",
    "您如果不配合调查，名下的账户都会被冻结。",
    "名額有限，先到先得。",
    "這個優惠只剩最後兩個名額。",
    "你唔好同屋企人商量住啦。",
    "This is a limited time offer, you need to decide today.",
    "There are only three spots left, so lock it in now.",
    "Don't discuss this with your family yet.",
    "Pay the fee now, or you'll be arrested.",
]
SOCIAL_PROOF = [
    "我们行里的同事自己都买了这个产品。",
    "很多老客户都在买，已经有二十多个客户签了。",
    "上一期三天就卖光了。",
    "我哋分行啲同事自己都買咗。",
    "您隔壁的林太太上禮拜才買了，很多客戶都有買啦。",
    "Our own staff have put their money into this.",
    "Everyone at the club is buying it.",
    "The last tranche sold out in three days.",
]


@pytest.mark.parametrize("text", PRESSURE)
def test_pressure_blocks_in_each_script(guard: Guard, text: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action == "block", verdict.to_dict()
    assert "pressure" in {m.category for m in verdict.matches}


@pytest.mark.parametrize("text", SOCIAL_PROOF)
def test_social_proof_blocks_in_each_script(guard: Guard, text: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action == "block", verdict.to_dict()
    assert "social_proof" in {m.category for m in verdict.matches}


@pytest.mark.parametrize(
    "text",
    [
        "这不是限时优惠，您可以慢慢考虑。",
        "這並不是最後的機會，不用急。",
        "现在不办理的话也不会有影响。",
        "您今天不处理也不会影响征信。",
        "It's not a limited time offer, take your time.",
        "Not everyone is buying it, and that's fine.",
        "我们员工不能购买本行代销的这款产品。",
        "并不是大家都在买。",
    ],
)
def test_negated_pressure_and_social_proof_are_allowed(guard: Guard, text: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action == "allow", verdict.to_dict()


@pytest.mark.parametrize(
    "text",
    [
        "验证码不要告诉任何人，包括银行员工。",
        "Please don't tell anyone your PIN.",
        "请按时还款，否则将影响您的征信。",
        "I put the money back into your account this morning.",
        "Our staff have put a note on your account.",
        "您的父母也可以开立账户。",
        "很多客户都在问这个产品。",
    ],
)
def test_ordinary_service_talk_is_allowed(guard: Guard, text: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action == "allow", verdict.to_dict()


def test_hedged_or_reported_pressure_is_allowed(guard: Guard) -> None:
    assert guard.check("有人说名额有限，那是骗人的。").action == "allow"
    assert guard.check("Beware of anyone saying it's a limited time offer.").action == "allow"


def test_a_customer_saying_it_never_blocks(guard: Guard) -> None:
    for text in ("大家都在买，名额有限吧？", "My friend said everyone is buying it, only two spots left."):
        verdict = guard.check(text, "customer")
        assert verdict.action == "allow" and verdict.matches == ()


def test_each_match_names_its_layer_and_advice(guard: Guard) -> None:
    verdict = guard.check("名额有限，我们员工自己都买了。", "agent")
    cats = {m.category: m for m in verdict.matches}
    assert set(cats) == {"pressure", "social_proof"}
    assert all(m.layer in ("phrase", "regex") for m in verdict.matches)
    assert "慢慢考虑" in cats["pressure"].advice and "风险承受能力" in cats["social_proof"].advice
