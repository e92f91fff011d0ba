"""API keys. Only a hash of the key is stored; the key itself is shown once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from assist.models.common import new_id, utcnow


class Role(StrEnum):
    """What a key may do. admin may do everything."""

    agent = "agent"
    editor = "editor"
    compliance = "compliance"
    admin = "admin"


class ApiKeyBase(SQLModel):
    """Fields shared by every shape of a key."""

    name: str
    role: Role


class ApiKey(ApiKeyBase, table=True):
    """A key as stored: its SHA-256 and a short prefix to recognise it."""

    id: str = Field(default_factory=new_id, primary_key=True)
    key_hash: str = Field(index=True, unique=True)
    prefix: str
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class ApiKeyPublic(ApiKeyBase):
    """A key as listed: never the key itself."""

    id: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
