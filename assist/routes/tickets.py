"""Tickets: the draft for a call, submission, status, listing, export and webhook deliveries."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import Response
from sqlmodel import Session, col, select

from assist.aftercall import tickets as svc
from assist.aftercall.scorecards import rescore
from assist.deps import (
    AfterCallDep,
    AgentKey,
    AgentOrComplianceKey,
    CallEngineDep,
    CallReader,
    SessionDep,
    require_call_access,
)
from assist.errors import NotFoundError
from assist.models.aftercall import (
    Ticket,
    TicketCreate,
    TicketDelivery,
    TicketDeliveryPublic,
    TicketDraft,
    TicketPublic,
    TicketStatus,
    TicketUpdate,
)
from assist.models.keys import CallAccess

logger = logging.getLogger(__name__)

router = APIRouter(tags=["tickets"])

Language = Literal["zh-Hans", "zh-Hant", "en"]


@router.get(
    "/v1/calls/{call_id}/ticket",
    response_model=TicketDraft,
    responses={404: {"description": "No such call, or no topic of the call calls for a ticket"}},
)
def ticket_draft(
    call_id: str,
    session: SessionDep,
    after: AfterCallDep,
    _key: CallReader,
    template: Annotated[str | None, Query(max_length=64)] = None,
    lang: Language | None = None,
) -> TicketDraft:
    """The ticket the call calls for, filled from the conversation so far; `missing` names the fields to ask."""
    return svc.draft_for_call(
        session,
        call_id=call_id,
        templates=after.templates,
        topics_in=after.playbooks.topics_in,
        template_id=template,
        language=lang,
        chooser=after.chooser,
        live=after.live,
    )


def _deliver(db_engine: object, ticket_id: str, sender: svc.WebhookSender) -> None:
    with Session(db_engine, expire_on_commit=False) as session:  # type: ignore[arg-type]
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None:
            sender.deliver(session, ticket)


@router.post(
    "/v1/tickets",
    response_model=TicketPublic,
    status_code=201,
    responses={404: {"description": "No such call (or not this key's), or no such template"}},
)
def submit_ticket(
    body: TicketCreate,
    background: BackgroundTasks,
    session: SessionDep,
    after: AfterCallDep,
    engine: CallEngineDep,
    key: AgentKey,
) -> TicketPublic:
    """Submit a ticket for a call: 422 names the required fields left empty; POSTed to the webhook if set."""
    require_call_access(engine, body.call_id, key, CallAccess.act, "submit its ticket")
    try:
        draft = svc.draft_for_call(
            session,
            call_id=body.call_id,
            templates=after.templates,
            topics_in=after.playbooks.topics_in,
            template_id=body.template,
        )
    except NotFoundError:
        draft = None  # an unknown template is refused by submit_ticket, with its own message
    redact = engine.redact  # the call engine's redaction: the same as its stored turns
    ticket = svc.submit_ticket(session, body=body, templates=after.templates, key=key, redact=redact, draft=draft)
    # submitted after the call ended (and was scored): its "ticket submitted" verdict is computed again
    rescore(
        session,
        call_id=body.call_id,
        rubric=after.rubric,
        playbooks=after.playbooks,
        chooser=after.chooser,
        judge=after.judge,
    )
    sender = after.sender
    if sender is not None:
        background.add_task(_deliver, session.get_bind(), ticket.id, sender)
    return TicketPublic.model_validate(ticket, from_attributes=True)


@router.get("/v1/tickets", response_model=list[TicketPublic])
def list_tickets(
    session: SessionDep,
    key: AgentOrComplianceKey,
    status: TicketStatus | None = None,
    call_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TicketPublic]:
    """Tickets, newest first: an agent's own; every ticket for compliance and admin."""
    rows = svc.list_tickets(session, key=key, status=status, call_id=call_id, limit=limit)
    return [TicketPublic.model_validate(t, from_attributes=True) for t in rows]


@router.get(
    "/v1/tickets/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_tickets(
    session: SessionDep,
    key: AgentOrComplianceKey,
    format: Literal["csv", "json"] = "csv",
    status: TicketStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """The tickets the key may see, as CSV (fields as a JSON column) or JSON."""
    rows = svc.list_tickets(session, key=key, status=status, limit=limit)
    if format == "json":
        body = [TicketPublic.model_validate(t, from_attributes=True).model_dump(mode="json") for t in rows]
        return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")
    headers = {"Content-Disposition": 'attachment; filename="tickets.csv"'}
    return Response(svc.export_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/v1/tickets/{ticket_id}", response_model=TicketPublic)
def get_ticket(ticket_id: str, session: SessionDep, key: AgentOrComplianceKey) -> TicketPublic:
    """One ticket."""
    return TicketPublic.model_validate(svc.get_ticket(session, ticket_id=ticket_id, key=key), from_attributes=True)


@router.patch("/v1/tickets/{ticket_id}", response_model=TicketPublic)
def update_ticket(ticket_id: str, body: TicketUpdate, session: SessionDep, key: AgentOrComplianceKey) -> TicketPublic:
    """Change a ticket's status (open, in_progress, resolved); audited."""
    ticket = svc.set_status(session, ticket_id=ticket_id, status=body.status, key=key)
    return TicketPublic.model_validate(ticket, from_attributes=True)


@router.get("/v1/tickets/{ticket_id}/deliveries", response_model=list[TicketDeliveryPublic])
def ticket_deliveries(ticket_id: str, session: SessionDep, key: AgentOrComplianceKey) -> list[TicketDeliveryPublic]:
    """Every attempt to POST the ticket to the webhook, in order."""
    svc.get_ticket(session, ticket_id=ticket_id, key=key)
    rows = session.exec(
        select(TicketDelivery).where(TicketDelivery.ticket_id == ticket_id).order_by(col(TicketDelivery.id))
    ).all()
    return [TicketDeliveryPublic.model_validate(r, from_attributes=True) for r in rows]
