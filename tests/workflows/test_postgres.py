"""The workflow services on PostgreSQL: the append-only audit triggers, JSON filters of the review queue,
and rule versions. Skipped unless ASSIST_TEST_POSTGRES_URL points at a server (.ci/run starts one)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from assist import audit
from assist.compliance import packs, review, store, swap
from assist.config import Settings
from assist.db import make_engine
from assist.models.guard import GuardEvent

URL = os.environ.get("ASSIST_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="ASSIST_TEST_POSTGRES_URL is not set (no PostgreSQL server)"),
]


@pytest.fixture
def session(tmp_path) -> Iterator[Session]:
    engine = make_engine(Settings(database_url=URL, data_dir=tmp_path))
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        yield s
    SQLModel.metadata.drop_all(engine)
    engine.dispose()


def test_audit_is_append_only_in_postgres(session):
    entry = audit.record(session, actor=None, action="x.y", target_type="t", after={"id": "保本"})
    session.commit()
    for sql in ("UPDATE auditentry SET action='z'", "DELETE FROM auditentry"):
        with pytest.raises(Exception, match="append-only"):
            session.execute(text(sql))
        session.rollback()
    assert audit.list_entries(session=session, action="x.*")[0].id == entry.id


def test_review_filters_and_rules_in_postgres(session, rules_dir):
    session.add_all(
        [
            GuardEvent(action="block", text="a", rule_ids=["no_risk"], categories=["no_risk"]),
            GuardEvent(action="block", text="b", rule_ids=["no_risk_x"], categories=["c"]),
        ]
    )
    session.commit()
    assert [e.text for e in review.list_events(session=session, rule_id="no_risk")] == ["a"]
    assert review.stats(session=session).events == 2
    assert packs.ensure_seeded(session=session, rules_path=rules_dir) == 2
    store.add_exception(session=session, rule_id="guaranteed_return", phrase="保本理财", actor=None)
    session.commit()
    assert store.current_versions(session=session) == {"guaranteed_return": 2, "no_risk": 1}
    assert swap.build_guard(session=session).check("我们的保本理财卖完了", "agent").action == "allow"
