"""A live call, its turns, the suggestions shown and the agents' feedback on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from assist.models.common import new_id, utcnow


class Call(SQLModel, table=True):
    """A call and the state the side panel needs to pick it back up."""

    id: str = Field(default_factory=new_id, primary_key=True)
    agent_key_id: str | None = None
    agent_name: str | None = None
    team: str | None = None  # the agent key's team when the call started
    status: str = "active"  # active | ended
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    checklist: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    turn_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class Turn(SQLModel, table=True):
    """One final utterance, redacted before it is stored. Its number is unique within the call: it is taken
    from the call's row (`CallStore.next_turn`), so servers sharing a database never hand out one twice."""

    __table_args__ = (Index("uq_turn_call_id_turn", "call_id", "turn", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="call.id", index=True)
    turn: int
    speaker: str
    text: str
    created_at: datetime = Field(default_factory=utcnow)


class Suggestion(SQLModel, table=True):
    """A suggestion shown to the agent, with what it cited."""

    id: str = Field(default_factory=new_id, primary_key=True)
    call_id: str = Field(foreign_key="call.id", index=True)
    turn: int
    query: str
    answer: str
    source: str = "extractive"  # extractive | llm | llm_blocked_fallback | none
    citations: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    next_steps: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    replaced_reason: str | None = None
    latency_ms: float = 0.0
    language: str = "en"
    sentences: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    timings: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class Feedback(SQLModel, table=True):
    """An agent's one-click rating of a suggestion."""

    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: str = Field(foreign_key="suggestion.id", index=True)
    rating: str  # used | helpful | wrong
    comment: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


# --- API shapes (not tables) -------------------------------------------------------------------


class CallStart(SQLModel):
    """POST /v1/calls (optional body): the customer reference is hashed before it is stored."""

    customer_ref: str | None = Field(default=None, min_length=1, max_length=200)


class CallCreated(SQLModel):
    """The answer to POST /v1/calls."""

    call_id: str


class UtteranceIn(SQLModel):
    """One turn, over HTTP or as a WebSocket `utterance` message (length is checked by the engine)."""

    speaker: Literal["customer", "agent"]
    # The engine refuses blank text and text over ASSIST_MAX_UTTERANCE_CHARS with a reason; the pattern
    # only tells the OpenAPI document so (some non-space character), it is not enforced here.
    text: str = Field(schema_extra={"json_schema_extra": {"pattern": r"\S"}})
    final: bool = True


class NextStep(SQLModel):
    """One checklist item of the side panel."""

    id: str
    label: str
    reason: str = ""
    done: bool = False


class SuggestionMessage(SQLModel):
    """The `suggestion` message of the WebSocket contract (extra fields are additions)."""

    type: Literal["suggestion"] = "suggestion"
    id: str
    call_id: str
    turn: int
    query: str
    answer: str
    citations: list[dict[str, Any]] = Field(default_factory=list)
    next_steps: list[NextStep] = Field(default_factory=list)
    latency_ms: float = 0.0
    source: str = "extractive"
    replaced_reason: str | None = None
    language: str = "en"
    sentences: list[dict[str, Any]] = Field(default_factory=list)  # {"text", "citation": 1-based index}
    timings: dict[str, float] = Field(default_factory=dict)  # per-stage milliseconds


class ComplianceAlert(SQLModel):
    """The `compliance_alert` message of the WebSocket contract."""

    type: Literal["compliance_alert"] = "compliance_alert"
    call_id: str
    turn: int
    speaker: str
    action: str  # block | warn
    matches: list[dict[str, Any]] = Field(default_factory=list)
    advice: str = ""
    event_id: int | None = None


class TurnResult(SQLModel):
    """What one turn produced: at most one suggestion, any alerts, and the checklist after it."""

    call_id: str
    turn: int | None  # None for interim (non-final) text, which is not stored
    suggestion: SuggestionMessage | None = None
    alerts: list[ComplianceAlert] = Field(default_factory=list)
    next_steps: list[NextStep] = Field(default_factory=list)
    checklist_changed: bool = False


class TurnPublic(SQLModel):
    """A stored (redacted) turn."""

    turn: int
    speaker: str
    text: str
    created_at: datetime


class CallPublic(SQLModel):
    """GET /v1/calls/{id}: the redacted transcript, suggestions, checklist and alerts."""

    id: str
    status: str
    agent_name: str | None
    topics: list[str]
    checklist: list[NextStep]
    turns: list[TurnPublic]
    suggestions: list[SuggestionMessage]
    alerts: list[ComplianceAlert]
    created_at: datetime
    ended_at: datetime | None


class CallSummary(SQLModel):
    """The after-call summary returned by POST /v1/calls/{id}/end."""

    call_id: str
    status: str
    topics: list[str]
    documents_cited: list[dict[str, Any]]
    steps_done: list[NextStep]
    steps_pending: list[NextStep]
    alerts: list[ComplianceAlert]
    transcript: list[TurnPublic]
    suggestions: int
    ended_at: datetime | None


class FeedbackCreate(SQLModel):
    """POST /v1/suggestions/{id}/feedback."""

    rating: Literal["used", "helpful", "wrong"]
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackPublic(SQLModel):
    """A stored rating."""

    id: int
    suggestion_id: str
    rating: str
    comment: str | None
    created_at: datetime
