"""Tickets: a draft filled from the call's (redacted) turns, submission with validation, status, listing,
export (JSON, CSV) and optional webhook delivery.

A draft field takes the first value of its type the customer said (else the agent's) unless corrected later
(amounts, card digits); a ``text`` field takes the first customer turn on the template's topic. The agent
edits and confirms; `submit_ticket` checks every value against its field's type and refuses a ticket
whose required fields are empty, naming them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from assist.aftercall.choice import TemplateChooser
from assist.aftercall.cues import (
    card_answers,
    contact_values,
    corrected,
    cued_amounts,
    fee_amounts,
    identity_answers,
    not_balances,
    payee_answers,
)
from assist.aftercall.extract import extract_turns
from assist.aftercall.live import LiveTicketValues
from assist.aftercall.numbers import Value
from assist.aftercall.picking import currency_for, pick, typed_value
from assist.aftercall.templates import TemplateField, TemplateSet, TicketTemplate
from assist.audit import record
from assist.errors import ForbiddenError, InvalidInputError, MissingFieldsError, NotFoundError
from assist.models.aftercall import (
    TICKET_STATUSES,
    FieldDraft,
    Ticket,
    TicketCreate,
    TicketDelivery,
    TicketDraft,
    TicketPublic,
)
from assist.models.calls import Call, Suggestion, Turn
from assist.models.common import utcnow
from assist.models.keys import ApiKey, Role

logger = logging.getLogger(__name__)

MAX_VALUE_CHARS = 2000
_CHECKS: dict[str, re.Pattern[str]] = {
    "amount": re.compile(r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$"),
    "currency": re.compile(r"^[A-Z]{3}$"),
    "date": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    "time": re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^(?:morning|noon|afternoon|evening|night)$"),
    "card_last4": re.compile(r"^[0-9]{4}$"),
}
_HINTS = {
    "amount": "a number such as 300 or 19.99",
    "currency": "a three-letter code such as CNY, HKD, TWD or USD",
    "date": "a date as YYYY-MM-DD",
    "time": "HH:MM, or morning, noon, afternoon, evening or night",
    "card_last4": "exactly four digits (never a whole card number)",
}


@dataclass(frozen=True)
class CallTurn:
    """A stored (redacted) turn, as the draft and the scorecard read it."""

    turn: int
    speaker: str
    text: str


def _cued(turns: list[CallTurn], values: list[Value]) -> list[Value]:
    """What the turns around the values add (assist/aftercall/cues.py): paid and corrected amounts of the
    customer's turns, the payee named in answer to the agent, new contact details."""
    taken = {(v.turn, v.start) for v in values if v.kind == "amount"}
    out = [
        v
        for t in turns
        if t.speaker == "customer"
        for v in cued_amounts(t.text, turn=t.turn)
        if (v.turn, v.start) not in taken or v.kind == "amount_fix"
    ]
    return out + payee_answers(turns) + contact_values(turns)


def _text_value(
    turns: list[CallTurn], on_topic: Callable[[str], bool], anchor: int | None = None
) -> tuple[str, int] | None:
    said = [t for t in turns if t.speaker == "customer" and len(t.text.strip()) >= 4]
    chosen = next((t for t in said if t.turn == anchor), None) or next(
        (t for t in said if on_topic(t.text)), said[0] if said else None
    )
    return (chosen.text, chosen.turn) if chosen else None


def fill_draft(
    template: TicketTemplate,
    turns: list[CallTurn],
    *,
    call_id: str,
    ref_date: date,
    language: str,
    on_topic: Callable[[str], bool] = lambda _t: False,
    anchor: int | None = None,
    values: list[Value] | None = None,
) -> TicketDraft:
    """The template with the values the conversation holds so far, each with the turn it came from.

    `anchor`: the customer turn the template was chosen on (a free-text field starts from it); `values`: the
    turns' values when the live path extracted them already (assist/aftercall/live.py)."""
    if values is None:
        values = extract_turns([(t.turn, t.text) for t in turns], ref_date=ref_date)
    values = sorted(values + card_answers(turns) + _cued(turns, values), key=lambda v: (v.turn, v.start))
    proof = identity_answers(turns)  # the caller's answers to ID&V are not the event's values
    values = [v for v in values if v.turn not in proof or v.kind in ("card_last4", "card_fix")]
    speakers = {t.turn: t.speaker for t in turns}
    amount = corrected(pick(not_balances(values, turns), "amount", speakers), values, turns)
    fields: list[FieldDraft] = []
    for f in template.fields:
        found: tuple[str, int] | None = None
        if f.extract and f.fill == "contact":
            said = next((v for v in values if v.kind == "contact"), None)
            found = (said.value, said.turn) if said else None
        elif f.extract and f.type == "text":
            found = _text_value(turns, on_topic, anchor)
        elif f.extract:
            if f.type == "amount":
                fees = fee_amounts(turns, values) if f.fill == "charged" else []
                v = amount = fees[0] if fees else amount
            elif f.type == "currency":
                v = currency_for(values, amount, speakers)
            else:
                v = typed_value(f, values, speakers, turns, ref_date)
            found = (v.value, v.turn) if v else None
        fields.append(
            FieldDraft(
                name=f.name,
                label=f.label.get(language) or f.label["en"],
                type=f.type,
                value=found[0] if found else None,
                turn=found[1] if found else None,
                required=f.required,
            )
        )
    missing = [d.name for d in fields if d.required and not d.value]
    return TicketDraft(
        call_id=call_id,
        template=template.id,
        template_label=template.label_in(language),
        language=language,
        fields=fields,
        missing=missing,
    )


# -- reading a call ---------------------------------------------------------------------------------------------


def call_turns(session: Session, call_id: str) -> tuple[Call, list[CallTurn]]:
    """The call and its stored turns, in order.

    Raises:
        NotFoundError: unknown call.
    """
    call = session.get(Call, call_id)
    if call is None:
        raise NotFoundError("call", call_id)
    rows = session.exec(select(Turn).where(Turn.call_id == call_id).order_by(col(Turn.turn))).all()
    return call, [CallTurn(r.turn, r.speaker, r.text) for r in rows]


def cited_tags(session: Session, call_id: str) -> set[str]:
    """The tags of the documents the call's suggestions cited."""
    from assist.models.documents import Document

    doc_ids: set[str] = set()
    for cites in session.exec(select(Suggestion.citations).where(Suggestion.call_id == call_id)).all():
        doc_ids |= {str(c.get("document_id")) for c in cites or [] if c.get("document_id")}
    if not doc_ids:
        return set()
    tags: set[str] = set()
    for doc_tags in session.exec(select(Document.tags).where(col(Document.id).in_(doc_ids))).all():
        tags |= set(doc_tags or [])
    return tags


def call_language(turns: Iterable[CallTurn]) -> str:
    """zh-Hans, zh-Hant or en: the language of what the customer said (en when nothing yet)."""
    from assist.text import detect_language

    said = " ".join(t.text for t in turns if t.speaker == "customer")
    lang = detect_language(said) if said.strip() else "en"
    return lang if lang in ("zh-Hans", "zh-Hant", "en") else ("zh-Hans" if lang.startswith("zh") else "en")


def draft_for_call(
    session: Session,
    *,
    call_id: str,
    templates: TemplateSet,
    topics_in: Callable[[str], list[str]],
    template_id: str | None = None,
    language: str | None = None,
    chooser: TemplateChooser | None = None,
    live: LiveTicketValues | None = None,
) -> TicketDraft:
    """The ticket draft the call calls for (or `template_id`'s), filled from its turns so far.

    `chooser` picks the template by meaning and the rules (assist/aftercall/choice.py); without one, by the
    rules alone. `live`: the values the live path extracted (read instead of extracting again).

    Raises:
        NotFoundError: unknown call, unknown template, or no template called for (404, as the contract says).
    """
    call, turns = call_turns(session, call_id)
    anchor: int | None = None
    if template_id:
        template = templates.get(template_id)
        if template is None:
            raise NotFoundError("ticket template", template_id)
    else:
        choice = (chooser or TemplateChooser(templates)).choose(
            topics=set(call.topics),
            steps={str(s.get("id")) for s in call.checklist},
            tags=cited_tags(session, call_id),
            customer=[(t.turn, t.text) for t in turns if t.speaker == "customer"],
            agent=[(t.turn, t.text) for t in turns if t.speaker == "agent"],
        )
        if choice.template is None:
            raise NotFoundError("ticket template for call", call_id)
        template = choice.template
        anchor = choice.turns[0] if choice.turns else None
    wanted = set(template.calls_for.topics) | set(template.calls_for.topics_all)
    return fill_draft(
        template,
        turns,
        call_id=call_id,
        ref_date=call.created_at.date(),
        language=language or call_language(turns),
        on_topic=lambda text: bool(wanted & set(topics_in(text))),
        anchor=anchor,
        values=live.values(call_id, turns=[t.turn for t in turns], ref_date=call.created_at.date()) if live else None,
    )


# -- submission ---------------------------------------------------------------------------------------------------


def _clean(f: TemplateField, raw: object, redact: Callable[[str], str]) -> str | None:
    if raw is None:
        return None
    value = str(raw).strip()
    if not value:
        return None
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidInputError(f"field {f.name!r} is over {MAX_VALUE_CHARS} characters")
    if f.type == "currency":
        value = value.upper()
    check = _CHECKS.get(f.type)
    if check is not None and not check.match(value):
        raise InvalidInputError(f"field {f.name!r} must be {_HINTS[f.type]}, got {redact(value)!r}")
    if f.type == "date":
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInputError(f"field {f.name!r} is not a real date: {value!r}") from exc
    return value if check is not None else redact(value)


def submit_ticket(
    session: Session,
    *,
    body: TicketCreate,
    templates: TemplateSet,
    key: ApiKey,
    redact: Callable[[str], str],
    draft: TicketDraft | None = None,
) -> Ticket:
    """Validate and store a ticket (status open), audited as `ticket.create`.

    Raises:
        NotFoundError: unknown template.
        InvalidInputError: a field the template does not have, or a value of the wrong type.
        MissingFieldsError: required fields left empty (422, naming them).
    """
    template = templates.get(body.template)
    if template is None:
        raise NotFoundError("ticket template", body.template)
    unknown = sorted(set(body.fields) - {f.name for f in template.fields})
    if unknown:
        raise InvalidInputError(f"template {template.id!r} has no field {', '.join(map(repr, unknown))}")
    values = {f.name: _clean(f, body.fields.get(f.name), redact) for f in template.fields}
    missing = [f.name for f in template.fields if f.required and not values[f.name]]
    if missing:
        raise MissingFieldsError(template.id, missing)
    drafted = {d.name: d for d in (draft.fields if draft else [])}
    turns = {
        name: drafted[name].turn if name in drafted and drafted[name].value == value else None
        for name, value in values.items()
        if value
    }
    ticket = Ticket(
        call_id=body.call_id,
        template=template.id,
        template_version=template.version,
        fields=values,
        turns=turns,
        agent_key_id=key.id,
        agent_name=key.name,
    )
    session.add(ticket)
    session.flush()
    record(
        session,
        actor=key,
        action="ticket.create",
        target_type="ticket",
        target_id=ticket.id,
        after={"call_id": ticket.call_id, "template": ticket.template, "status": ticket.status},
    )
    session.commit()
    session.refresh(ticket)
    logger.info("ticket submitted", extra={"ticket_id": ticket.id, "template": ticket.template})
    return ticket


def may_see_all(key: ApiKey) -> bool:
    """Compliance and admin see every ticket and scorecard; an agent only its own."""
    return Role(key.role) in (Role.compliance, Role.admin)


def get_ticket(session: Session, *, ticket_id: str, key: ApiKey) -> Ticket:
    """One ticket the key may see (another agent's is "not found", as for calls)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not (may_see_all(key) or ticket.agent_key_id == key.id):
        raise NotFoundError("ticket", ticket_id)
    return ticket


def set_status(session: Session, *, ticket_id: str, status: str, key: ApiKey) -> Ticket:
    """Change a ticket's status (open, in_progress, resolved), audited as `ticket.status`."""
    if status not in TICKET_STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(TICKET_STATUSES)}, got {status!r}")
    if Role(key.role) == Role.editor:
        raise ForbiddenError("role 'editor' may not change tickets")
    ticket = get_ticket(session, ticket_id=ticket_id, key=key)
    before = ticket.status
    ticket.status, ticket.updated_at = status, utcnow()
    session.add(ticket)
    record(
        session,
        actor=key,
        action="ticket.status",
        target_type="ticket",
        target_id=ticket.id,
        before={"status": before},
        after={"status": status},
    )
    session.commit()
    session.refresh(ticket)
    return ticket


def list_tickets(
    session: Session, *, key: ApiKey, status: str | None = None, call_id: str | None = None, limit: int = 100
) -> list[Ticket]:
    """Tickets the key may see, newest first."""
    stmt = select(Ticket)
    if not may_see_all(key):
        stmt = stmt.where(Ticket.agent_key_id == key.id)
    if status:
        stmt = stmt.where(Ticket.status == status)
    if call_id:
        stmt = stmt.where(Ticket.call_id == call_id)
    return list(session.exec(stmt.order_by(col(Ticket.created_at).desc()).limit(limit)).all())


EXPORT_COLUMNS = ("id", "call_id", "template", "status", "agent_name", "created_at", "updated_at", "fields")


def export_csv(tickets: list[Ticket]) -> str:
    """One row per ticket; `fields` as a JSON object (templates differ in their fields)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for t in tickets:
        row = TicketPublic.model_validate(t, from_attributes=True).model_dump(mode="json")
        row["fields"] = json.dumps(t.fields, ensure_ascii=False, sort_keys=True)
        writer.writerow([_csv_safe(str(row.get(c) if row.get(c) is not None else "")) for c in EXPORT_COLUMNS])
    return out.getvalue()


def _csv_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (=, +, -, @ at the start)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell


# -- webhook ----------------------------------------------------------------------------------------------------


class WebhookSender:
    """POSTs a ticket as JSON to the configured URL, retrying with doubling back-off; records every attempt.

    Args:
        url: where to POST (ASSIST_TICKET_WEBHOOK_URL).
        attempts: at most this many tries (a 2xx ends them).
        timeout_s: per attempt.
        backoff_s: wait before the second attempt, doubled after each failure.
        transport: an httpx transport (tests pass httpx.MockTransport); None for the network.
        sleep: how to wait (tests pass a no-op).
    """

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 3,
        timeout_s: float = 5.0,
        backoff_s: float = 0.5,
        transport: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.url, self.attempts, self.timeout_s, self.backoff_s = url, attempts, timeout_s, backoff_s
        self.transport, self.sleep = transport, sleep

    def deliver(self, session: Session, ticket: Ticket) -> list[TicketDelivery]:
        """Try until one attempt gets a 2xx or the attempts run out; each attempt is stored."""
        import httpx

        payload = TicketPublic.model_validate(ticket, from_attributes=True).model_dump(mode="json")
        done: list[TicketDelivery] = []
        with httpx.Client(transport=self.transport, timeout=self.timeout_s) as client:
            for attempt in range(1, self.attempts + 1):
                row = TicketDelivery(ticket_id=ticket.id, attempt=attempt)
                try:
                    r = client.post(self.url, json=payload, headers={"Idempotency-Key": ticket.id})
                    row.status_code, row.ok = r.status_code, 200 <= r.status_code < 300
                    row.error = None if row.ok else f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    row.error = f"{type(exc).__name__}: {str(exc)[:200]}"
                session.add(row)
                session.commit()
                done.append(row)
                if row.ok:
                    break
                if attempt < self.attempts and self.backoff_s > 0:
                    self.sleep(self.backoff_s * 2 ** (attempt - 1))
        logger.info("ticket webhook", extra={"ticket_id": ticket.id, "attempts": len(done), "ok": done[-1].ok})
        return done
