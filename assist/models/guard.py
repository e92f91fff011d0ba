"""Guard events for compliance review, and rule versions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import pydantic
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from assist.models.common import utcnow


class EventStatus(StrEnum):
    """Where a guard event is in the review queue."""

    pending = "pending"
    confirmed = "confirmed"
    false_positive = "false_positive"


class GuardEventBase(SQLModel):
    """Fields shared by every shape of a guard event."""

    kind: str = "utterance"  # utterance | suggestion
    call_id: str | None = Field(default=None, index=True)
    turn: int | None = None
    speaker: str | None = None
    agent_name: str | None = Field(default=None, index=True)
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


class GuardEvent(GuardEventBase, table=True):
    """A blocked or warned utterance or suggestion, with redacted context, waiting for review."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class GuardEventPublic(GuardEventBase):
    """A guard event as the API returns it."""

    id: int
    created_at: datetime


class RuleRecord(SQLModel, table=True):
    """One version of one rule, as YAML-shaped JSON. The newest non-deleted version is in force."""

    __table_args__ = (UniqueConstraint("rule_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(index=True)
    version: int = 1
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    deleted: bool = False
    author: str | None = None
    change: str = "create"  # seed | create | update | delete | import | exception
    note: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class RulePublic(SQLModel):
    """A rule version as the API returns it."""

    rule_id: str
    version: int
    body: dict[str, Any]
    deleted: bool
    author: str | None
    change: str
    note: str | None
    created_at: datetime


class DisclosureRecord(SQLModel, table=True):
    """One version of the rule pack's required disclosures (a list, versioned as a whole)."""

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, unique=True)
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    author: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


# --- API shapes (not tables); plain pydantic: the verdict keeps any extra field the guard adds ------------


class GuardCheckIn(pydantic.BaseModel):
    """POST /v1/guard/check."""

    text: str = pydantic.Field(min_length=1)
    speaker: Literal["agent", "customer", "suggestion"] = "agent"


class VerdictPublic(pydantic.BaseModel):
    """The guard's verdict, as in `assist guard check`."""

    model_config = pydantic.ConfigDict(extra="allow")

    action: Literal["block", "warn", "allow"]
    matches: list[dict[str, Any]] = pydantic.Field(default_factory=list)
    advice: str | None = None
