"""Answers kept for POSTs that carried an `Idempotency-Key` header, so a retry gets the first answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from assist.models.common import utcnow


class IdempotencyRecord(SQLModel, table=True):
    """One key of one API key: what it was sent with (a fingerprint) and, once answered, the answer."""

    owner: str = Field(primary_key=True, max_length=64)  # the API key's id: keys of different clients never meet
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)  # sha256 of the method, path and body
    status: str = "pending"  # pending | done
    status_code: int | None = None
    response: Any = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    completed_at: datetime | None = None
