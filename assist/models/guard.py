"""Guard events for compliance review, and rule versions."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from assist.models.common import utcnow


class GuardEvent(SQLModel, table=True):
    """A blocked or warned utterance or suggestion, with redacted context, waiting for review."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "utterance"  # utterance | suggestion
    call_id: str | None = Field(default=None, index=True)
    turn: int | None = None
    speaker: str | None = None
    agent_name: str | None = None
    action: str  # block | warn
    rule_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    rule_versions: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))
    text: str  # redacted
    matches: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    context: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    status: str = Field(default="pending", index=True)  # pending | confirmed | false_positive
    review_note: str | None = None
    reviewer: str | None = None
    reviewed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)


class RuleRecord(SQLModel, table=True):
    """One version of one rule, as YAML-shaped JSON. The newest non-deleted version is in force."""

    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(index=True)
    version: int = 1
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    deleted: bool = False
    author: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
