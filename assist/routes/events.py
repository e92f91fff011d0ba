"""Routes for the compliance review queue of guard events: list, review (with a one-step exception),
per-rule statistics and CSV export."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from assist.compliance import packs, review
from assist.compliance.review import parse_bound
from assist.deps import CurrentKey, SessionDep, SettingsDep, require_roles
from assist.models.guard import EventStatus, GuardEventPublic, RulePublic
from assist.models.keys import Role
from assist.routes.rules import swap_guard

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/guard", tags=["guard review"], dependencies=[Depends(require_roles(Role.compliance))])


# What review.parse_bound accepts, told to the OpenAPI document (the value stays a string for parse_bound).
_DATE_OR_DATETIME = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "maxLength": 0},  # empty: no bound
        {"type": "null"},
    ]
}
FromQuery = Annotated[
    str | None,
    Query(
        alias="from", max_length=40, description="YYYY-MM-DD or an ISO datetime", json_schema_extra=_DATE_OR_DATETIME
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="to",
        max_length=40,
        description="YYYY-MM-DD (that whole day) or an ISO datetime",
        json_schema_extra=_DATE_OR_DATETIME,
    ),
]


EventId = Annotated[int, Path(ge=1, le=2**62)]


class EventReview(BaseModel):
    """A reviewer's decision on one guard event."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirmed", "false_positive"]
    note: str | None = Field(None, max_length=2000)
    add_exception: str | None = Field(
        None,
        max_length=review.MAX_EXCEPTION_CHARS,
        description="with false_positive: add this phrase as an exception to the rule, in the same step",
    )
    rule_id: str | None = Field(None, max_length=200, description="which of the event's rules gets the exception")


class EventReviewResult(BaseModel):
    """The reviewed event, and the new rule version when an exception was added."""

    event: GuardEventPublic
    rule: RulePublic | None = None


class RuleStatPublic(BaseModel):
    """Review counts and false-positive rate of one rule."""

    rule_id: str
    events: int
    pending: int
    confirmed: int
    false_positive: int
    blocks: int
    warns: int
    reviewed: int
    false_positive_rate: float | None


class GuardStatsPublic(BaseModel):
    """Per-rule false-positive rates, alerts per day and suggestion acceptance."""

    rules: list[RuleStatPublic]
    alerts_per_day: list[dict[str, Any]]
    events: int
    suggestions: int
    feedback: dict[str, int]
    acceptance_rate: float | None


@router.get("/events", response_model=list[GuardEventPublic])
def list_events(
    session: SessionDep,
    status: EventStatus | None = Query(None),
    rule: str | None = Query(None, max_length=200),
    category: str | None = Query(None, max_length=200),
    agent: str | None = Query(None, max_length=200),
    kind: Literal["utterance", "suggestion"] | None = Query(None),
    call_id: str | None = Query(None, max_length=100),
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> list[GuardEventPublic]:
    """The review queue: guard events, newest first, filtered by status, rule, category, agent and date."""
    events = review.list_events(
        session=session,
        status=status,
        rule_id=rule,
        category=category,
        agent=agent,
        kind=kind,
        call_id=call_id,
        date_from=parse_bound(date_from, field="from"),
        date_to=parse_bound(date_to, field="to"),
        limit=limit,
        offset=offset,
    )
    return [GuardEventPublic.model_validate(e, from_attributes=True) for e in events]


@router.get("/events/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_events(
    session: SessionDep,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> Response:
    """The guard events of a date range as CSV."""
    lo, hi = parse_bound(date_from, field="from"), parse_bound(date_to, field="to")
    body = review.export_csv(session=session, date_from=lo, date_to=hi)
    name = f"guard-events-{lo.isoformat() if lo else 'start'}-{hi.isoformat() if hi else 'now'}.csv"
    name = "".join(ch for ch in name if ch.isalnum() or ch in "-_.")
    return Response(
        content=body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/stats", response_model=GuardStatsPublic)
def guard_stats(
    session: SessionDep,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> GuardStatsPublic:
    """Per-rule false-positive rates, alerts per day, and suggestion acceptance from agents' feedback."""
    s = review.stats(
        session=session, date_from=parse_bound(date_from, field="from"), date_to=parse_bound(date_to, field="to")
    )
    return GuardStatsPublic(
        rules=[
            RuleStatPublic(**asdict(r), reviewed=r.reviewed, false_positive_rate=r.false_positive_rate) for r in s.rules
        ],
        alerts_per_day=s.alerts_per_day,
        events=s.events,
        suggestions=s.suggestions,
        feedback=s.feedback,
        acceptance_rate=s.acceptance_rate,
    )


@router.get("/events/{event_id}", response_model=GuardEventPublic)
def get_event(event_id: EventId, session: SessionDep) -> GuardEventPublic:
    """One guard event with its redacted context."""
    return GuardEventPublic.model_validate(review.get_event(session=session, event_id=event_id), from_attributes=True)


@router.post("/events/{event_id}/review", response_model=EventReviewResult)
def review_event(
    event_id: EventId,
    body: EventReview,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: CurrentKey,
) -> EventReviewResult:
    """Confirm an event or mark it a false positive, optionally adding the phrase as a rule exception."""
    if body.add_exception:
        packs.ensure_seeded(session=session, rules_path=settings.rules_path)
    outcome = review.review_event(
        session=session,
        event_id=event_id,
        decision=body.decision,
        note=body.note,
        reviewer=key,
        add_exception=body.add_exception,
        rule_id=body.rule_id,
    )
    session.commit()
    if outcome.rule is not None:
        swap_guard(request, session)
    return EventReviewResult(
        event=GuardEventPublic.model_validate(outcome.event, from_attributes=True),
        rule=RulePublic.model_validate(outcome.rule, from_attributes=True) if outcome.rule else None,
    )
