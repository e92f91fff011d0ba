"""The audit service: entries carry who, what and the identifiers; nothing updates or deletes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from assist import audit
from assist.config import get_settings
from assist.db import make_engine
from assist.models.audit import AuditEntry, AuditImmutableError
from assist.models.common import utcnow
from assist.models.keys import ApiKey, Role


@pytest.fixture
def session():
    engine = make_engine(get_settings())
    with Session(engine, expire_on_commit=False) as s:
        yield s


def _key(role: Role = Role.editor, name: str = "ed") -> ApiKey:
    return ApiKey(name=name, role=role, key_hash=f"h-{name}", prefix="p")


def test_record_carries_actor_role_and_identifiers(session):
    key = _key()
    entry = audit.record(
        session,
        actor=key,
        action="document.retire",
        target_type="document",
        target_id="d1",
        before={"status": "published"},
        after={"status": "retired"},
    )
    session.commit()
    got = session.get(AuditEntry, entry.id)
    assert (got.actor, got.role, got.actor_key_id) == ("ed", "editor", key.id)
    assert got.before == {"status": "published"} and got.after == {"status": "retired"}
    assert got.target_id == "d1"


def test_record_without_key_is_system_or_named(session):
    a = audit.record(session, actor=None, action="rule.seed", target_type="rule")
    b = audit.record(session, actor=None, action="key.create", target_type="api_key", target_id=7, actor_name="cli")
    assert (a.actor, a.role) == ("system", "system")
    assert (b.actor, b.target_id) == ("cli", "7")


def test_orm_update_and_delete_are_refused(session):
    entry = audit.record(session, actor=None, action="x.y", target_type="t")
    session.commit()
    entry.action = "tampered"
    with pytest.raises(AuditImmutableError):
        session.commit()
    session.rollback()
    session.delete(session.get(AuditEntry, entry.id))
    with pytest.raises(AuditImmutableError):
        session.commit()
    session.rollback()
    assert session.get(AuditEntry, entry.id).action == "x.y"


def test_raw_sql_update_and_delete_are_refused_by_the_database(session):
    entry = audit.record(session, actor=None, action="x.y", target_type="t")
    session.commit()
    with pytest.raises(Exception, match="append-only"):
        session.execute(text("UPDATE auditentry SET action='z'"))
    session.rollback()
    with pytest.raises(Exception, match="append-only"):
        session.execute(text("DELETE FROM auditentry"))
    session.rollback()
    assert session.get(AuditEntry, entry.id) is not None


def test_list_filters(session):
    k = _key(Role.compliance, "cathy")
    audit.record(session, actor=k, action="rule.create", target_type="rule", target_id="r1")
    audit.record(session, actor=k, action="rule.update", target_type="rule", target_id="r1")
    audit.record(session, actor=None, action="document.upload", target_type="document", target_id="d1")
    session.commit()
    assert [e.action for e in audit.list_entries(session=session, action="rule.*")] == ["rule.update", "rule.create"]
    assert len(audit.list_entries(session=session, actor="cathy")) == 2
    assert len(audit.list_entries(session=session, target_id="d1")) == 1
    assert len(audit.list_entries(session=session, role="system")) == 1
    assert audit.list_entries(session=session, date_from=utcnow() + timedelta(minutes=1)) == []
    assert len(audit.list_entries(session=session, date_to=utcnow() + timedelta(minutes=1))) == 3
    assert len(audit.list_entries(session=session, limit=1)) == 1


def test_key_create_and_revoke_are_audited_whatever_the_code_path(session):
    from assist.security.keys import create_key, revoke_key

    key, _plain = create_key(session, role=Role.agent, name="amy")
    revoke_key(session, key_id=key.id)
    revoke_key(session, key_id=key.id)  # idempotent: no second entry
    entries = audit.list_entries(session=session, target_type="api_key")
    assert [e.action for e in entries] == ["key.revoke", "key.create"]
    created = entries[1]
    assert created.target_id == key.id and created.after["name"] == "amy" and created.after["role"] == "agent"
    assert created.actor.startswith("cli:") and created.role == "system"
    assert "key_hash" not in created.after  # never the secret or its hash
    assert entries[0].after["revoked"] is True
