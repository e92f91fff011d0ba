"""Crash consistency of document writes: the document, its chunks, its audit entry and its ingest job agree
after a failure at any point between the writes, and after a restart; records that older code left
inconsistent are repaired on start or by a re-upload."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assist import audit
from assist.knowledge import documents as documents_service
from assist.knowledge import ingest_jobs
from assist.knowledge.documents import Upload
from assist.models.audit import AuditEntry
from assist.models.common import utcnow
from assist.models.documents import Document, DocumentStatus, IngestJob
from ingest.indexes import KnowledgeIndex

V1 = "# 信用卡年费\n\n金卡年费每年三百元，刷卡满六次免次年年费。\n"
OTHER = "# 房贷提前还款\n\n提前还款需要提前三十天预约。\n"


class ProcessDeath(BaseException):
    """Stands for the process dying: no `except Exception` catches it, nothing after it runs."""


def upload(client, hdrs, name: str, text: str, **form):  # type: ignore[no-untyped-def]
    return client.post("/v1/documents", headers=hdrs, files={"file": (name, text.encode())}, data=form)


def served(client, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.text or r.snippet for r in client.app.state.knowledge.retriever.retrieve(query, k=10)]


def documents(client) -> list[Document]:  # type: ignore[no-untyped-def]
    with Session(client.app.state.db_engine) as s:
        return list(s.exec(select(Document).order_by(Document.created_at)))


def entries(client, document_id: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with Session(client.app.state.db_engine) as s:
        stmt = select(AuditEntry).where(AuditEntry.target_type == "document", AuditEntry.target_id == document_id)
        return list(s.exec(stmt.order_by(AuditEntry.id)))


def jobs(client) -> list[IngestJob]:  # type: ignore[no-untyped-def]
    with Session(client.app.state.db_engine) as s:
        return list(s.exec(select(IngestJob).order_by(IngestJob.created_at)))


def entries_of_documents(client) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with Session(client.app.state.db_engine) as s:
        return list(s.exec(select(AuditEntry).where(AuditEntry.target_type == "document")))


def restart(app_env: None) -> TestClient:
    """A new app on the same data directory (what a restart after the crash starts)."""
    from assist.app import create_app

    return TestClient(create_app(), raise_server_exceptions=False)


def run_job_in_this_process(client, filename: str, text: str, key_id: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Create a background job as the upload route does and run it here, so a ProcessDeath reaches the test."""
    engine = client.app.state.db_engine
    with Session(engine, expire_on_commit=False) as s:
        job = IngestJob(
            filename=filename, size_bytes=len(text), created_by="editor-tester", worker=ingest_jobs.WORKER_ID
        )
        s.add(job)
        s.commit()
    ingest_jobs.started(job.id)
    client.app.state.documents.run_job(job.id, Upload(data=text.encode(), filename=filename), key_id=key_id)
    return job.id


# ------------------------------------------------------------------ a failure between the writes


def test_process_death_right_after_the_document_is_stored_leaves_a_done_job_and_its_audit_entry(
    client, headers, app_env
):
    """The reported defect: the job said "failed … upload it again" while the document was served, and no
    audit entry said who stored it."""
    original = KnowledgeIndex.replace

    def die(self, **kw):  # type: ignore[no-untyped-def]
        raise ProcessDeath  # after the database commit, before the index and the job's own record

    KnowledgeIndex.replace = die  # type: ignore[method-assign]
    try:
        with pytest.raises(ProcessDeath):
            run_job_in_this_process(client, "card_fees.md", V1)
    finally:
        KnowledgeIndex.replace = original  # type: ignore[method-assign]
    with restart(app_env) as after:
        [doc] = documents(after)
        assert doc.status == DocumentStatus.published
        [job] = jobs(after)
        assert (job.status, (job.result or {}).get("id")) == ("done", doc.id)
        polled = after.get(f"/v1/documents/jobs/{job.id}", headers=headers["editor"]).json()
        assert polled["status"] == "done" and polled["error"] is None
        assert [e.action for e in entries(after, doc.id)] == ["document.upload"]
        assert any("三百元" in t for t in served(after, "金卡年费多少钱"))  # the index was rebuilt on start


def test_process_death_inside_the_transaction_stores_nothing_and_the_job_says_so(client, headers, app_env, monkeypatch):
    def die(*_a, **_kw):  # type: ignore[no-untyped-def]
        raise ProcessDeath  # while the job's outcome is written, before the commit

    monkeypatch.setattr(ingest_jobs, "finish", die)
    with pytest.raises(ProcessDeath):
        run_job_in_this_process(client, "card_fees.md", V1)
    monkeypatch.undo()
    with restart(app_env) as after:
        assert documents(after) == []
        [job] = jobs(after)
        assert (job.status, job.error_status) == ("failed", 503)
        assert job.error == "card_fees.md: interrupted by a server restart before it was stored; upload it again"
        assert not any("三百元" in t for t in served(after, "金卡年费多少钱"))
        assert entries_of_documents(after) == []


def test_a_failure_after_the_commit_of_a_background_upload_keeps_the_job_done(client, headers, monkeypatch):
    monkeypatch.setattr(documents_service, "BACKGROUND_BYTES", 10)
    original = KnowledgeIndex.replace

    def fail_once(self, **kw):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(KnowledgeIndex, "replace", original)
        raise RuntimeError("the index could not be updated")

    monkeypatch.setattr(KnowledgeIndex, "replace", fail_once)
    r = upload(client, headers["editor"], "card_fees.md", V1)
    assert r.status_code == 202, r.text
    job = client.get(f"/v1/documents/jobs/{r.json()['id']}", headers=headers["editor"]).json()
    [doc] = documents(client)
    assert job["status"] == "done" and job["result"]["id"] == doc.id and job["error"] is None
    assert [e.actor for e in entries(client, doc.id)] == ["editor-tester"]
    client.app.state.knowledge.sync()  # what the server does every ASSIST_SYNC_INTERVAL_S
    assert any("三百元" in t for t in served(client, "金卡年费多少钱"))


def test_a_failure_after_the_commit_of_a_direct_upload_keeps_its_audit_entry(client, headers, monkeypatch):
    original = KnowledgeIndex.replace

    def fail_once(self, **kw):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(KnowledgeIndex, "replace", original)
        raise RuntimeError("the index could not be updated")

    monkeypatch.setattr(KnowledgeIndex, "replace", fail_once)
    r = upload(client, headers["editor"], "card_fees.md", V1)
    assert r.status_code == 500
    [doc] = documents(client)
    assert [(e.action, e.actor) for e in entries(client, doc.id)] == [("document.upload", "editor-tester")]
    again = upload(client, headers["editor"], "card_fees.md", V1)
    assert again.status_code == 201 and again.json()["outcome"] == "unchanged" and again.json()["id"] == doc.id
    assert len(entries(client, doc.id)) == 1


def test_a_failed_audit_write_undoes_the_status_change(client, headers, monkeypatch):
    doc = upload(client, headers["editor"], "card_fees.md", V1).json()
    real = audit.record

    def refuse(session, **kw):  # type: ignore[no-untyped-def]
        if kw["action"] == "document.retire":
            raise RuntimeError("audit log unavailable")
        return real(session, **kw)

    monkeypatch.setattr(audit, "record", refuse)
    r = client.post(f"/v1/documents/{doc['id']}/retire", headers=headers["editor"])
    assert r.status_code == 500
    assert [d.status for d in documents(client)] == [DocumentStatus.published]
    assert any("三百元" in t for t in served(client, "金卡年费多少钱"))
    assert [e.action for e in entries(client, doc["id"])] == ["document.upload"]
    monkeypatch.undo()
    r = client.post(f"/v1/documents/{doc['id']}/retire", headers=headers["editor"])
    assert r.status_code == 200 and r.json()["status"] == "retired"
    [retire] = [e for e in entries(client, doc["id"]) if e.action == "document.retire"]
    assert (retire.actor, retire.before, retire.after) == (
        "editor-tester",
        {"status": "published", "version": 1},
        {"status": "retired"},
    )


# ---------------------------------------------------------- records older code left inconsistent


def _store_without_audit(client, monkeypatch, name: str, text: str) -> Document:  # type: ignore[no-untyped-def]
    """Store a version as older code did when it crashed before its audit entry (and job record)."""
    monkeypatch.setattr(audit, "record_document_stored", lambda *a, **kw: None)
    try:
        item = client.app.state.knowledge.ingest_upload(data=text.encode(), filename=name)
    finally:
        monkeypatch.undo()
    with Session(client.app.state.db_engine) as s:
        doc = s.get(Document, item.document_id)
        assert doc is not None
        return doc


def test_recovery_on_start_settles_cut_off_jobs_and_writes_missing_audit_entries(
    client, headers, app_env, monkeypatch, db
):
    dead = f"{socket.gethostname()}:999999999"
    started = utcnow() - timedelta(seconds=5)
    running = IngestJob(filename="card_fees.md", status="running", worker=dead, created_by="editor-tester")
    running.created_at = started
    declared_failed = IngestJob(filename="mortgage.md", status="running", worker=dead, created_by="editor-tester")
    declared_failed.created_at = started
    db.add_all([running, declared_failed])
    db.commit()
    fees = _store_without_audit(client, monkeypatch, "card_fees.md", V1)
    mortgage = _store_without_audit(client, monkeypatch, "mortgage.md", OTHER)
    # older code told the editor this one failed, although its version was stored and served
    with Session(client.app.state.db_engine) as s:  # what older code wrote when the editor polled
        row = s.get(IngestJob, declared_failed.id)
        assert row is not None
        row.status, row.error_status, row.result = "failed", 503, None
        row.error = f"mortgage.md: {ingest_jobs.INTERRUPTED}"
        row.finished_at = utcnow()
        s.add(row)
        s.commit()
    cli_doc = _store_without_audit(client, monkeypatch, "faq.md", "# FAQ\n\nAsk us anything about cards.\n")
    missing = [d.id for d in documents(client) if not entries(client, d.id)]
    assert sorted(missing) == sorted([fees.id, mortgage.id, cli_doc.id])

    with restart(app_env) as after:
        for job, doc in ((running, fees), (declared_failed, mortgage)):
            polled = after.get(f"/v1/documents/jobs/{job.id}", headers=headers["editor"]).json()
            assert (polled["status"], polled["error"]) == ("done", None)
            assert polled["result"]["id"] == doc.id and polled["result"]["recovered"] is True
            [entry] = entries(after, doc.id)
            assert (entry.action, entry.actor, entry.role) == ("document.upload", "editor-tester", "editor")
            assert entry.after["recovered"] is True and entry.after["job"] == job.id
        [entry] = entries(after, cli_doc.id)
        assert (entry.action, entry.actor, entry.after["recovered"]) == ("document.upload", "system", True)
    with restart(app_env) as again:  # idempotent: a second start repairs nothing twice
        assert [len(entries(again, d.id)) for d in (fees, mortgage, cli_doc)] == [1, 1, 1]


def test_a_re_upload_of_identical_content_repairs_a_missing_audit_entry(client, headers, monkeypatch):
    doc = _store_without_audit(client, monkeypatch, "card_fees.md", V1)
    assert entries(client, doc.id) == []
    r = upload(client, headers["editor"], "card_fees.md", V1)
    assert r.status_code == 201 and r.json()["outcome"] == "unchanged" and r.json()["id"] == doc.id
    [entry] = entries(client, doc.id)
    assert (entry.action, entry.actor, entry.after["recovered"]) == ("document.upload", "editor-tester", True)
    upload(client, headers["editor"], "card_fees.md", V1)
    assert len(entries(client, doc.id)) == 1


def test_a_job_of_a_dead_process_that_stored_nothing_fails_with_the_reason(client, headers, db):
    job = IngestJob(filename="big.pdf", status="running", worker=f"{socket.gethostname()}:999999999")
    db.add(job)
    db.commit()
    got = client.get(f"/v1/documents/jobs/{job.id}", headers=headers["editor"]).json()
    assert (got["status"], got["error_status"]) == ("failed", 503)
    assert got["error"] == "big.pdf: interrupted by a server restart before it was stored; upload it again"
