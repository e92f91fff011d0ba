"""The append-only audit log.

Nothing in the product updates or deletes an entry. The ORM refuses it (mapper events), and on SQLite
and PostgreSQL the database refuses it too (triggers created with the table), so a raw UPDATE or DELETE
fails as well.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, Column, event
from sqlmodel import Field, SQLModel

from assist.models.common import utcnow


class AuditEntryBase(SQLModel):
    """Fields shared by every shape of an audit entry."""

    actor: str  # the key's name, or "system" / "cli" when no key was involved
    role: str  # the key's role, or "system"
    action: str = Field(index=True)  # e.g. document.upload, rule.update, guard_event.review, key.create
    target_type: str = Field(index=True)  # document | rule | guard_event | api_key | ...
    target_id: str | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class AuditEntry(AuditEntryBase, table=True):
    """Who did what, when, with the identifiers before and after. Never updated or deleted."""

    id: int | None = Field(default=None, primary_key=True)
    actor_key_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)


class AuditEntryPublic(AuditEntryBase):
    """An audit entry as the API returns it."""

    id: int
    actor_key_id: str | None
    created_at: datetime


class AuditImmutableError(RuntimeError):
    """Raised when code tries to change or remove an audit entry."""


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: AuditEntry) -> None:
    raise AuditImmutableError(f"audit entry {target.id} is append-only: it cannot be updated")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper: Any, _conn: Any, target: AuditEntry) -> None:
    raise AuditImmutableError(f"audit entry {target.id} is append-only: it cannot be deleted")


_table = AuditEntry.__table__  # type: ignore[attr-defined]
for _op in ("UPDATE", "DELETE"):
    event.listen(
        _table,
        "after_create",
        DDL(
            f"CREATE TRIGGER IF NOT EXISTS auditentry_no_{_op.lower()} BEFORE {_op} ON auditentry "
            "BEGIN SELECT RAISE(ABORT, 'auditentry is append-only'); END"
        ).execute_if(dialect="sqlite"),
    )
event.listen(
    _table,
    "after_create",
    DDL(
        "CREATE OR REPLACE FUNCTION auditentry_append_only() RETURNS trigger AS $body$ "
        "BEGIN RAISE EXCEPTION 'auditentry is append-only'; END $body$ LANGUAGE plpgsql"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    _table,
    "after_create",
    DDL(
        "CREATE TRIGGER auditentry_append_only BEFORE UPDATE OR DELETE ON auditentry "
        "FOR EACH ROW EXECUTE FUNCTION auditentry_append_only()"
    ).execute_if(dialect="postgresql"),
)
