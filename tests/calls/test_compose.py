"""Extractive answers: traceable sentences, the customer's script, nothing padded."""

from __future__ import annotations

import pytest

from assist.calls.compose import NO_ANSWER, ExtractiveComposer, split_sentences, to_traditional
from assist.calls.playbooks import Playbooks
from assist.errors import InvalidInputError
from assist.protocols import SearchResult
from assist.text import to_simplified
from tests.fakes import FakeRetriever


def test_each_sentence_comes_from_its_citation() -> None:
    results = FakeRetriever().retrieve("补卡费用 信用卡丢失", k=3)
    comp = ExtractiveComposer().run(query="补卡费用 信用卡丢失", results=results, language="zh-Hans")
    assert comp.source == "extractive" and comp.citations
    by_chunk = {r.chunk_id: r for r in results}
    for s in comp.sentences:
        cited = by_chunk[comp.citations[s["citation"] - 1]["chunk_id"]]
        assert to_simplified(s["text"]) in to_simplified(cited.text)
        assert f"{s['text']}[{s['citation']}]" in comp.answer


def test_traditional_customer_gets_traditional_text() -> None:
    results = FakeRetriever().retrieve("补卡费用", k=1)
    comp = ExtractiveComposer().run(query="補卡費用", results=results, language="zh-Hant")
    assert "補卡費用" in comp.answer


def test_nothing_relevant_says_so_without_citations() -> None:
    for lang, text in (("zh-Hans", NO_ANSWER["zh-Hans"]), ("zh-Hant", NO_ANSWER["zh-Hant"]), ("en", NO_ANSWER["en"])):
        comp = ExtractiveComposer().run(query="weather", results=[], language=lang)
        assert comp.answer == text and comp.citations == [] and comp.source == "none"


def test_markdown_is_stripped_from_sentences() -> None:
    assert split_sentences("## 费用\n- **补卡费** 20 元。\n| 卡种 | 年费 |\n|---|---|\n| 普卡 | 100 |") == [
        "补卡费 20 元。",
        "卡种 | 年费",
        "普卡 | 100",
    ]
    assert to_traditional("补卡费用为20元") == "補卡費用為20元"


def _passage(doc: str, text: str) -> SearchResult:
    return SearchResult(
        document_id=doc,
        title=doc,
        section="",
        version=1,
        chunk_id=doc,
        score=1.0,
        snippet=text,
        text=text,
        language="zh-Hant",
    )


HK = _passage("hk-card-loss", "新卡約 5 個工作天內寄出。補領卡費用：每張卡每年首次補領免費，其後每次 HK$50。")
MAINLAND = _passage("cn-card-loss", "补卡费：每张卡每个自然年度首次补卡免费，之后每次收取 ¥20。")


def test_synonyms_let_the_top_policy_answer_in_its_own_words(tmp_path) -> None:
    (tmp_path / "synonyms.yaml").write_text("synonyms:\n  - [补卡, 补领]\n  - [收费, 费用]\n", encoding="utf-8")
    playbooks = Playbooks(tmp_path)
    plain = ExtractiveComposer().run(query="補卡要收費嗎？", results=[HK, MAINLAND], language="zh-Hant")
    # the top policy states the fee asked for (HK$50): the fact's kind holds the answer to it without synonyms
    assert [c["document_id"] for c in plain.citations] == ["hk-card-loss"]
    comp = ExtractiveComposer(expand=playbooks.expand).run(
        query="補卡要收費嗎？", results=[HK, MAINLAND], language="zh-Hant"
    )
    assert [c["document_id"] for c in comp.citations] == ["hk-card-loss"]  # one policy, one answer
    assert "HK$50" in comp.answer and "¥" not in comp.answer


def test_other_documents_answer_when_the_top_one_has_nothing_on_the_question() -> None:
    unrelated = _passage("branch-hours", "分行營業時間為星期一至五上午九時至下午五時。")
    comp = ExtractiveComposer().run(query="补卡费", results=[unrelated, MAINLAND], language="zh-Hans")
    assert "cn-card-loss" in [c["document_id"] for c in comp.citations]


def test_bad_synonym_groups_are_refused(tmp_path) -> None:
    (tmp_path / "synonyms.yaml").write_text("synonyms:\n  - [补卡]\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="at least two"):
        Playbooks(tmp_path)
    (tmp_path / "synonyms.yaml").write_text("synonyms:\n  - [补卡, 信用卡补卡费用]\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="tokens"):
        Playbooks(tmp_path)


def _section(doc: str, section: str, text: str, language: str = "en") -> SearchResult:
    return SearchResult(
        document_id=doc,
        title=doc,
        section=section,
        version=1,
        chunk_id=f"{doc}/{section}",
        score=1.0,
        snippet=text,
        text=text,
        language=language,
    )


def test_a_pointer_to_another_procedure_does_not_lead_the_answer() -> None:
    steps = _section(
        "card-loss",
        "Reporting procedure",
        "1. Place a permanent block on the card.\n"
        "2. If there are unrecognised transactions on the card, raise a dispute "
        '(see "Disputed Card Transactions").',
    )
    comp = ExtractiveComposer(max_sentences=1).run(query="lost card", results=[steps], language="en")
    assert comp.answer.startswith("Place a permanent block")
    text = "在系统中执行正式挂失，卡片立即停用。\n如客户发现可疑交易，转入《信用卡争议交易处理规范》办理。"
    zh = _section("挂失", "挂失流程", text, "zh-Hans")
    comp = ExtractiveComposer(max_sentences=1).run(query="信用卡挂失", results=[zh], language="zh-Hans")
    assert comp.answer.startswith("在系统中执行正式挂失")


def test_a_documents_scope_line_gives_way_to_its_own_sections() -> None:
    preamble = _section("card-loss", "", "This guide applies to all personal credit cards issued by the bank.")
    section = _section("card-loss", "How to report", "Customers can report a lost card 24/7 on the hotline.")
    comp = ExtractiveComposer().run(query="lost credit card", results=[preamble, section], language="en")
    assert [c["section"] for c in comp.citations] == ["How to report"]
    assert "applies to" not in comp.answer
    # the opening's place goes to the next passage, even when only one passage is drawn from
    comp = ExtractiveComposer(max_passages=1).run(query="lost credit card", results=[preamble, section], language="en")
    assert [c["section"] for c in comp.citations] == ["How to report"]
    # a document with nothing but its opening still answers from it
    comp = ExtractiveComposer().run(query="personal credit cards", results=[preamble], language="en")
    assert "applies to" in comp.answer


def test_an_english_semicolon_keeps_its_clauses_together() -> None:
    text = "4. Register the dispute; give the customer the reference.\n挂失即时生效；补卡另行收费。"
    assert split_sentences(text) == [
        "Register the dispute; give the customer the reference.",
        "挂失即时生效；",
        "补卡另行收费。",
    ]


def test_a_sentence_that_announces_what_follows_is_kept_with_it() -> None:
    lead = "向客户介绍任何理财产品之前，坐席必须完整宣读："
    said, after = "理财非存款、产品有风险、投资须谨慎。", "宣读后确认。"
    zh = f"{lead}\n\n**{said}**\n\n{after}"
    assert split_sentences(zh) == [lead + said, after]
    en = "Customers can report a lost card 24/7:\n- Hotline 95388, option 1;\n- Mobile banking app."
    assert split_sentences(en)[0] == "Customers can report a lost card 24/7: Hotline 95388, option 1;"
    question, answer = "问：我买的保险能随时退吗？", "答：可以申请解除合同，犹豫期内全额退还保费。"
    assert split_sentences(f"{question}{answer}\n问：退保多久到账？") == [question + answer, "问：退保多久到账？"]
    assert split_sentences("How long does a complaint take?\nWithin 15 business days.") == [
        "How long does a complaint take? Within 15 business days."
    ]
    comp = ExtractiveComposer(max_sentences=1).run(
        query="理财产品 风险提示", results=[_section("wm", "必须宣读的风险提示", zh, "zh-Hans")], language="zh-Hant"
    )
    assert comp.answer.startswith("向客戶介紹任何理財產品之前，坐席必須完整宣讀：理財非存款")


def test_a_quotation_is_not_cut_at_its_own_full_stops() -> None:
    en = 'If a customer reads out a code, interrupt: "Please don\'t share that, including me. We never ask for it."'
    assert split_sentences(en) == [en]
    quoted = "客户念出验证码时，应立即打断：“请不要告诉任何人验证码，包括我。本行绝不会索要。”并记录在工单中。"
    assert split_sentences(quoted + "下一句。") == [quoted, "下一句。"]
    hant = "應立即打斷：「請不要告訴任何人驗證碼。本行絕不會索取。」"
    assert split_sentences(hant) == [hant]


def test_a_passage_whose_heading_names_the_question_answers_it() -> None:
    disclosure = _section("wm", "Mandatory risk disclosure", "Before presenting any product, read the disclosure.")
    ratings = _section("wm", "Product risk ratings R1 to R5", "R1 - Low risk: money-market instruments.")
    comp = ExtractiveComposer(max_sentences=1).run(
        query="What risk ratings do your products have?", results=[disclosure, ratings], language="en"
    )
    assert comp.answer.startswith("R1 - Low risk")
    zh = _section("理财", "产品风险等级（R1–R5）", "R1：低风险，货币市场工具。", "zh-Hans")
    lead = _section("理财", "必须宣读的风险提示", "介绍理财产品之前须宣读风险提示。", "zh-Hans")
    comp = ExtractiveComposer(max_sentences=1).run(query="风险等级有哪几种", results=[lead, zh], language="zh-Hant")
    assert comp.answer.startswith("R1：低風險")
