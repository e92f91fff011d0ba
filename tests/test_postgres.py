"""The same document lifecycle on PostgreSQL (ASSIST_DATABASE_URL), when a server is available."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import Session, create_engine, select

from assist.models import AuditEntry, Document, DocumentStatus
from tests.factories import make_kb, write

URL = os.environ.get("ASSIST_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="set ASSIST_TEST_POSTGRES_URL (.ci/start-postgres prints one)"),
]

DOC = "---\nsource: pg-card\n---\n# 信用卡\n\n## 补卡\n\n补卡费每张二十元，首次免费。\n"


@pytest.fixture()
def pg_url() -> str:
    assert URL
    engine = create_engine(URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    engine.dispose()
    return URL


def test_lifecycle_on_postgres(tmp_path: Path, _isolated_data_dir: Path, pg_url: str) -> None:
    kb = make_kb(_isolated_data_dir, database_url=pg_url)
    f = write(tmp_path / "card.md", DOC)
    first = kb.ingest_paths([f]).items[0]
    assert first.outcome == "new"
    assert kb.ingest_paths([f]).items[0].outcome == "unchanged"
    write(f, DOC.replace("二十元", "十五元"))
    second = kb.ingest_paths([f]).items[0]
    assert (second.outcome, second.version) == ("updated", 2)
    texts = [r.text for r in kb.retriever.retrieve("补卡费", k=5)]
    assert any("十五元" in t for t in texts) and not any("二十元" in t for t in texts)
    kb.retire(document_id=second.document_id)
    assert kb.retriever.retrieve("补卡费", k=5) == []
    with Session(kb.engine) as s:
        statuses = sorted((d.version, d.status) for d in s.exec(select(Document)))
    assert statuses == [(1, DocumentStatus.superseded), (2, DocumentStatus.retired)]


def test_audit_log_is_append_only_on_postgres(_isolated_data_dir: Path, pg_url: str) -> None:
    kb = make_kb(_isolated_data_dir, database_url=pg_url)
    with Session(kb.engine) as s:
        s.add(AuditEntry(actor="t", role="admin", action="test", target_type="x"))
        s.commit()
    with kb.engine.begin() as conn, pytest.raises(Exception, match="append-only|not allowed|audit"):
        conn.exec_driver_sql("DELETE FROM auditentry")
