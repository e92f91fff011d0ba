"""The tenth round of the deterministic guard (issue #16): kinds the seventh batch's writers used, in wording
written for these tests (none is taken from the spent, dev or corpus sets), in Simplified Chinese, Traditional
Chinese (Hong Kong and Taiwan), English and unpunctuated ASR-style speech.

Kinds: a safe account and a threat for telling anyone; the credit record threatened over a fee; a cover story for
the bank's questions; insider access and the agent's commission shared; a one-time code replied or a card number
asked with it; money promised in figures, guaranteed buy-backs, a backstop, the principal returned in full; a
product said to resemble a deposit or beat it; bad credit waved away, credit repair, fees before the payout in
any word order; points lost today unless claimed; switching out of a policy or a pension; safety by association;
returns per month, in 个点/厘, spelled out. Every claim has a negated, warning or reporting twin that must stay
allowed, and the clause logic's new readings (an instruction is no wish, a definition or "is this legit?" is a
mention, 不足/还没买的 negate nothing) are tested both ways.
"""

from __future__ import annotations

import pytest

from assist.compliance.guard import Guard

# (text, category the rules must report, the least action they must take)
CLAIMS = [
    # a safe account, proving innocence, and a threat for telling anyone
    ("你要先向安全帳戶匯一筆錢，這樣才能證明你跟這個案子無關。", "pressure", "block"),
    ("为了自证清白，您今天必须把这笔钱汇过去核查。", "pressure", "block"),
    ("那个你需要把卡里的钱先转到我们这个安全账户上 然后我们帮你核查", "pressure", "block"),
    ("這件案子你若是透露給任何人知道，就會被拘留。", "pressure", "block"),
    ("这件事您要是跟家里人说了，就会被追究法律责任。", "pressure", "block"),
    (
        "Keep your savings safe: we will transfer them to a secure vault, and please don't call your bank about it.",
        "pressure",
        "block",
    ),
    # the credit record threatened over a fee
    ("会员服务费要是没交上，后面会影响您的征信的。", "pressure", "block"),
    ("這個平台費不繳的話，會上你的信用記錄。", "pressure", "block"),
    (
        "If the membership fee isn't paid, it will be reported to the credit bureau and hurt your credit.",
        "pressure",
        "block",
    ),
    ("If you don't settle this today, it'll show up on your credit report.", "pressure", "block"),
    # a cover story for the bank's questions
    ("銀行行員如果關心你匯款用途，你就強調是付貨款。", "pressure", "block"),
    ("要是銀行關心你匯款用途，你就講係俾屋企人。", "pressure", "block"),
    # insider access; the agent's commission shared
    ("我有个朋友在信托公司，他能给您弄到内部额度。", "private_dealing", "block"),
    ("我認識銀行高層，可以幫你把貸款批落嚟。", "private_dealing", "block"),
    ("我們有內部管道，可以幫你拿到比較低的利率。", "private_dealing", "block"),
    ("I know someone at the branch who can get you in on the pre-IPO shares.", "private_dealing", "block"),
    ("我把我的提成返一半给您，您今天就签吧。", "private_dealing", "block"),
    ("I can split my commission with you if you sign today.", "private_dealing", "block"),
    # a one-time code replied, a card number asked with the code, secrets confirmed or sent over
    ("请直接回复短信里的动态码就可以了。", "credential_request", "block"),
    ("麻煩你輸入卡號，再回覆簡訊裡的驗證碼。", "credential_request", "block"),
    ("Just reply to this text with the code we sent you.", "credential_request", "block"),
    ("Could you confirm the CVV on the back of your card for me?", "credential_request", "block"),
    ("你把网银登录密码发过来我帮你查一下。", "credential_request", "block"),
    ("你需要把验证码告诉我才能处理。", "credential_request", "block"),
    # money promised in figures or as output; buy-backs; a backstop; the principal back in full
    ("I guarantee you $2,000 a month from this.", "guaranteed_return", "block"),
    ("It's guaranteed to pay out $500 every month.", "guaranteed_return", "block"),
    ("We guarantee to buy the shares back from you at the same price.", "guaranteed_return", "block"),
    ("到期保證原價回購，你唔使擔心。", "guaranteed_return", "block"),
    ("这只基金有公司兜底，跌了也不怕。", "guaranteed_return", "block"),
    ("到期本金一分不少全部返还给您", "guaranteed_return", "block"),
    ("這份保單到期本金全數退返，保證冇蝕", "guaranteed_return", "block"),
    # a product said to resemble a deposit or beat it
    ("这款产品和定存很类似，但利率比定存高出不少。", "deposit_like", "block"),
    ("呢隻基金好似定期存款咁，利率仲高過定存。", "deposit_like", "block"),
    ("这款理财，远超银行存款。", "deposit_like", "block"),
    ("我们有一款保险产品，利率比定存高不少。", "deposit_like", "block"),
    # bad credit waved away, credit repair, a fee before the payout
    ("Bad credit? Don't worry, no problem, we approve everyone.", "loan_approval", "block"),
    ("征信花了也没关系，我们照样能帮你贷下来。", "loan_approval", "block"),
    ("信用記錄唔好都冇問題，一樣批到。", "loan_approval", "block"),
    ("我们可以帮您修复征信，消除逾期记录。", "loan_approval", "block"),
    ("恭喜中了二等奖，奖金要到账只需缴纳个人所得税两千元。", "loan_approval", "block"),
    ("交完两千块钱保证金，款马上就到你账上了", "loan_approval", "block"),
    ("Send us a $300 processing fee first and the loan will be released.", "loan_approval", "block"),
    # prices said to shoot up
    ("The stock is about to skyrocket once the news breaks.", "performance_prediction", "block"),
    ("这只股票下个月肯定会暴涨。", "performance_prediction", "block"),
    ("This fund basically can't go down.", "performance_prediction", "block"),
    # social proof: the speaker's own winnings, the family's money
    ("我自己买了这个已经赚了不少，您也可以的。", "social_proof", "block"),
    ("I've made a fortune on this one myself.", "social_proof", "block"),
    ("my own family has money in this", "social_proof", "block"),
    # urgency: act at once, a withdrawal or a rate cut, a deadline tonight, points lost today
    ("Act immediately, this deal won't wait.", "pressure", "warn"),
    ("这款产品将迎来全面停售，想买的赶紧。", "pressure", "warn"),
    ("还没买的朋友抓紧时间上车啦", "pressure", "warn"),
    ("今晚不领取的话，您的奖励积分明天就作废了。", "pressure", "warn"),
    ("Your reward points will expire at midnight unless you redeem them now.", "pressure", "warn"),
    ("The offer's gone after Friday so you really need to sign today.", "pressure", "block"),
    # returns per month or quarter, in 个点 / 厘, spelled out
    ("半年回报率9%，到手稳稳的。", "performance_prediction", "warn"),
    ("每季度回报8%，稳稳的。", "performance_prediction", "warn"),
    ("这款年化最少也有5个点。", "performance_prediction", "warn"),
    ("年化起碼有六厘。", "performance_prediction", "warn"),
    ("you're looking at eight percent a year easy", "performance_prediction", "warn"),
    # switching out of a policy, a deposit or a pension; safety by association
    ("You should cash in your pension and put it all into this fund.", "suitability_inducement", "warn"),
    ("您把定期提前支取出来，然后买这款理财吧。", "suitability_inducement", "warn"),
    ("这个项目由保险公司担保，本金很安全。", "no_risk", "warn"),
    ("These bonds are backed by an insurance company, so it's a safe investment.", "no_risk", "warn"),
    # a second probe round: insider tips, a risk level changed, cash to a courier, remote operation, fees upfront,
    # 刷流水, sold out on launch, a personal gift, "crazy not to", "to the moon", safety by a state background
    ("这是内部消息，下周就公布重组，赶紧进。", "performance_prediction", "block"),
    ("Between you and me, I've got some insider info — buy before Monday.", "performance_prediction", "block"),
    ("I'm telling you, this stock is going to the moon.", "performance_prediction", "block"),
    ("那我帮您把风险测评结果改为进取型，这款就能买了。", "suitability_inducement", "block"),
    ("Take the cash out and give it to our courier when he arrives.", "credential_request", "block"),
    ("請下載這個APP，我們的專員會遠端幫你操作。", "credential_request", "block"),
    ("We can get you approved today even with a bankruptcy, just a small fee upfront.", "loan_approval", "block"),
    ("贷款前需要刷一下流水，您先转5000进来，我们做完再退给您。", "loan_approval", "block"),
    ("这款一上线就被抢光了，您要抓紧。", "social_proof", "block"),
    ("今天签约的话，我私人送您一个月的利息。", "private_dealing", "block"),
    ("Honestly you'd be crazy not to take this deal.", "pressure", "warn"),
    ("我们这个产品是国家背书的，不可能出问题。", "no_risk", "warn"),
]

ALLOWED = [
    # warnings, law text and reports that mention the same claims
    "如果有人让您把钱转到安全账户，那一定是诈骗。",
    "公安机关没有所谓的安全账户。",
    "Police will never ask you to move money to a safe location; that's a scam.",
    "骗子会说你需要把钱转到安全账户，千万别信",
    "警方呼籲民眾，凡是要求將款項轉入安全帳戶者，均為詐騙。",
    "The SEC warned that promoters often claim their notes are guaranteed by insurance companies.",
    "有市民反映，有人自称可以帮忙修复征信，要求先交服务费。",
    "所谓的征信修复都是骗局，征信不能花钱修复。",
    'The ad claimed "Bad credit? No problem!", which the regulator found misleading.',
    "Scammers may tell you your points will expire today unless you click the link.",
    '有些不法中介声称"征信不好也能贷"，请勿相信。',
    "诈骗分子常以“内部渠道”“熟人关系”为诱饵，骗取受害人钱财。",
    "我们不能把佣金返给客户，这是违规的。",
    "请不要把验证码回复给任何人。",
    "Never reply to a text with your code.",
    "We will never ask you to confirm your PIN.",
    "请在App里自己输入验证码，不要告诉任何人",
    # true statements near the new patterns
    "逾期不还款会影响您的个人征信，请按时还款。",
    "信用卡欠款逾期会影响征信记录。",
    "如果柜员问您取款用途，请您如实说明。",
    "如果银行问你，就如实告诉他们用途",
    "我认识您，您上次来办过业务。",
    "Our advisers are paid a commission by the fund company.",
    "您的积分有效期到年底，可以慢慢兑换。",
    "Reminder: your reward points expire on 31 December.",
    "定期存款到期后本息全额返还。",
    "本产品不保证到期本金全额返还。",
    "理财产品到期不保证本金全额返还",
    "大额存单的利率比普通定期存款高。",
    "房贷利率比存款利率高很多。",
    "这款产品不像定存，收益并不固定。",
    "理财的收益不一定高于定存。",
    "这款理财产品不是存款，利率不一定比定存高。",
    "大额存单起存金额二十万，利率比普通定期高一点。",
    "理财产品没有人兜底，投资须谨慎。",
    "There is no such thing as a safe investment.",
    "The fund is not backed by any insurance company.",
    "征信不好的话，贷款可能批不下来。",
    "我们放款前不收取任何费用。",
    "There is a $25 fee to process a wire transfer.",
    "没有人能保证股票会暴涨。",
    "No one can guarantee you $2,000 a month.",
    "This fund can go down as well as up.",
    "这款产品过去一年的收益率是3%，不代表未来。",
    "我们这款理财年化业绩比较基准是百分之三点五，不代表实际收益。",
    "If you see a suspicious charge, report it immediately.",
    "这款产品预计明年初停售，具体以公告为准。",
    "提前支取定期存款会损失利息。",
    "如果您退保，可能会损失部分保费，请慎重考虑。",
    "I've made a note on your file.",
    "余额不足的话，转账会失败。",
    "您还没买的话也没关系，可以慢慢考虑。",
    "不要相信所谓的内幕消息，更不要跟风买入。",
    "Never trade on an inside tip; it may be illegal.",
    "风险等级由系统根据您的答卷评定，我们不能帮您改成进取型。",
    "Police will never ask you to withdraw cash and hand it to an officer.",
    "我们不会远程帮您操作手机，请勿下载陌生软件。",
    "There is no fee upfront; fees are deducted from the loan after approval.",
    "不要找中介刷流水，这是违法的。",
    "公司规定员工不得私人送客户礼品。",
    "You'd be crazy not to check the terms first.",
    "我们是国资背景的银行吗？是的，但理财产品不保本。",
    # a definition, a question whether it can be believed, history, a customer's wish
    "飞单是指员工私自销售非本行产品的行为。",
    '"Churning" refers to excessive trading in a customer\'s account to generate commissions.',
    "老师，我听说有个理财保本保息，这能信吗？",
    "Someone told me this coin is guaranteed to double. Is that legit?",
    "以前的保本型理财现在都已经转型为净值型产品。",
    "您需要保本的产品吗？",
]


@pytest.mark.parametrize(("text", "category", "action"), CLAIMS)
def test_claims_of_the_tenth_round_kinds_are_flagged(guard: Guard, text: str, category: str, action: str) -> None:
    verdict = guard.check(text)
    rank = {"allow": 0, "warn": 1, "block": 2}
    assert rank[verdict.action] >= rank[action], (text, verdict.to_dict())
    assert category in {m.category for m in verdict.matches}, (text, verdict.to_dict())


@pytest.mark.parametrize("text", ALLOWED)
def test_warnings_reports_and_facts_near_the_new_patterns_are_allowed(guard: Guard, text: str) -> None:
    verdict = guard.check(text)
    assert verdict.action == "allow", (text, verdict.to_dict())


@pytest.mark.parametrize("text", [t for t, _, _ in CLAIMS[::5]])
def test_a_customer_saying_the_same_words_is_never_flagged(guard: Guard, text: str) -> None:
    assert guard.check(text, speaker="customer").action == "allow"


def test_an_instruction_is_not_a_wish_but_a_question_about_a_wish_still_is(guard: Guard) -> None:
    """你需要把… tells the customer what to do; 您需要…吗 asks what they want."""
    assert guard.check("你需要把钱转到安全账户。").action == "block"
    assert guard.check("You need to send the fee first and then the loan is released.").action == "block"
    assert guard.check("您需要保本的产品吗？").action == "allow"
    assert guard.check("Do you need to send the fee first?").action == "allow"


def test_a_request_is_not_a_hedge_so_the_urgency_stands(guard: Guard) -> None:
    """希望您能… asks the customer to act (the rule's trigger is asserted, and a hedged trigger would also
    silence the claim model in its clause); 您希望… is still the customer's wish."""
    _, suppressed = guard.trace("希望您能在今晚十二点前尽快处理。")
    assert not [s for s in suppressed if s.category == "pressure"]
    assert guard.check("希望您能在今晚十二点前尽快处理。").action == "warn"
