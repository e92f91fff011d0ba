"""The ticket templates of kb_docs/tickets/: valid, in three scripts, called for by topics, steps, tags or
phrases; shipped in the wheel and never ingested as documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.aftercall.templates import LANGUAGES, load_template, load_templates
from assist.errors import TemplateError
from ingest.loaders import iter_document_paths

ROOT = Path(__file__).resolve().parents[2]
TICKETS = ROOT / "kb_docs" / "tickets"
EXPECTED = {"complaint", "card_dispute", "lost_stolen_card", "fraud_report", "wealth_complaint", "contact_change"}


def test_the_six_templates_load_with_labels_in_three_scripts() -> None:
    templates = load_templates(TICKETS).templates
    assert set(templates) == EXPECTED
    for t in templates.values():
        assert all(t.label[lang] for lang in LANGUAGES)
        assert all(f.label[lang] for f in t.fields for lang in LANGUAGES)
        assert any(f.required for f in t.fields)


@pytest.mark.parametrize(
    ("topics", "steps", "tags", "text", "expected"),
    [
        ({"card_dispute"}, set(), set(), "", "card_dispute"),
        ({"card_loss"}, {"verify_identity"}, set(), "", "lost_stolen_card"),
        (set(), {"report_fraud"}, set(), "", "fraud_report"),
        ({"complaint"}, set(), set(), "", "complaint"),
        ({"complaint", "wealth"}, set(), set(), "", "wealth_complaint"),
        ({"wealth"}, {"read_risk_disclosure"}, set(), "", None),  # a question about a fund needs no ticket
        (set(), set(), {"scam"}, "", "fraud_report"),
        (set(), set(), set(), "我想改地址", "contact_change"),
        (set(), set(), set(), "我搬咗屋，想換地址", "contact_change"),
        (set(), set(), set(), "I'd like to update my phone number", "contact_change"),
        ({"card_loss", "fraud"}, set(), set(), "", "fraud_report"),  # the higher priority wins
    ],
)
def test_selection(topics: set[str], steps: set[str], tags: set[str], text: str, expected: str | None) -> None:
    chosen = load_templates(TICKETS).select(topics=topics, steps=steps, tags=tags, customer_text=text)
    assert (chosen.id if chosen else None) == expected


def test_template_topics_and_steps_exist_in_the_playbooks() -> None:
    from assist.calls.playbooks import Playbooks

    pb = Playbooks(ROOT / "kb_docs" / "playbooks")
    for t in load_templates(TICKETS).templates.values():
        assert set(t.calls_for.topics) | set(t.calls_for.topics_all) <= set(pb.topics), t.id
        assert set(t.calls_for.steps) <= set(pb.steps), t.id


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("id: bad\nlabel: {en: x}\ncalls_for: {topics: [a]}\nfields: [{name: a, type: text, label: {en: a}}]\n",
         "missing zh-Hans, zh-Hant"),
        ("id: bad\nlabel: {zh-Hans: a, zh-Hant: a, en: a}\ncalls_for: {topics: [a]}\n"
         "fields: [{name: a, type: money, label: {zh-Hans: a, zh-Hant: a, en: a}}]\n", "fields.0.type"),
        ("id: bad\nlabel: {zh-Hans: a, zh-Hant: a, en: a}\ncalls_for: {}\n"
         "fields: [{name: a, type: text, label: {zh-Hans: a, zh-Hant: a, en: a}}]\n", "calls_for names nothing"),
        ("id: other\nlabel: {zh-Hans: a, zh-Hant: a, en: a}\ncalls_for: {topics: [a]}\n"
         "fields: [{name: a, type: text, label: {zh-Hans: a, zh-Hant: a, en: a}}]\n", "must match the file name"),
        ("- just a list\n", "is a mapping"),
        ("id: [unclosed\n", "cannot read"),
    ],
)  # fmt: skip
def test_a_bad_template_is_refused_with_the_file_and_the_reason(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(TemplateError, match="bad.yaml") as err:
        load_template(path)
    assert needle in str(err.value)


def test_ticket_and_qa_folders_are_not_ingested_as_documents(tmp_path: Path) -> None:
    for sub in ("tickets", "qa"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "notes.md").write_text("# not a policy\n", encoding="utf-8")
    (tmp_path / "policy.md").write_text("# a policy\n", encoding="utf-8")
    assert [p.name for p, _ in iter_document_paths([tmp_path])] == ["policy.md"]


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("我这边帮您开一张申诉单，单号稍后短信发您", "complaint"),
        ("I've logged a complaint for you, reference to follow", "complaint"),
        ("已為您登記爭議單，請留意短信", "card_dispute"),
        ("I've opened a fraud case on the card", "fraud_report"),
        ("请问还有其他可以帮您的吗？", None),
    ],
)
def test_the_agent_naming_the_kind_of_ticket_calls_for_it(agent: str, expected: str | None) -> None:
    from assist.aftercall.choice import TemplateChooser

    chooser = TemplateChooser(load_templates(TICKETS))
    customer = [(2, "the machine did not give me the money")]
    choice = chooser.choose(topics=set(), steps=set(), tags=set(), customer=customer, agent=[(5, agent)])
    assert (choice.template.id if choice.template else None) == expected
    # the same words from the customer are not the agent registering a ticket
    said = chooser.choose(topics=set(), steps=set(), tags=set(), customer=[*customer, (6, agent)])
    assert said.template is None
