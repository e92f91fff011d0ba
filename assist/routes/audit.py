"""Routes for the audit log: read-only, for compliance and admin. No route edits or deletes an entry."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Query

from assist import audit
from assist.compliance.review import as_utc, parse_bound
from assist.deps import SessionDep, require_roles
from assist.models.audit import AuditEntryPublic
from assist.models.keys import Role
from assist.routes.events import FromQuery, ToQuery

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[Depends(require_roles(Role.compliance))])


@router.get("", response_model=list[AuditEntryPublic])
def list_audit(
    session: SessionDep,
    action: str | None = Query(None, max_length=100, description="exact action, or a prefix like `rule.*`"),
    actor: str | None = Query(None, max_length=200, description="the key name"),
    role: str | None = Query(None, max_length=50),
    target_type: str | None = Query(None, max_length=50),
    target_id: str | None = Query(None, max_length=200),
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> list[AuditEntryPublic]:
    """The audit log, newest first, filtered by action, actor, role, target and date range."""
    entries = audit.list_entries(
        session=session,
        action=action,
        actor=actor,
        role=role,
        target_type=target_type,
        target_id=target_id,
        date_from=as_utc(parse_bound(date_from, field="from")),
        date_to=as_utc(parse_bound(date_to, field="to"), end_of_day=True),
        limit=limit,
        offset=offset,
    )
    return [AuditEntryPublic.model_validate(e, from_attributes=True) for e in entries]
