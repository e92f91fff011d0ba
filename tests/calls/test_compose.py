"""Extractive answers: traceable sentences, the customer's script, nothing padded."""

from __future__ import annotations

from fakes_calls import FakeRetriever

from assist.calls.compose import NO_ANSWER, ExtractiveComposer, split_sentences, to_traditional
from assist.text import to_simplified


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
