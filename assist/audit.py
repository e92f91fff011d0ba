"""The audit log: one append-only entry for every upload, version, retirement, review, rule change and key
event. Entries are only ever added here; nothing in the product updates or deletes them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from assist.models.audit import AuditEntry
from assist.models.documents import Document
from assist.models.keys import ApiKey

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"


def cli_actor_name() -> str:
    """`cli:<login name>`: who a change made from the command line is recorded as (as for key events)."""
    from assist.models.audit import _cli_actor  # the one definition, shared with the key-event hooks

    return _cli_actor()[0]


def record(
    session: Session,
    *,
    actor: ApiKey | None,
    action: str,
    target_type: str,
    target_id: str | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Add one audit entry to the session (the caller's transaction commits it with the change itself).

    Args:
        session: the session of the change being audited, so the entry and the change commit together.
        actor: the API key that made the change; None for the CLI or the system itself.
        action: what happened, as `<resource>.<verb>` (e.g. `document.retire`).
        target_type: the kind of thing changed (document, rule, guard_event, api_key, ...).
        target_id: its id.
        before: identifiers (and the state that matters) before the change.
        after: the same after the change.
        actor_name: who acted when there is no key (e.g. `cli`); defaults to `system`.
    """
    if actor is not None:
        name, role, key_id = actor.name, str(actor.role), actor.id
    else:
        name, role, key_id = actor_name or SYSTEM_ACTOR, SYSTEM_ACTOR, None
    entry = AuditEntry(
        actor=name,
        role=role,
        actor_key_id=key_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
    )
    session.add(entry)
    session.flush()
    logger.info("audit", extra={"action": action, "target_type": target_type, "target_id": entry.target_id})
    return entry


def list_entries(
    *,
    session: Session,
    action: str | None = None,
    actor: str | None = None,
    role: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Audit entries, newest first, filtered. `action` ending in `.*` matches a prefix (`rule.*`)."""
    stmt = select(AuditEntry)
    if action:
        if action.endswith(".*"):
            stmt = stmt.where(col(AuditEntry.action).startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if role:
        stmt = stmt.where(AuditEntry.role == role)
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if date_from:
        stmt = stmt.where(col(AuditEntry.created_at) >= date_from)
    if date_to:
        stmt = stmt.where(col(AuditEntry.created_at) < date_to)
    stmt = stmt.order_by(col(AuditEntry.id).desc()).offset(offset).limit(limit)
    return list(session.exec(stmt).all())


# ---------------------------------------------------------------- documents stored
# Every stored document version has one entry saying it was stored: `document.upload` (version 1) or
# `document.version`. The pipeline writes it in the transaction that stores the version, whoever ingests
# (an upload, a background job, `assist ingest`); recovery writes the ones a crash or older code left out.

STORED_ACTIONS = ("document.upload", "document.version")


def record_document_stored(
    session: Session,
    *,
    document: Document,
    actor: ApiKey | None = None,
    actor_name: str | None = None,
    recovered: bool = False,
    job_id: str | None = None,
) -> AuditEntry:
    """Add the entry saying that `document` (a version) was stored, in the caller's transaction.

    Args:
        session: The session that stores the version (or repairs its record).
        document: The stored version, flushed (it has its id, family and version).
        actor: The API key that uploaded it; None for the CLI or the system.
        actor_name: Who acted when there is no key (e.g. `cli:<user>`); defaults to `system`.
        recovered: The entry is written after the fact (by recovery or a re-upload), not with the version.
        job_id: The background job that stored it, if any.
    """
    before = None
    if document.version > 1:
        prev = session.exec(
            select(Document)
            .where(Document.family_id == document.family_id, col(Document.version) < document.version)
            .order_by(col(Document.version).desc())
        ).first()
        before = {"id": prev.id, "version": prev.version} if prev else None
    after: dict[str, Any] = {
        "id": document.id,
        "family_id": document.family_id,
        "version": document.version,
        "status": document.status.value,
        "chunks": document.chunk_count,
        "flags": len(document.flags or []),
        "source": document.source,
    }
    if job_id:
        after["job"] = job_id
    if recovered:
        after["recovered"] = True
    return record(
        session,
        actor=actor,
        actor_name=actor_name,
        action=STORED_ACTIONS[0] if document.version == 1 else STORED_ACTIONS[1],
        target_type="document",
        target_id=document.id,
        before=before,
        after=after,
    )


def stored_entry_exists(session: Session, *, document_id: str) -> bool:
    """Whether the version has its `document.upload` / `document.version` entry."""
    stmt = select(AuditEntry.id).where(
        AuditEntry.target_type == "document",
        AuditEntry.target_id == document_id,
        col(AuditEntry.action).in_(STORED_ACTIONS),
    )
    return session.exec(stmt.limit(1)).first() is not None


def documents_without_stored_entry(session: Session) -> list[Document]:
    """Stored versions that have no `document.upload` / `document.version` entry, oldest first."""
    audited = select(AuditEntry.target_id).where(
        AuditEntry.target_type == "document",
        col(AuditEntry.action).in_(STORED_ACTIONS),
        col(AuditEntry.target_id).is_not(None),
    )
    stmt = select(Document).where(col(Document.id).not_in(audited)).order_by(col(Document.created_at))
    return list(session.exec(stmt).all())


def serialize_repairs(session: Session) -> None:
    """Make this transaction the only one repairing records until it ends, across processes.

    Two servers starting at once would otherwise both see the same entry missing and both write it.
    PostgreSQL: a transaction-level advisory lock. SQLite: a write first, which takes the database's
    write lock (the other transaction waits, then reads what this one wrote).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_REPAIR_LOCK_KEY))  # type: ignore[call-overload]
    elif dialect == "sqlite":
        session.exec(text("UPDATE ingestjob SET status = status WHERE 1 = 0"))  # type: ignore[call-overload]


_REPAIR_LOCK_KEY = 0x61756469  # "audi"
