"""The seventh round of the deterministic guard (issue #16): kinds of claims, not sentences.

Every sentence here was written for these tests (none is taken from the spent or dev sets), in Simplified
Chinese, Traditional Chinese and English, for both directions: the kinds the rules now catch (secrecy
demanded of the customer, "do as I say or you lose it", a request for the code after a long list, the card
or passbook sent by post, a PIN changed to a number the caller gives, "pays more than banks offer"), and
the statements they must now leave alone (sentences that describe a scam or condemn what they list, ask
whether a claim is true, weigh the risk behind it or say who wrongly believed it; a quoted term defined
after a comma; a disclosed principal-protection rate below 100%), plus protective talk near each pattern.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.compliance.guard import Guard

RULES = Path(__file__).resolve().parents[3] / "kb_docs" / "rules"

# (text, category the rules must report)
CLAIMS = [
    # secrecy demanded of the customer, and "do as I say or you lose it"
    ("办理期间不能向家人透露这件事。", "pressure"),
    ("這件事不能對任何人提起，包括你先生。", "pressure"),
    ("Don't tell your family what this is for.", "pressure"),
    ("Follow my instructions exactly, or you will lose your savings.", "pressure"),
    ("照我说的做，不然您的钱就拿不回来了。", "pressure"),
    # a request for the code after a long list; the card or passbook sent; a PIN set by the caller
    ("麻烦您提供一下身份证号码、手机号以及刚收到的验证码。", "credential_request"),
    ("需要您先寄出金融卡和存摺，我們幫您處理。", "credential_request"),
    ("請把密碼改成000000，方便我們核對。", "credential_request"),
    ("Please courier your debit card to our office and we will replace it.", "credential_request"),
    # a product measured against what banks pay
    ("Our fund pays you far more than banks offer.", "deposit_like"),
]

ALLOWED = [
    # a sentence that describes a scam, or condemns what it lists
    "Investment scammers usually promise guaranteed returns with no risk at all.",
    "Pyramid schemes tend to offer high returns with no risk to early members.",
    "诈骗团伙通常冒充客服，要求您把钱转到安全账户。",
    "保證獲利的投資方案，通常是騙局。",
    "稳赚不赔的好事，一律是骗人的。",
    "“零风险、高回报”的理财，多半是陷阱。",
    # the risk behind a claim; who wrongly believed it, heard it, or took it as the selling point
    "买之前要看清楚保证收益背后隐藏的风险。",
    "很多人誤以為是定存，而且穩賺不賠。",
    "有些客戶只聽到保本兩個字就簽了。",
    "投资人认为有保本，才会放心买。",
    "该产品以保本保息为诉求吸引客户，已被监管处罚。",
    # a question whether a claim is true; a quoted term defined after a comma; a disclosed rate below 100%
    "您是说这款产品保证收益，是这样吗？",
    "“保本”，指的是到期时本金全额返还。",
    "這檔結構型商品到期保本率為90%。",
    # protective talk near the new patterns (guards: allowed before and after)
    "密码不能向任何人透露，包括银行员工。",
    "请不要向任何人透露您的账号。",
    "我们会把新的银行卡邮寄给您。",
    "We will send your new card to your home address.",
    "Please don't tell anyone your PIN.",
    "A savings account pays less than a term deposit.",
]


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.from_path(RULES)


@pytest.mark.parametrize(("text", "category"), CLAIMS)
def test_claims_of_the_seventh_round_kinds_are_flagged(guard: Guard, text: str, category: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action == "block", verdict.to_dict()
    assert category in {m.category for m in verdict.matches}, verdict.to_dict()


@pytest.mark.parametrize("text", ALLOWED)
def test_scam_descriptions_questions_and_protective_talk_are_allowed(guard: Guard, text: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action == "allow", verdict.to_dict()


@pytest.mark.parametrize("text", [t for t, _ in CLAIMS[:5]])
def test_a_customer_saying_the_same_words_is_never_flagged(guard: Guard, text: str) -> None:
    assert guard.check(text, "customer").action == "allow"


def test_a_scam_word_without_a_describing_verb_does_not_make_a_mention(guard: Guard) -> None:
    """ "Scammers are after your savings, so move them to a safe account": the scammer is the pretext, not the
    subject of a description; and 被不法分子盗用 is the impersonation script itself."""
    assert guard.check("Scammers are after your savings, so move them to a safe account.", "agent").action == "block"
    assert guard.check("您的银行卡被不法分子盗用，请马上把钱转到安全账户。", "agent").action == "block"
    assert guard.check("这不是骗局，保证收益，您放心。", "agent").action == "block"


def test_the_suppressed_trace_names_a_described_scam(guard: Guard) -> None:
    _, suppressed = guard.trace("保证收益的理财，多半是骗局。")
    assert "mention" in {s.reason for s in suppressed}
