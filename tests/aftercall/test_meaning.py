"""Reading a call by meaning (issue #19): the template a call needs, chosen from its need turns' vectors and
each template's examples, with the keyword rules as evidence; the live engine's vectors reused through a
bounded cache. A fake encoder (signed hashing of character n-grams) stands in for e5."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assist.aftercall.choice import TemplateChooser
from assist.aftercall.meaning import CallMeaning, ExampleGroups, VectorCache, closest
from assist.aftercall.templates import TemplateSet, TicketTemplate, load_templates
from assist.errors import TemplateError
from tests.fakes import fake_embedder

ROOT = Path(__file__).resolve().parents[2]


def _encoder() -> VectorCache:
    return VectorCache(fake_embedder(512).embed_query)


def _template(tid: str, priority: int, topics: list[str], examples: list[str]) -> TicketTemplate:
    return TicketTemplate.model_validate(
        {
            "id": tid,
            "label": {"zh-Hans": tid, "zh-Hant": tid, "en": tid},
            "priority": priority,
            "calls_for": {"topics": topics} if topics else {"phrases": ["never said in these tests"]},
            "examples": examples,
            "fields": [{"name": "description", "type": "text", "label": {"zh-Hans": "d", "zh-Hant": "d", "en": "d"}}],
        }
    )


def _templates() -> TemplateSet:
    return TemplateSet(
        {
            "fraud_x": _template("fraud_x", 80, ["fraud"], ["a scammer called pretending to be the bank"]),
            "dispute_x": _template("dispute_x", 70, ["card_dispute"], ["I was charged twice for the same dinner"]),
            "change_x": _template("change_x", 40, [], ["please change the email address on my account"]),
        },
        no_ticket=["what is the interest rate on a fixed deposit"],
    )


def _chooser() -> TemplateChooser:
    return TemplateChooser(_templates(), CallMeaning(vectors=_encoder()))


def test_the_closest_template_beats_a_higher_priority_one_the_rules_also_call_for() -> None:
    # both called for by the rules (a fraud topic was read by mistake): the rules alone give fraud (priority)
    turns = [(2, "hi, I was charged twice for the same dinner last night")]
    rules_only = TemplateChooser(_templates()).choose(
        topics={"fraud", "card_dispute"}, steps=set(), tags=set(), customer=turns
    )
    assert rules_only.template is not None and rules_only.template.id == "fraud_x"
    choice = _chooser().choose(topics={"fraud", "card_dispute"}, steps=set(), tags=set(), customer=turns)
    assert choice.template is not None and choice.template.id == "dispute_x"
    assert choice.by == "meaning" and choice.turns == (2,)


def test_a_template_no_rule_calls_for_is_offered_by_meaning_alone() -> None:
    turns = [(2, "hello, please change the email address on my account, the old one is dead")]
    assert TemplateChooser(_templates()).choose(topics=set(), steps=set(), tags=set(), customer=turns).template is None
    choice = _chooser().choose(topics=set(), steps=set(), tags=set(), customer=turns)
    assert choice.template is not None and choice.template.id == "change_x"


def test_an_enquiry_gets_no_template() -> None:
    turns = [(2, "what is the interest rate on a fixed deposit for one year?")]
    choice = _chooser().choose(topics=set(), steps=set(), tags=set(), customer=turns)
    assert choice.template is None
    assert choice.scores["_no_ticket"] > max(v for k, v in choice.scores.items() if k != "_no_ticket")


def test_fillers_are_not_read() -> None:
    # a filler is never embedded by the live engine, and is not read here either
    cache = _encoder()
    TemplateChooser(_templates(), CallMeaning(vectors=cache)).choose(
        topics=set(), steps=set(), tags=set(), customer=[(2, "ok, thanks")]
    )
    assert cache.cached("ok, thanks") is None


def test_shipped_templates_have_examples_in_three_scripts_and_no_ticket_examples() -> None:
    templates = load_templates(ROOT / "kb_docs" / "tickets")
    assert len(templates.no_ticket) >= 10
    for t in templates.templates.values():
        text = " ".join(t.examples)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text) and any(ch.isascii() and ch.isalpha() for ch in text)
        assert len(t.examples) >= 6, t.id


def test_a_bad_no_ticket_file_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "no_ticket").mkdir()
    (tmp_path / "no_ticket" / "examples.yaml").write_text("examples: [1, '']\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="examples.yaml"):
        load_templates(tmp_path)


def test_vector_cache_reuses_vectors_and_stays_bounded() -> None:
    calls: list[str] = []

    def encoder(text: str) -> np.ndarray:
        calls.append(text)
        return np.ones(4, dtype=np.float32) / 2

    cache = VectorCache(encoder, max_items=2)
    cache("a"), cache("a"), cache("b"), cache("c")
    assert calls == ["a", "b", "c"]  # "a" embedded once
    assert cache.cached("a") is None and cache.cached("c") is not None  # the oldest went
    with pytest.raises(ValueError, match="max_items"):
        VectorCache(encoder, max_items=0)


def test_example_groups_score_the_nearest_example() -> None:
    groups = ExampleGroups({"x": ["card lost", "wallet stolen"], "y": ["interest rate"]}, _encoder())
    vec = _encoder()("my wallet was stolen")
    scores = groups.scores(vec)
    assert closest(scores).group == "x" and closest(scores).margin > 0


def test_a_topic_alone_does_not_offer_a_template_when_the_call_reads_as_an_enquiry() -> None:
    # the playbook read a fraud topic into a rate enquiry: the rules call for fraud_x, the meaning does not
    templates = _templates()
    only = TemplateSet({"fraud_x": templates.templates["fraud_x"]}, no_ticket=templates.no_ticket)
    turns = [(2, "what is the interest rate on a fixed deposit for two years?")]
    choice = TemplateChooser(only, _meaning()).choose(topics={"fraud"}, steps=set(), tags=set(), customer=turns)
    assert choice.template is None
    assert TemplateChooser(only).choose(topics={"fraud"}, steps=set(), tags=set(), customer=turns).template


def test_a_cited_tag_alone_does_not_offer_a_template_when_the_call_reads_as_an_enquiry() -> None:
    templates = _templates()
    tagged = templates.templates["fraud_x"].model_copy(update={"calls_for": _calls_for(tags=["scam"])})
    chooser = TemplateChooser(TemplateSet({"fraud_x": tagged}, no_ticket=templates.no_ticket), _meaning())
    turns = [(3, "so what is the interest rate on a fixed deposit these days")]
    assert chooser.choose(topics=set(), steps=set(), tags={"scam"}, customer=turns).template is None


def test_the_agent_naming_the_ticket_offers_it_even_when_the_call_reads_as_an_enquiry() -> None:
    templates = _templates()
    named = templates.templates["fraud_x"].model_copy(update={"calls_for": _calls_for(agent_phrases=["fraud report"])})
    chooser = TemplateChooser(TemplateSet({"fraud_x": named}, no_ticket=templates.no_ticket), _meaning())
    turns = [(2, "what is the interest rate on a fixed deposit for two years?")]
    agent = [(3, "I have opened a fraud report for you")]
    choice = chooser.choose(topics=set(), steps=set(), tags=set(), customer=turns, agent=agent)
    assert choice.template is not None and choice.template.id == "fraud_x"


def _meaning() -> CallMeaning:
    return CallMeaning(vectors=_encoder())


def _calls_for(**kw: list[str]) -> object:
    from assist.aftercall.templates import CallsFor

    return CallsFor.model_validate(kw)
