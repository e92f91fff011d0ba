"""The sixth round of the deterministic guard (issue #16): kinds of claims, not sentences.

Every sentence here was written for these tests (none is taken from the spent or dev sets), in Simplified
Chinese, Traditional Chinese (Hong Kong Cantonese and Taiwan usage) and English, for both directions:
the claims the rules now catch, and the allowed statements they must leave alone (negations, warnings that
name a claim as words, law text, true guarantees, and ordinary service talk near each new pattern).
"""

from __future__ import annotations

import pytest

from assist.compliance.guard import Guard

# (text, category the rules must report)
CLAIMS = [
    # deposits as the yardstick of safety or return
    ("收益比定期存款高多了，还跟存款一样安全。", "deposit_like"),
    ("这款理财的回报高于银行定存，您放心。", "deposit_like"),
    ("這檔保單的利率絕對比銀行定存划算。", "deposit_like"),
    ("與其放定存，不如把錢拿來買這檔基金。", "deposit_like"),
    ("這個計劃穩陣過銀行定期，息又高。", "deposit_like"),
    ("呢份保單高息過存定期，仲有保障。", "deposit_like"),
    ("It's as safe as a time deposit but pays far more.", "deposit_like"),
    ("The yield on this bond is much higher than a savings account.", "deposit_like"),
    # loan approval held back for a fee, and approval promised
    ("恭喜您，贷款已经批下来了，您先转3000元保证金过来我们就放款。", "loan_approval"),
    ("您的账户需要缴纳保证金才能解冻。", "loan_approval"),
    ("您的貸款已核准，只要先繳一筆手續費就能撥款。", "loan_approval"),
    ("你筆錢已經批出咗，要先過數畀手續費先可以出數。", "loan_approval"),
    ("我哋保證成功批出，你放心。", "loan_approval"),
    ("Your application is approved, so simply transfer the insurance charge and we release it.", "loan_approval"),
    ("Your loan is ready, just send the release fee and the funds go out today.", "loan_approval"),
    # pressure: false deadlines, scarcity, threats
    ("这个优惠限今日办理，过了就没有了。", "pressure"),
    ("這個方案只賣三天，再不買就來不及了。", "pressure"),
    ("你唔配合嘅話，我哋會將案件轉交司法程序。", "pressure"),
    ("这是秘密调查，您不能跟任何人提起。", "pressure"),
    ("The discount on this plan disappears in 20 minutes, so lock it in.", "pressure"),
    ("This price isn't going to be around much longer, so decide now.", "pressure"),
    ("Unless you transfer the amount tonight, a warrant for your arrest will be issued.", "pressure"),
    # a target return stated as a fact
    ("这只基金年化至少能到6%，您放心买。", "performance_prediction"),
    ("呢隻基金年回報起碼有8%，好穩陣。", "performance_prediction"),
    ("這檔商品的年化報酬率可以達到7%以上。", "performance_prediction"),
    ("You'll see at least 7% annual growth from this portfolio.", "performance_prediction"),
    ("Put the money here and it will make you 9% every year.", "performance_prediction"),
    # rankings and card secrets
    ("我们平台连续三年收益冠军。", "superlative"),
    ("We were voted number one by our clients.", "superlative"),
    ("請把卡片背面的三位數字念給我聽。", "credential_request"),
    ("When the six-digit code lands on your phone, say it back to me.", "credential_request"),
    ("为了核实身份，必须要提供网银账号和登录密码。", "credential_request"),
    # a loss said to come back for sure
    ("就算现在跌了，这只基金的净值一定会回来的。", "performance_prediction"),
    ("這檔股票放長一點一定會回本。", "performance_prediction"),
]

ALLOWED = [
    # negations, in lists and in Cantonese / Taiwan usage
    "这款理财不保本、不保息，收益也不确定。",
    "呢隻產品唔保本，亦唔保證回報。",
    "呢個計劃冇保證回報，你要諗清楚。",
    "這檔基金並非保本，過去績效不保證未來收益。",
    "我们放款前不收取任何费用，也不会让您先交保证金。",
    # law text listing the forbidden words
    "不得承诺保本、保收益、零风险，这是监管规定。",
    "监管要求销售时不得明示或暗示产品保本、无风险。",
    "Telling a client that a fund has guaranteed returns is a violation of our code of conduct.",
    # warnings and descriptions that name a claim as words
    "骗子常用“稳赚不赔”“保本高息”等字眼，请您提高警惕。",
    "有人跟你講「保證獲利」，一定係詐騙。",
    "凡是要您先交解冻金的，都是诈骗。",
    "不要相信以手续费、解冻费等名义要求转账的来电。",
    "Stay suspicious whenever a caller describes an investment as risk-free.",
    # true guarantees
    "这是定期存款，受存款保险保护，50万以内全额赔付。",
    "If an FDIC-insured bank fails, each depositor is covered up to the legal limit.",
    # rates that are contractual or historical, and deposits compared with deposits
    "三年期定期存款年利率是2.6%。",
    "七日年化收益率是1.9%，仅供参考。",
    "这款理财的业绩比较基准是年化3.1%。",
    "这只基金成立以来年化是5.2%，期间也有过亏损。",
    "Our savings account pays 2.1% a year.",
    "A term deposit pays more than a savings account.",
    "大额存单的利率比普通定期高一些。",
    "大额存单起存金额20万，利率比普通定期高一些。",
    "活期利息比定期低，您可以考虑定期。",
    # ordinary service talk near the new patterns
    "The verification code expires in 5 minutes.",
    "If you're in a hurry I can call you back later.",
    "Would you like a fixed deposit or a savings account?",
    "房贷需要先付首付款，剩下的由银行放款。",
    "您的贷款已经审批通过，我们不收取任何放款前费用。",
    "如果您今天方便，可以现在办理；不方便也没关系。",
    "請在月底前還款，逾期會產生利息。",
    "请不要把卡背面的三位数字告诉任何人。",
    "您的卡背面那三位数不用告诉我，我这边只是帮您挂失。",
    "Never read the code back to anyone who calls you.",
    "The code is printed on the back of the card, no need to read it to me.",
    "请问您想了解年化收益大概多少的产品？",
    "唔該晒，請問仲有咩可以幫到你？",
    "「保本」就是指到期時本金全額返還的意思，這款產品不是保本的。",
    "您的退款一定会回来的，请放心。",
    "经理一定会回来电话给您。",
    # scam descriptions in the bank's own documents: a reported instruction, a quoted term named as such
    'In this scam the victim is told to move the savings to a "safe account" at once.',
    "客户常被要求把资金转到所谓“安全账户”，这是诈骗。",
    "客户问到“这款理财有没有存款保险”时，请说明理财不是存款。",
]


@pytest.mark.parametrize(("text", "category"), CLAIMS)
def test_claims_of_the_sixth_round_kinds_are_flagged(guard: Guard, text: str, category: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action in ("block", "warn"), verdict.to_dict()
    assert category in {m.category for m in verdict.matches}, verdict.to_dict()


@pytest.mark.parametrize("text", ALLOWED)
def test_negations_mentions_law_text_and_service_talk_are_allowed(guard: Guard, text: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action == "allow", verdict.to_dict()


@pytest.mark.parametrize("text", [t for t, _ in CLAIMS[:8]])
def test_a_customer_saying_the_same_words_is_never_flagged(guard: Guard, text: str) -> None:
    assert guard.check(text, "customer").action == "allow"


def test_a_target_return_warns_rather_than_blocks(guard: Guard) -> None:
    """A rate can be a true, contractual figure: the officer decides, so the rule only warns."""
    verdict = guard.check("这只基金年化至少能到6%。", "agent")
    assert verdict.action == "warn"
    assert {m.rule_id for m in verdict.matches} == {"target_return"}


def test_a_quoted_claim_with_no_word_naming_it_is_still_made(guard: Guard) -> None:
    """Quotation marks alone do not make a mention: an agent can quote its own pitch."""
    assert guard.check('Our bond is "fully principal protected", I promise.', "agent").action == "block"
    assert guard.check("这款产品就是「保本」的，您放心。", "agent").action == "block"


def test_a_negator_inside_one_claim_does_not_negate_the_next(guard: Guard) -> None:
    """不会亏、稳赚: the 不 belongs to the first claim's own words; both are asserted."""
    verdict = guard.check("这个产品不会亏、稳赚的。", "agent")
    assert verdict.action == "block"
    assert any("稳赚" in m.text for m in verdict.matches), verdict.to_dict()


def test_a_list_item_after_an_unrelated_negation_is_still_a_claim(guard: Guard) -> None:
    """不收手续费、保本保息: the 、 ends the clause when the item before it is not a claim."""
    assert guard.check("我们不收手续费、保本保息。", "agent").action == "block"


def test_a_scam_instruction_said_to_the_customer_is_still_a_claim(guard: Guard) -> None:
    assert guard.check('Move the savings to a "safe account" today, I will guide you.', "agent").action == "block"
    assert guard.check("请您马上把钱转到安全账户。", "agent").action == "block"


def test_the_suppressed_trace_names_a_quoted_mention(guard: Guard) -> None:
    _, suppressed = guard.trace("有些销售会把“保本保息”挂在嘴边，这类说法都是误导。")
    assert "mention" in {s.reason for s in suppressed}
