"""Ticket templates (``kb_docs/tickets/*.yaml``): typed fields, which are required, labels in three scripts,
and what calls for each template (playbook topics, checklist steps, document tags, customer phrases).

`load_templates(folder)` validates every file and raises `TemplateError` naming the file and the bad value.
`TemplateSet.select(...)` picks the template a call needs: the highest `priority` among those called for.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assist.errors import TemplateError
from assist.text import normalize

logger = logging.getLogger(__name__)

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
FieldType = Literal["amount", "currency", "date", "time", "merchant", "card_last4", "product_name", "channel", "text"]


def _check_labels(v: dict[str, str]) -> dict[str, str]:
    missing = [lang for lang in LANGUAGES if not str(v.get(lang, "")).strip()]
    if missing:
        raise ValueError(f"label needs {', '.join(LANGUAGES)}; missing {', '.join(missing)}")
    return v


class TemplateField(BaseModel):
    """One field of a ticket: its type (what the extractor looks for), whether it is required, its labels."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    type: FieldType
    required: bool = False
    extract: bool = True  # False: never filled from the conversation
    # a text field's source: the customer's turn on the topic (text), or the new contact details the customer
    # gives (contact: a phone number, an e-mail, an address; redacted ones as their placeholder)
    # an amount's: charged (the customer's amount said with a fee word wins: a complaint about a fee is about
    # the fee, not the payment it was taken on)
    # a date's: ahead (a date the customer asks for, such as an effective date: a date said without its year
    # is the next such day, not the last one as for an event that happened)
    # a channel's: delivery (how a new card reaches the customer, said where the turns speak of delivery)
    fill: Literal["text", "contact", "charged", "ahead", "delivery"] = "text"
    label: dict[str, str]

    _labels = field_validator("label")(_check_labels)


class CallsFor(BaseModel):
    """What makes a call need the template; any one of these is enough (topics_all: all of them)."""

    model_config = ConfigDict(extra="forbid")

    topics: list[str] = Field(default_factory=list)
    topics_all: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    # what an agent says when registering this very kind of ticket (its name: 投诉单, "dispute case"): the
    # agent's own word for the case is as strong as all of `topics_all`
    agent_phrases: list[str] = Field(default_factory=list)


class TicketTemplate(BaseModel):
    """A ticket template as loaded and validated."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    version: int = Field(default=1, ge=1)
    label: dict[str, str]
    priority: int = 0
    calls_for: CallsFor
    # what a customer says when this template is the one to fill: the template choice compares the call's
    # turns with these by meaning (assist/aftercall/choice.py)
    examples: list[str] = Field(default_factory=list, max_length=200)
    fields: list[TemplateField] = Field(min_length=1)

    _labels = field_validator("label")(_check_labels)

    @model_validator(mode="after")
    def _unique_fields(self) -> TicketTemplate:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"field names must be unique; repeated: {', '.join(dupes)}")
        cf = self.calls_for
        if not (cf.topics or cf.topics_all or cf.steps or cf.tags or cf.phrases or cf.agent_phrases):
            raise ValueError("calls_for names nothing: give topics, topics_all, steps, tags or phrases")
        return self

    def field(self, name: str) -> TemplateField | None:
        """The field called `name`, if the template has one."""
        return next((f for f in self.fields if f.name == name), None)

    def label_in(self, language: str) -> str:
        """The template's label in `language` (en when the language is not one of the three)."""
        return self.label.get(language) or self.label["en"]

    def called_for(self, *, topics: set[str], steps: set[str], tags: set[str], customer_text: str) -> bool:
        """Whether a call with these topics, checklist steps, cited tags and customer words needs it."""
        return self.evidence(topics=topics, steps=steps, tags=tags, customer_text=customer_text) > 0

    def evidence(
        self, *, topics: set[str], steps: set[str], tags: set[str], customer_text: str, agent_text: str = ""
    ) -> int:
        """How strongly the rules call for it: 3 all of `topics_all` or the agent naming this kind of ticket,
        2 a topic or a customer phrase, 1 only a checklist step or a cited document's tag (the documents
        retrieval happened to cite), 0 nothing."""
        cf = self.calls_for
        if cf.topics_all and set(cf.topics_all) <= topics:
            return 3
        if cf.agent_phrases and agent_text:
            said = normalize(agent_text)
            if any(normalize(p) in said for p in cf.agent_phrases):
                return 3
        norm = normalize(customer_text)
        if topics & set(cf.topics) or any(normalize(p) in norm for p in cf.phrases):
            return 2
        return 1 if steps & set(cf.steps) or tags & set(cf.tags) else 0


class TemplateSet:
    """The templates of one folder, by id."""

    def __init__(self, templates: dict[str, TicketTemplate], no_ticket: list[str] | None = None) -> None:
        self.templates = templates
        self.no_ticket = list(no_ticket or [])  # what customers say on calls that need no ticket

    def get(self, template_id: str) -> TicketTemplate | None:
        """The template with this id, if any."""
        return self.templates.get(template_id)

    def select(
        self, *, topics: set[str], steps: set[str], tags: set[str] | None = None, customer_text: str = ""
    ) -> TicketTemplate | None:
        """The template the call needs (highest priority first, then id), or None when none is called for."""
        ranked = sorted(self.templates.values(), key=lambda t: (-t.priority, t.id))
        for t in ranked:
            if t.called_for(topics=topics, steps=steps, tags=tags or set(), customer_text=customer_text):
                return t
        return None


def _describe(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ())) or "template"
        parts.append(f"{where}: {e.get('msg')}")
    return "; ".join(parts)


def load_template(path: Path) -> TicketTemplate:
    """One template file, validated.

    Raises:
        TemplateError: the file is not YAML, not a mapping, or fails validation (the message names the file
            and each bad value).
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path.name}: cannot read the template: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path.name}: a template is a mapping with id, label, calls_for and fields")
    try:
        template = TicketTemplate.model_validate(data)
    except ValidationError as exc:
        raise TemplateError(f"{path.name}: {_describe(exc)}") from exc
    if template.id != path.stem:
        raise TemplateError(f"{path.name}: id {template.id!r} must match the file name {path.stem!r}")
    return template


NO_TICKET_FILE = Path("no_ticket") / "examples.yaml"


def load_no_ticket(path: Path) -> list[str]:
    """The examples of calls that need no ticket (``no_ticket/examples.yaml``: ``examples: [texts]``).

    Raises:
        TemplateError: the file is unreadable or not a mapping with a list of texts.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path.name}: cannot read the no-ticket examples: {exc}") from exc
    examples = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
        raise TemplateError(f"{path.name}: expected a mapping with 'examples', a list of non-empty texts")
    return [e.strip() for e in examples]


def load_templates(folder: Path) -> TemplateSet:
    """Every ``*.yaml`` template of `folder` and its no-ticket examples (a missing folder gives an empty set,
    with a warning)."""
    if not folder.is_dir():
        logger.warning("ticket templates folder not found", extra={"path": str(folder)})
        return TemplateSet({})
    templates = {}
    for path in sorted(folder.glob("*.y*ml")):
        t = load_template(path)
        templates[t.id] = t
    none_path = folder / NO_TICKET_FILE
    return TemplateSet(templates, load_no_ticket(none_path) if none_path.is_file() else [])
