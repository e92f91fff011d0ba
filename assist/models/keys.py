"""API keys. Only a hash of the key is stored; the key itself is shown once."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum

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
    team: str | None = None  # the agent's team (QA and first-contact resolution are grouped by it)


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


class CallAccess(IntEnum):
    """What a key may do with one call, weakest first (assist.security.keys.call_access decides)."""

    none = 0  # not even know that it exists: such a call is "not found"
    read = 1  # GET the transcript, suggestions and alerts (compliance, on every call)
    listen = 2  # read, and stream the call live without adding to it (a supervisor)
    act = 3  # everything: post turns, end the call, rate suggestions (the call's owner, admin, a connector)


class GrantAccess(StrEnum):
    """The access a grant gives to another key's calls."""

    listen = "listen"
    act = "act"


class KeyGrant(SQLModel, table=True):
    """Access an admin gave one agent key to the calls of another key (or of every key), until removed.

    `access` is stored as text, not as a database enum, so that a new kind of grant needs no migration.
    """

    id: str = Field(default_factory=new_id, primary_key=True)
    grantee_key_id: str = Field(foreign_key="apikey.id", index=True)
    owner_key_id: str | None = Field(default=None, foreign_key="apikey.id")  # None: the calls of every key
    access: str  # a GrantAccess value
    created_at: datetime = Field(default_factory=utcnow)
    removed_at: datetime | None = None


class KeyGrantPublic(SQLModel):
    """A grant as listed."""

    id: str
    grantee_key_id: str
    owner_key_id: str | None
    access: str
    created_at: datetime
    removed_at: datetime | None
