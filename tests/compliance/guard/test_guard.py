"""The guard's behaviour: each category in three scripts, scope, speakers, spans, verdicts, disclosures."""

from __future__ import annotations

import pytest

from assist.compliance.guard import Guard
from assist.compliance.guard.evaluate import evaluate_cases
from assist.errors import InvalidInputError

from .conftest import CASES, HOLDOUT

CATEGORY_CLAIMS = {
    "guaranteed_return": ["这款理财保本保息。", "這檔基金穩賺不賠。", "You'll get guaranteed returns on this."],
    "no_risk": ["这个产品零风险。", "這個產品沒有風險的。", "This annuity is completely risk-free."],
    "performance_prediction": ["这只基金下个月肯定涨。", "這支股票下週一定會漲。", "This fund will double your money."],
    "deposit_like": ["这款理财就相当于存款。", "這個產品跟定存一樣。", "Our bond fund is FDIC insured."],
    "superlative": ["收益全市场排第一。", "這是績效最好的基金。", "This is the best fund in the market."],
    "loan_approval": ["您的贷款保证批下来。", "您的條件絕對會過件。", "I guarantee you'll be approved."],
    "suitability_inducement": ["风险测评随便选就行。", "問卷就照我說的填。", "Just pick the most aggressive answers."],
    "credential_request": ["把验证码告诉我一下。", "您的網銀密碼是多少？", "Can you read me the code we texted you?"],
    "private_dealing": ["手续费我私下返点给您。", "錢匯到我的個人帳戶就好。", "Send it to my personal account."],
}


@pytest.mark.parametrize(("category", "text"), [(c, t) for c, texts in CATEGORY_CLAIMS.items() for t in texts])
def test_each_category_blocks_in_each_script(guard: Guard, category: str, text: str) -> None:
    verdict = guard.check(text, "agent")
    assert verdict.action == "block", text
    assert category in {m.category for m in verdict.matches}


@pytest.mark.parametrize(
    "text",
    [
        "本产品不保本，投资须谨慎。",
        "這不是零風險的產品。",
        "This product is not principal protected.",
        "There is no such thing as a risk-free investment.",
        "我们不能向您承诺保本保收益。",
        "我們無法保證收益。",
        "Nobody can guarantee you'll be approved.",
        "银行工作人员不会向您索要验证码。",
        "We never ask for your PIN.",
        "保本是不可能的。",
        "Guaranteed returns are a myth.",
    ],
)
def test_negation_in_the_claims_clause_cancels_it(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow", guard.check(text).to_dict()


@pytest.mark.parametrize(
    "text",
    [
        "这只基金有可能翻倍。",
        "這檔基金或許有機會翻倍。",
        "Maybe it'll double, maybe not.",
        "It could double, or it might not.",
    ],
)
def test_hedges_cancel(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow"


def test_negators_inside_the_phrase_do_not_negate_it(guard: Guard) -> None:
    # 稳赚不赔 and 不会亏 contain 不; that 不 is part of the claim
    assert guard.check("这个基金稳赚不赔。").action == "block"
    assert guard.check("放心，这款不会亏的。").action == "block"
    assert guard.check("You can't lose with this fund.").action == "block"


@pytest.mark.parametrize(
    "text",
    [
        "虽然不保本，但稳赚不赔。",
        "雖然不保本，但是穩賺不賠。",
        "虽然不保本但保息",  # no comma: 但 alone ends the clause
        "It's not FDIC insured, but it's just as safe as a bank deposit.",
        "It isn't principal protected but it is risk-free.",
        "Although it's not a deposit, it's risk-free.",
    ],
)
def test_contrast_starts_a_new_clause(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "block"


@pytest.mark.parametrize(
    "text",
    [
        "我们不是不保本。",
        "這檔基金不可能不賺錢。",
        "这只基金不会不涨的。",
        "You can't not make money with this fund.",
        "It's not that it isn't risk-free.",
    ],
)
def test_double_negation_is_an_assertion(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "block"


def test_negation_does_not_cross_clauses(guard: Guard) -> None:
    assert guard.check("这个不是存款，保本保息。").action == "block"
    assert guard.check("This isn't a deposit and it isn't covered by FDIC insurance.").action == "allow"


@pytest.mark.parametrize(
    "text",
    [
        "我们的保底归集服务可以自动归集资金。",
        "为了确保本人操作，请您先完成人脸识别。",
        "無風險利率一般以公債殖利率為參考。",
        "信用卡本月消费积分翻倍。",
        "您在我行的定期存款受存款保险保护。",
        "This is a guaranteed issue life policy.",
        "Past performance is no guarantee of future returns.",
        "As co-signer you provide a personal guarantee on the loan.",
        "Your savings account is FDIC insured up to $250,000 per depositor.",
        "We use the risk-free rate to compute the Sharpe ratio.",
    ],
)
def test_terms_of_art_are_allowed(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow", guard.check(text).to_dict()


@pytest.mark.parametrize(
    "text",
    [
        "你们这个理财保本吗？",
        "這個產品保本嗎？會不會虧錢？",
        "Is this fund guaranteed? Is it risk-free?",
        "We offer guaranteed returns with zero risk.",
        "验证码是多少来着，我看一下手机。",
    ],
)
def test_a_customer_never_gets_a_block_or_warn(guard: Guard, text: str) -> None:
    verdict = guard.check(text, "customer")
    assert verdict.action == "allow" and verdict.matches == ()


def test_the_same_words_from_the_agent_suggestion_or_document_block(guard: Guard) -> None:
    for speaker in ("agent", "suggestion", "document"):
        assert guard.check("We offer guaranteed returns with zero risk.", speaker).action == "block"
        assert guard.check("这款产品保本保息。", speaker).action == "block"


def test_agent_asking_about_the_customers_wishes_is_not_a_claim(guard: Guard) -> None:
    assert guard.check("您是想要保本的产品吗？").action == "allow"
    assert guard.check("Are you looking for something principal protected?").action == "allow"
    # ...but a claim after the question still is one
    assert guard.check("您是想要保本的产品吗？这款就是保本的。").action == "block"


def test_unknown_speaker_is_rejected(guard: Guard) -> None:
    with pytest.raises(InvalidInputError, match="unknown speaker 'boss'"):
        guard.check("hi", "boss")


def test_spans_point_into_the_original_text(guard: Guard) -> None:
    text = "您好！這檔是「保」 「本」的，年化百分之百安全。"
    verdict = guard.check(text)
    assert verdict.action == "block"
    for m in verdict.matches:
        assert text[m.start : m.end] == m.text
    # 年化百分之百 is a target return stated as fact (the sixth round's target_return rule)
    assert {m.text for m in verdict.matches} == {"保」 「本", "年化百分之百", "百分之百安全"}


def test_verdict_shape_and_advice(guard: Guard) -> None:
    verdict = guard.check("这个产品零风险，收益最高。")
    d = verdict.to_dict()
    assert d["action"] == "block"
    assert set(d["matches"][0]) >= {"rule_id", "category", "severity", "start", "end", "text"}
    block_advice = next(m.advice for m in verdict.matches if m.severity == "block")
    assert d["advice"] == block_advice and "风险" in d["advice"]
    assert {m["severity"] for m in d["matches"]} == {"block", "warn"}


def test_warn_only_verdict(guard: Guard) -> None:
    verdict = guard.check("这一款的最高收益是4%。")
    assert verdict.action == "warn" and verdict.advice


def test_neutral_service_talk_is_allowed(guard: Guard) -> None:
    for text in ["您好，请问有什么可以帮您？", "您的卡片已經停用，新卡會寄出。", "I've frozen your card.", ""]:
        assert guard.check(text).action == "allow"


def test_find_disclosures_parts_and_whole(guard: Guard) -> None:
    whole = guard.find_disclosures("理财非存款，产品有风险，投资须谨慎。")
    assert "wealth_risk_disclosure" in whole
    assert {
        "wealth_risk_disclosure.not_deposit",
        "wealth_risk_disclosure.product_risk",
        "wealth_risk_disclosure.invest_caution",
    } <= set(whole)
    # Traditional and English phrasings count too
    assert "wealth_risk_disclosure.not_deposit" in guard.find_disclosures("理財非存款。")
    assert "wealth_risk_disclosure.invest_caution" in guard.find_disclosures("Please invest with caution.")


def test_disclosures_across_turns(guard: Guard) -> None:
    said: list[str] = []
    for turn in ["首先提醒您，理财非存款。", "產品有風險。", "投资须谨慎，您考虑一下。"]:
        said.extend(guard.find_disclosures(turn))
        if turn.startswith("首先"):
            assert guard.completed_disclosures(said) == []
    assert "wealth_risk_disclosure" in guard.completed_disclosures(said)


def test_a_negated_disclosure_part_does_not_count(guard: Guard) -> None:
    assert "wealth_risk_disclosure.product_risk" not in guard.find_disclosures("这个产品没有风险。")


def test_disclosures_for_tags_and_categories(guard: Guard) -> None:
    assert "wealth_risk_disclosure" in {d.id for d in guard.disclosures_for(tags=["wealth"])}
    assert "insurance_cooling_off" in {d.id for d in guard.disclosures_for(tags=["insurance"])}
    assert guard.disclosures_for(tags=["cards"]) == []


def test_labelled_set_meets_targets(guard: Guard) -> None:
    report = evaluate_cases(CASES, guard)
    assert report["n"] >= 150
    assert report["recall"] >= 0.97, report["misses"]
    assert report["false_positive_rate"] <= 0.03, report["misses"]
    assert set(report["by_lang"]) == {"zh-Hans", "zh-Hant", "en"}


def test_held_out_set_meets_targets(guard: Guard) -> None:
    report = evaluate_cases(HOLDOUT, guard)
    assert report["recall"] >= 0.9 and report["false_positive_rate"] <= 0.05, report["misses"]


def test_a_thousand_extra_phrases_still_match(guard: Guard) -> None:
    extra = guard.pack.rules[0].to_dict()
    extra.update(
        id="generated",
        phrases=[f"测试短语{i}号" for i in range(1000)],
        regexes=[],
        examples={"positive": [], "negative": []},
    )
    big = Guard.from_rules([r.to_dict() for r in guard.rules] + [extra])
    assert big.check("我们有测试短语537号").matches[0].rule_id == "generated"
    assert big.check("这款产品保本。").action == "block"


def test_langchain_runnable_raises_or_returns_the_verdict(guard: Guard) -> None:
    from langchain_core.messages import AIMessage

    from assist.compliance.guard.langchain import GuardBlockedError, guard_runnable

    passthrough = guard_runnable(guard)
    assert passthrough.invoke("您好，请问有什么可以帮您？") == "您好，请问有什么可以帮您？"
    with pytest.raises(GuardBlockedError, match="guaranteed_return") as err:
        passthrough.invoke(AIMessage(content="这款产品保本保息。"))
    assert err.value.verdict.action == "block"
    verdict = guard_runnable(guard, mode="verdict").invoke({"text": "你们保本吗", "speaker": "customer"})
    assert verdict.action == "allow"


def test_semantic_layer_may_warn_but_never_block() -> None:
    import numpy as np

    from ingest.embedders import HashEmbedder

    from .conftest import RULES

    g = Guard.from_path(RULES)
    paraphrase = "Honestly your money in this fund just keeps growing every single year"
    assert g.check(paraphrase).action == "allow"

    class _Echo:
        """Maps anything about money that keeps growing onto a positive example's vector."""

        def __init__(self) -> None:
            self.inner = HashEmbedder(64)

        def embed_documents(self, texts: list[str]) -> np.ndarray:
            return self.inner.embed_documents(
                ["This fund offers guaranteed returns." if "keeps growing" in t else t for t in texts]
            )

    g.enable_semantic(_Echo(), threshold=0.95)
    verdict = g.check(paraphrase)
    assert verdict.action == "warn"
    assert verdict.matches[0].layer == "semantic" and verdict.matches[0].rule_id == "guaranteed_return"
    # a negated clause is left alone, and blocks stay the deterministic layers' job
    assert g.check("This is not a fund where your money keeps growing every year").action == "allow"
    assert g.check("这款产品保本保息。").action == "block"
    with pytest.raises(ValueError, match="threshold"):
        g.enable_semantic(_Echo(), threshold=1.5)


@pytest.mark.parametrize(
    "doc",
    [
        "## 绝对禁止索取的信息\n\n- 完整卡号（只可核对后四位）；\n- 短信验证码。\n",
        "本行客服坐席**绝不会**：\n- 索要客户的短信验证码、动态密码；\n- 要求客户转账到个人账户。\n",
        "We will never ask you for:\n\n- The **full card number** (only the last four digits)\n- Your PIN\n",
    ],
)
def test_a_negated_lead_in_covers_its_list(guard: Guard, doc: str) -> None:
    assert guard.check(doc, "document").action == "allow", guard.check(doc, "document").to_dict()


@pytest.mark.parametrize(
    "text",
    [
        "海港银行工作人员（含客服热线 95388 坐席）绝不会：索要客户的短信验证码、动态密码；",
        "本行員工絕不會：索取客戶的驗證碼",
        "Harbor Bank staff will never: ask for your one-time passcode.",
    ],
)
def test_a_negated_lead_in_covers_what_its_colon_introduces_on_the_same_line(guard: Guard, text: str) -> None:
    # an answer sentence keeps a lead-in and its first item together on one line
    assert guard.check(text, "suggestion").action == "allow", guard.check(text, "suggestion").to_dict()


@pytest.mark.parametrize("text", ["没有风险：保本保收益", "不用担心：这个产品保本保收益", "请放心：把验证码告诉我"])
def test_a_colon_after_words_that_are_not_a_negation_still_blocks(guard: Guard, text: str) -> None:
    assert guard.check(text, "agent").action == "block"


def test_a_plain_list_of_claims_still_blocks(guard: Guard) -> None:
    doc = "## 主打卖点\n\n- 本产品保本保收益；\n- 和存款一样安全。\n"
    verdict = guard.check(doc, "document")
    assert verdict.action == "block"
    assert {m.category for m in verdict.matches} == {"guaranteed_return", "deposit_like"}


def test_knowledge_base_wording_about_real_deposits_and_unless(guard: Guard) -> None:
    assert guard.check("坐席口径：存款受存款保险保障，每位存款人在本行最高50万元。", "document").action == "allow"
    assert guard.check("理财产品均不保本，除非产品说明书明确标注为“保本”类型。", "document").action == "allow"


def test_real_deposits_may_be_called_principal_guaranteed(guard: Guard) -> None:
    assert guard.check("定期存款是保本保息的，理财产品不是。").action == "allow"
    assert guard.check("This CD is FDIC insured.").action == "allow"
    # comparing a wealth product with a deposit is still blocked
    assert guard.check("这款理财和定期存款一样保本保息。").action == "block"


@pytest.mark.parametrize(
    "text",
    [
        "放心，亏了算我的。",
        "If it loses money, I'll pay you back myself.",
        "你买了肯定不吃亏。",
        "您可以放心，本金不会有任何损失。",
        "It's as good as guaranteed.",
    ],
)
def test_personal_and_indirect_guarantees_block(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "block"


def test_a_loss_free_history_warns(guard: Guard) -> None:
    verdict = guard.check("这款基金历史上从来没有亏过。")
    assert verdict.action == "warn" and verdict.matches[0].rule_id == "no_loss_history"


def test_an_agent_yes_no_question_about_the_product_is_judged_like_a_statement(guard: Guard) -> None:
    # documented choice: only questions about the customer's wishes or words are exempt
    assert guard.check("这款产品保本吗？").action == "block"
    assert guard.check("您刚才问这款产品是不是保本的，它不保本。").action == "allow"


def test_second_held_out_set_meets_targets(guard: Guard) -> None:
    from .conftest import ROOT

    report = evaluate_cases(ROOT / "tests" / "data" / "guard_cases_holdout2.jsonl", guard)
    assert report["recall"] >= 0.97 and report["false_positive_rate"] <= 0.03, report["misses"]


def test_two_regex_rules_matching_at_the_same_place_both_fire() -> None:
    base = {"category": "c", "severity": "block", "languages": ["en"], "advice": "a", "source": "s"}
    guard = Guard.from_rules(
        [
            {**base, "id": "r_long", "regexes": [r"\bsure (?:thing|bet) forever\b"]},
            {**base, "id": "r_short", "regexes": [r"\bsure (?:thing|bet)\b"]},
        ]
    )
    assert {m.rule_id for m in guard.check("it is a sure thing forever").matches} == {"r_long", "r_short"}


@pytest.mark.parametrize(
    "text",
    ["这个产品不保本不保息的。", "就是说这个产品不保本不保息的 您一定要清楚", "這個產品不保本不保息。"],
)
def test_a_list_that_repeats_its_negator_negates_every_item(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow", guard.check(text).to_dict()


def test_a_list_under_one_negator_and_an_asserted_item_after_it(guard: Guard) -> None:
    assert guard.check("我们不能向您承诺保本保收益。").action == "allow"
    assert guard.check("这个产品保本保息。").action == "block"
    assert guard.check("不保本，保息。").action == "block"  # the negation does not cross the comma
    assert guard.check("不保本不保息，但稳赚不赔。").action == "block"


@pytest.mark.parametrize(
    "text",
    [
        "有人跟您说“三个月翻倍”“稳拿20%”，那肯定是荐股诈骗。",
        "如果有人向您索要验证码，请直接挂断。",
        "If anyone promises you guaranteed returns, it is a scam.",
        "Anyone who tells you an investment is risk-free is not being honest.",
    ],
)
def test_reported_claims_in_warnings_are_mentions(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow", guard.check(text).to_dict()


def test_the_agents_own_lead_in_is_not_reported_speech(guard: Guard) -> None:
    assert guard.check("我跟您说，这个稳赚不赔。").action == "block"
