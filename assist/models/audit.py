"""The append-only audit log.

Nothing in the product updates or deletes an entry. The ORM refuses it (mapper events), and on SQLite
and PostgreSQL the database refuses it too (triggers created with the table), so a raw UPDATE or DELETE
fails as well.
"""

from __future__ import annotations

import getpass
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, Column, event
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Field, SQLModel

from assist.models.common import utcnow
from assist.models.keys import ApiKey


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


# ---------------------------------------------------------------- key events
# Keys are created and revoked by the CLI (assist.cli) through assist.security.keys. Listening on the ApiKey mapper
# records every such event whatever the code path, in the same transaction as the change itself.

# Who is acting, when it is not an API key (e.g. the CLI sets "cli:<user>"); read by the key-event hooks.
audit_actor: ContextVar[tuple[str, str] | None] = ContextVar("audit_actor", default=None)


def _cli_actor() -> tuple[str, str]:
    actor = audit_actor.get()
    if actor is not None:
        return actor
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "unknown"
    return f"cli:{user}", "system"


def _key_ids(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "role": str(key.role), "prefix": key.prefix}


def _insert_entry(conn: Any, *, action: str, key: ApiKey, before: Any, after: Any) -> None:
    actor, role = _cli_actor()
    conn.execute(
        _table.insert().values(
            actor=actor,
            role=role,
            action=action,
            target_type="api_key",
            target_id=key.id,
            before=before,
            after=after,
            created_at=utcnow(),
        )
    )


@event.listens_for(ApiKey, "after_insert")
def _key_created(_mapper: Any, conn: Any, key: ApiKey) -> None:
    after = {**_key_ids(key), "team": key.team} if key.team else _key_ids(key)
    _insert_entry(conn, action="key.create", key=key, before=None, after=after)


@event.listens_for(ApiKey, "after_update")
def _key_changed(_mapper: Any, conn: Any, key: ApiKey) -> None:
    team = sa_inspect(key).attrs.team.history
    if team.has_changes():
        old = team.deleted[0] if team.deleted else None
        before, after = {**_key_ids(key), "team": old}, {**_key_ids(key), "team": key.team}
        _insert_entry(conn, action="key.team", key=key, before=before, after=after)
    hist = sa_inspect(key).attrs.revoked_at.history
    if hist.has_changes() and key.revoked_at is not None:
        _insert_entry(
            conn,
            action="key.revoke",
            key=key,
            before={**_key_ids(key), "revoked": False},
            after={**_key_ids(key), "revoked": True},
        )
