"""After the call: tickets and their webhook deliveries, QA scorecards and reviewers' overrides, and the
hashed customer reference that links repeat contacts.

These tables refer to a call by its id without a foreign key: a ticket or a scorecard is the bank's record
and outlives the call's transcript (`assist calls purge` deletes calls, not these). The customer reference
has its own table rather than a column on `call`: the database has no migrations yet, and `create_all`
adds new tables to an existing database but never new columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from assist.models.common import new_id, utcnow

TicketStatus = Literal["open", "in_progress", "resolved"]
TICKET_STATUSES: tuple[str, ...] = ("open", "in_progress", "resolved")


# --- tickets -------------------------------------------------------------------------------------------------


class TicketBase(SQLModel):
    """Fields shared by every shape of a ticket."""

    call_id: str = Field(index=True)
    template: str


class Ticket(TicketBase, table=True):
    """A submitted ticket: the confirmed field values, the turn each came from, and its status."""

    id: str = Field(default_factory=new_id, primary_key=True)
    template_version: int = 1
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    turns: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))  # field → turn (None: typed)
    status: str = Field(default="open", index=True)
    agent_key_id: str | None = Field(default=None, index=True)
    agent_name: str | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class TicketCreate(SQLModel):
    """POST /v1/tickets: the confirmed values (field name → value; null or "" for not given)."""

    call_id: str = Field(min_length=1, max_length=64)
    template: str = Field(min_length=1, max_length=64)
    fields: dict[str, str | int | float | None] = Field(default_factory=dict)


class TicketUpdate(SQLModel):
    """PATCH /v1/tickets/{id}."""

    status: TicketStatus


class TicketPublic(TicketBase):
    """A ticket as listed."""

    id: str
    template_version: int
    fields: dict[str, Any]
    turns: dict[str, Any]
    status: str
    agent_name: str | None
    created_at: datetime
    updated_at: datetime


class TicketDelivery(SQLModel, table=True):
    """One attempt to POST a ticket to the configured webhook."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(index=True)
    attempt: int
    ok: bool = False
    status_code: int | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class TicketDeliveryPublic(SQLModel):
    """A delivery attempt as listed."""

    attempt: int
    ok: bool
    status_code: int | None
    error: str | None
    created_at: datetime


class FieldDraft(SQLModel):
    """One field of a draft: its value from the conversation (None: still missing) and the turn it came from."""

    name: str
    label: str
    type: str
    value: str | None = None
    turn: int | None = None
    required: bool = False


class TicketDraft(SQLModel):
    """GET /v1/calls/{id}/ticket: the template the call calls for, filled from the conversation so far."""

    call_id: str
    template: str
    template_label: str
    language: str
    fields: list[FieldDraft]
    missing: list[str]


# --- QA scorecards -------------------------------------------------------------------------------------------


class Verdict(SQLModel):
    """One criterion's verdict: passed (None: not applicable), the turns it rests on, and why."""

    id: str
    label: str
    passed: bool | None
    critical: bool = False
    weight: float = 1.0
    turns: list[int] = Field(default_factory=list)
    reason: str = ""
    auto_passed: bool | None = None  # the automatic verdict, when a reviewer overrode it
    override_note: str | None = None


class Scorecard(SQLModel, table=True):
    """A call's automatic scorecard, computed once after the call ended."""

    call_id: str = Field(primary_key=True)
    rubric: str
    rubric_version: int = 1
    score: float
    criteria: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    agent_key_id: str | None = Field(default=None, index=True)
    agent_name: str | None = None
    team: str | None = None  # the call's team (kept here: a scorecard outlives its call)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    call_started_at: datetime | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ScorecardPublic(SQLModel):
    """GET /v1/calls/{id}/scorecard: the score (overrides applied) and each criterion's verdict."""

    call_id: str
    score: float
    auto_score: float
    rubric: str
    rubric_version: int
    agent_name: str | None
    team: str | None = None
    topics: list[str]
    criteria: list[Verdict]
    created_at: datetime


class ScoreOverride(SQLModel, table=True):
    """A reviewer's verdict on one criterion of a call, replacing the automatic one (the latest counts)."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(index=True)
    criterion: str
    passed: bool | None
    auto_passed: bool | None
    note: str
    reviewer: str
    reviewer_key_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ScoreOverrideCreate(SQLModel):
    """POST /v1/calls/{id}/scorecard/overrides."""

    criterion: str = Field(min_length=1, max_length=64)
    passed: bool | None
    note: str = Field(min_length=1, max_length=2000)


# --- first-contact resolution --------------------------------------------------------------------------------


class CallContact(SQLModel, table=True):
    """Who a call was with (a keyed hash of the customer reference, never the reference) and whether the
    matter was resolved: a repeat contact on the same topic within the window marks it not resolved."""

    call_id: str = Field(primary_key=True)
    customer_hash: str = Field(index=True)
    agent_key_id: str | None = Field(default=None, index=True)
    resolved: bool = True
    repeat_call_id: str | None = None  # the later call that showed it was not resolved
    created_at: datetime = Field(default_factory=utcnow, index=True)
