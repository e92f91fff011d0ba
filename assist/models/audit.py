"""The append-only audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from assist.models.common import utcnow


class AuditEntry(SQLModel, table=True):
    """Who did what, when, with the identifiers before and after. Never updated or deleted."""

    id: int | None = Field(default=None, primary_key=True)
    actor: str
    role: str
    action: str = Field(index=True)
    target_type: str
    target_id: str | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, index=True)
