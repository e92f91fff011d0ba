"""The audit log: one append-only entry for every upload, version, retirement, review, rule change and key
event. Entries are only ever added here; nothing in the product updates or deletes them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from assist.models.audit import AuditEntry
from assist.models.keys import ApiKey

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"


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
