"""The eighth round of the deterministic guard (issue #16): kinds of claims, not sentences.

Every sentence here was written for these tests (none is taken from the spent, dev or corpus sets), in
Simplified Chinese, Traditional Chinese (Hong Kong and Taiwan) and English, for both directions: the kinds the
rules now catch (the credit record threatened unless something is cancelled, an authority's action or a crime
pinned on the customer, a cover story dictated for the bank, secrecy toward family or bank, low risk promised
with high return, a premium to be taken as savings, control of the phone, screen or ATM, money moved to a
designated account, a fee before the loan is released, a floor under the return, money already paid lost unless
more is paid, a score to be raised, nothing better anywhere, no-effort income, soft urgency), and the statements
they must leave alone (repayment reminders, honest answers to the bank, the risk-return trade-off, protective
talk, reported scam speech, a sentence called a scam by the next one, a reported case's victim).
"""

from __future__ import annotations

import pytest

from assist.compliance.guard import Guard

# (text, category the rules must report, the action the rules must take)
CLAIMS = [
    # the credit record threatened unless the customer cancels or closes something
    ("您这个账户必须今天注销，否则会记入您的征信。", "pressure", "block"),
    ("你個學生貸款賬戶要關閉,不然會影響你嘅信用記錄。", "pressure", "block"),
    ("Please deactivate the trial membership today, otherwise it will damage your credit rating.", "pressure", "block"),
    ("这个白条账户不用的话要注销，不然会影响征信。", "pressure", "block"),
    # an authority's action, or a crime, pinned on the customer
    ("检察院已经对你提起公诉了。", "pressure", "block"),
    ("Customs says a warrant for your arrest will be issued tonight.", "pressure", "block"),
    ("A criminal case has been filed against you with the tax office.", "pressure", "block"),
    ("您名下的账户涉嫌一起贩毒案件。", "pressure", "block"),
    ("Your bank account has been linked to a drug trafficking investigation.", "pressure", "block"),
    # a cover story dictated for the bank; secrecy toward the bank or the family
    ("柜员要是问您取钱做什么，您就说是给孩子交学费。", "pressure", "block"),
    ("如果行員問起,你就講係買樓首期。", "pressure", "block"),
    ("If the teller asks why, just tell them it's for a new car.", "pressure", "block"),
    ("这笔款项的用途请您对银行保密。", "pressure", "block"),
    ("Let's keep this call between the two of us.", "pressure", "block"),
    # a freeze threatened unless the customer pays now; money already paid lost unless more is paid
    ("今日唔過數，你張卡聽日就會被凍結。", "pressure", "block"),
    ("If you hang up now, your cards will be blocked.", "pressure", "block"),
    ("您不补缴这笔税费，前面已经交的保证金就全部作废。", "pressure", "block"),
    ("If you don't pay the release fee, you'll lose everything you've already paid.", "pressure", "block"),
    # low risk promised together with high return
    ("这只基金风险不大，回报可观。", "no_risk", "block"),
    ("呢個計劃回報高，風險又細。", "no_risk", "block"),
    ("You get strong returns and almost no risk with this bond.", "no_risk", "block"),
    # a premium or a product to be taken as savings; a deposit beaten or matched
    ("这份年金险您就当存钱，到期连本带息拿回。", "deposit_like", "block"),
    ("保費你就當係強制儲蓄。", "deposit_like", "block"),
    ("没出险的话，就当在银行零存整取。", "deposit_like", "block"),
    ("Just think of the premiums as your savings account.", "deposit_like", "block"),
    ("這張保單跟定存冇分別。", "deposit_like", "block"),
    ("Honestly, this bond fund beats a term deposit every time.", "deposit_like", "block"),
    # control of the phone, the screen or the ATM; money moved to a designated account; digits described
    ("你先把手机递给我，我来帮你设置。", "credential_request", "block"),
    ("麻煩您打開畫面分享，我們一步步教您。", "credential_request", "block"),
    ("Please turn on screen sharing so I can walk you through it.", "credential_request", "block"),
    ("请到最近的自动取款机，照我们的提示一步步操作。", "credential_request", "block"),
    ("把户口里的钱全部提出来，存到我们指定的户口。", "credential_request", "block"),
    ("It is safer to transfer all your savings to the account we set up for you.", "credential_request", "block"),
    ("请把短信里那六位数字报给我。", "credential_request", "block"),
    ("What's the password you set for online banking?", "credential_request", "block"),
    # a fee before the loan is released; approval all but guaranteed
    ("你筆貸款審批通過咗，只要先付兩千蚊手續費。", "loan_approval", "block"),
    ("There is a $150 insurance charge before we can release your loan.", "loan_approval", "block"),
    ("Approval is practically guaranteed for someone like you.", "loan_approval", "block"),
    # a score to be raised so the product is allowed
    ("你嘅風險評級太保守,要調高啲先買得到。", "suitability_inducement", "block"),
    ("Your risk score came out too low, so let's change a few answers.", "suitability_inducement", "block"),
    # guarantees and targets in Cantonese and plain English; a floor under the return
    ("放心，呢筆錢保證唔會蝕本。", "guaranteed_return", "block"),
    ("呢張保單每年有6厘息。", "performance_prediction", "warn"),
    ("You'll be earning over 9% a year with this.", "performance_prediction", "warn"),
    ("这款产品年化收益不会低于5%。", "performance_prediction", "warn"),
    ("The yield will never fall below 6% a year.", "performance_prediction", "warn"),
    # no-effort income
    ("买了之后什么都不用管，每月就能收钱。", "performance_prediction", "warn"),
    ("Honestly, this pays you cash while you sleep.", "performance_prediction", "warn"),
    # rankings, nothing better anywhere, friends and clients as proof
    ("這檔基金是全台最熱門的。", "superlative", "block"),
    ("It's the best-selling plan in the market.", "superlative", "block"),
    ("市面上找不到比这款更划算的保险了。", "superlative", "warn"),
    ("You won't get a higher yield anywhere in town.", "superlative", "warn"),
    ("我好多朋友都买了这款保险。", "social_proof", "block"),
    ("Most of our clients have already switched to this plan.", "social_proof", "block"),
    # urgency without a stated deadline (warn)
    ("这个机会千载难逢，您要把握。", "pressure", "warn"),
    ("Prices go up next month, so you should buy now.", "pressure", "warn"),
    ("呢個優惠只做到今晚。", "pressure", "warn"),
]

ALLOWED = [
    # repayment reminders and a promotion's end date are facts
    "请按时还款，逾期会影响您的征信。",
    "您可以随时注销这张卡，注销不会影响征信。",
    "If you don't pay your card bill, it will be reported to the credit bureau.",
    "優惠活動截止到本月底。",
    "Take your time; the rate is the same next month.",
    # honest answers to the bank; protective talk near the new patterns
    "柜员问您用途时，请如实回答。",
    "If the bank asks what the money is for, tell the truth.",
    "请不要把手机交给陌生人。",
    "我们绝不会要求您开启屏幕共享。",
    "Never share your screen with someone who calls you.",
    "退款会转到您指定的账户。",
    "您可以去附近的ATM查询余额。",
    "保险不是存款，不能当存款看待。",
    # the risk-return trade-off; an honest score; a retest when things change
    "低风险的产品收益通常也比较低。",
    "High returns usually come with high risk.",
    "天下没有高收益低风险的投资。",
    "您的风险测评结果是保守型，可以选择低风险产品。",
    "如果情况有变化，您可以重新做一次风险测评。",
    # reported scam speech, a sentence called a scam by the next one, a reported case's victim
    "They will tell you the returns are guaranteed and you must act now.",
    "A caller asks you to tell him your PIN. That is always fraud.",
    "对方让您把验证码告诉他。这就是诈骗。",
    "報道指，騙徒向受害人謊稱其銀行卡涉及販毒案件。",
    "公安机关提醒：自称警察说您涉嫌洗钱的来电，一律是诈骗。",
    "The promise of guaranteed income is what draws people in.",
    # a refusal before a negation, misconduct named as such, a secret the agent says it does not need
    "不行的 不能转到我个人卡上 要转对公账户",
    "要是有人叫您故意选激进型，请直接告诉我们。",
    "我们现在严查私下返点。",
    "完整卡号我们不需要，后四位就够了。",
    "Before I check anything, may I have your name?",
]


@pytest.mark.parametrize(("text", "category", "action"), CLAIMS)
def test_claims_of_the_eighth_round_kinds_are_flagged(guard: Guard, text: str, category: str, action: str) -> None:
    verdict = guard.check(text)
    assert verdict.action == action, (text, verdict.to_dict())
    assert category in {m.category for m in verdict.matches}, (text, verdict.to_dict())


@pytest.mark.parametrize("text", ALLOWED)
def test_facts_protective_talk_and_reported_scams_are_allowed(guard: Guard, text: str) -> None:
    verdict = guard.check(text)
    assert verdict.action == "allow", (text, verdict.to_dict())


@pytest.mark.parametrize("text", [t for t, _, _ in CLAIMS[::6]])
def test_a_customer_saying_the_same_words_is_never_flagged(guard: Guard, text: str) -> None:
    assert guard.check(text, speaker="customer").action == "allow"


def test_a_condition_is_not_a_negation_but_a_real_negation_still_is(guard: Guard) -> None:
    """不用的话 / 没出险 open a condition; the claim after them stands. A negator on the claim itself still
    takes it back."""
    assert guard.check("没出险的话，就当在银行零存整取。").action == "block"
    assert guard.check("这份保险不能就当存钱，它不是存款。").action == "allow"


def test_the_suppressed_trace_names_reported_scam_speech_as_a_mention(guard: Guard) -> None:
    _, suppressed = guard.trace("They will tell you the returns are guaranteed.")
    assert [s.reason for s in suppressed if s.category == "guaranteed_return"] == ["mention"]
