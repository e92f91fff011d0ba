"""A live call, its turns, the suggestions shown and the agents' feedback on them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from assist.models.common import new_id, utcnow


class Call(SQLModel, table=True):
    """A call and the state the side panel needs to pick it back up."""

    id: str = Field(default_factory=new_id, primary_key=True)
    agent_key_id: str | None = None
    agent_name: str | None = None
    status: str = "active"  # active | ended
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    checklist: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    turn_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class Turn(SQLModel, table=True):
    """One final utterance, redacted before it is stored."""

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
    created_at: datetime = Field(default_factory=utcnow)


class Feedback(SQLModel, table=True):
    """An agent's one-click rating of a suggestion."""

    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: str = Field(foreign_key="suggestion.id", index=True)
    rating: str  # used | helpful | wrong
    comment: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
