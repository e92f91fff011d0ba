"""The document lifecycle over HTTP: upload, new versions, retirement, review of flagged documents, limits
and background jobs. Search never serves stale text, and a failed upload stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from assist.knowledge import documents as documents_service
from assist.knowledge import ingest_jobs
from assist.models.audit import AuditEntry
from assist.models.documents import Chunk, Document, IngestJob
from ingest.loaders import SUPPORTED
from tests.utils import bombs

V1 = "# 信用卡年费\n\n金卡年费每年三百元，刷卡满六次免次年年费。\n"
V2 = "# 信用卡年费\n\n金卡年费每年二百元，刷卡满十二次免次年年费。\n"
V3 = "# 信用卡年费\n\n金卡年费已取消，终身免年费。\n"
FLAGGED = "# 稳健理财计划\n\n本产品保本，稳赚不赔，适合所有客户。\n"


def upload(client, hdrs, name: str, text: str | bytes, **form):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post("/v1/documents", headers=hdrs, files={"file": (name, data)}, data=form)


def search(client, query: str) -> list[str]:
    results = client.app.state.knowledge.retriever.retrieve(query, k=10)
    return [r.text or r.snippet for r in results]


def counts(client) -> tuple[int, int, int, int]:
    with Session(client.app.state.db_engine) as s:
        return (
            s.exec(select(func.count()).select_from(Document)).one(),
            s.exec(select(func.count()).select_from(Chunk)).one(),
            s.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.target_type == "document")).one(),
            len(client.app.state.knowledge.index),
        )


def actions(client, target_id: str | None = None) -> list[str]:
    with Session(client.app.state.db_engine) as s:
        stmt = select(AuditEntry).where(AuditEntry.target_type == "document").order_by(AuditEntry.id)
        if target_id:
            stmt = stmt.where(AuditEntry.target_id == target_id)
        return [e.action for e in s.exec(stmt)]


def test_lifecycle_upload_versions_retire_never_serves_stale_text(client, headers):
    ed = headers["editor"]
    r = upload(client, ed, "card_fees.md", V1, product="credit_card", tags="fees, cards")
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert (v1["version"], v1["status"], v1["outcome"]) == (1, "published", "new")
    assert v1["chunks"] >= 1 and v1["flags"] == []
    assert any("三百元" in t for t in search(client, "金卡年费多少钱"))

    # a new version through `replaces`
    r = upload(client, ed, "fees_2025.md", V2, replaces=v1["id"])
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert (v2["version"], v2["outcome"], v2["family_id"]) == (2, "updated", v1["family_id"])
    texts = search(client, "金卡年费多少钱")
    assert any("二百元" in t for t in texts) and not any("三百元" in t for t in texts)

    # a new version through the same source name
    r = upload(client, ed, "card_fees.md", V3)  # the family keeps its first source name
    assert r.status_code == 201 and r.json()["version"] == 3
    texts = search(client, "金卡年费")
    assert any("取消" in t for t in texts) and not any("二百元" in t or "三百元" in t for t in texts)

    # identical content: a no-op, not audited
    before = actions(client)
    r = upload(client, ed, "card_fees.md", V3)
    assert r.status_code == 201 and r.json()["outcome"] == "unchanged" and r.json()["version"] == 3
    assert actions(client) == before

    v3_id = r.json()["id"]
    detail = client.get(f"/v1/documents/{v3_id}", headers=headers["compliance"]).json()
    assert [(v["version"], v["status"]) for v in detail["versions"]] == [
        (3, "published"),
        (2, "superseded"),
        (1, "superseded"),
    ]
    assert detail["product"] is None or isinstance(detail["product"], str)
    first = client.get(f"/v1/documents/{v1['id']}", headers=ed).json()
    assert first["product"] == "credit_card" and first["tags"] == ["fees", "cards"]

    r = client.post(f"/v1/documents/{v3_id}/retire", headers=ed)
    assert r.status_code == 200 and r.json()["status"] == "retired"
    texts = search(client, "金卡年费")
    assert not any(w in t for t in texts for w in ("取消", "二百元", "三百元"))
    assert client.post(f"/v1/documents/{v3_id}/retire", headers=ed).status_code == 409

    listed = client.get("/v1/documents", params={"status": "retired"}, headers=ed).json()
    assert [d["id"] for d in listed] == [v3_id]
    latest = client.get("/v1/documents", params={"latest": True}, headers=ed).json()
    assert [d["version"] for d in latest] == [3]
    assert actions(client) == ["document.upload", "document.version", "document.version", "document.retire"]
    with Session(client.app.state.db_engine) as s:
        version_entry = s.exec(select(AuditEntry).where(AuditEntry.action == "document.version")).first()
        assert version_entry.before["id"] == v1["id"] and version_entry.after["id"] == v2["id"]
        assert version_entry.actor == "editor-tester" and version_entry.role == "editor"


def test_detail_and_list_filters(client, headers):
    ed = headers["editor"]
    a = upload(
        client, ed, "a.md", "# Mortgage prepayment\n\nPrepaying costs one percent.\n", product="mortgage", language="en"
    ).json()
    upload(client, ed, "b.md", "# 房贷提前还款\n\n提前还款需要提前三十天预约。\n", product="mortgage")
    got = client.get("/v1/documents", params={"language": "en"}, headers=ed).json()
    assert [d["id"] for d in got] == [a["id"]]
    assert len(client.get("/v1/documents", params={"product": "mortgage"}, headers=ed).json()) == 2
    assert client.get("/v1/documents/nope", headers=ed).status_code == 404
    assert client.get("/v1/documents", params={"status": "bogus"}, headers=ed).status_code == 422


def test_flagged_document_waits_for_review_then_is_approved(client, headers):
    r = upload(client, headers["editor"], "wealth.md", FLAGGED)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["status"] == "needs_review"
    assert {f["rule_id"] for f in doc["flags"]} >= {"guaranteed_return"}
    assert not any("适合所有客户" in t for t in search(client, "稳健理财计划适合谁"))
    queue = client.get("/v1/documents", params={"status": "needs_review"}, headers=headers["compliance"])
    assert [d["id"] for d in queue.json()] == [doc["id"]]

    # the editor may not approve their own flagged document
    assert (
        client.post(
            f"/v1/documents/{doc['id']}/review", headers=headers["editor"], json={"decision": "approve"}
        ).status_code
        == 403
    )
    r = client.post(
        f"/v1/documents/{doc['id']}/review",
        headers=headers["compliance"],
        json={"decision": "approve", "note": "quoted from the regulator's own example"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    assert any("适合所有客户" in t for t in search(client, "稳健理财计划适合谁"))
    # only a document waiting for review can be reviewed
    assert (
        client.post(
            f"/v1/documents/{doc['id']}/review", headers=headers["compliance"], json={"decision": "approve"}
        ).status_code
        == 409
    )
    assert actions(client, doc["id"]) == ["document.upload", "document.approve"]


def test_flagged_document_sent_back_with_a_note(client, headers):
    doc = upload(client, headers["editor"], "wealth.md", FLAGGED).json()
    r = client.post(
        f"/v1/documents/{doc['id']}/review",
        headers=headers["compliance"],
        json={"decision": "reject", "note": "删除“保本”与“稳赚不赔”"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "needs_review" and body["review_note"] == "删除“保本”与“稳赚不赔”"
    assert not any("适合所有客户" in t for t in search(client, "稳健理财计划适合谁"))
    seen = client.get(f"/v1/documents/{doc['id']}", headers=headers["editor"]).json()
    assert seen["review_note"] == "删除“保本”与“稳赚不赔”"
    assert [h["action"] for h in seen["history"]] == ["document.reject", "document.upload"]


@pytest.mark.parametrize(
    "name, payload, status, words",
    [
        ("virus.exe", b"MZ\x90\x00binary", 415, ["unsupported", ".exe"]),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", 422, ["broken.pdf"]),
        ("empty.md", b"", 422, ["empty.md"]),
        ("binary.txt", bytes(range(256)) * 4, 422, ["binary.txt"]),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(client, headers, name, payload, status, words):
    upload(client, headers["editor"], "ok.md", V1)
    before = counts(client)
    r = upload(client, headers["editor"], name, payload)
    assert r.status_code == status, r.text
    for w in words:
        assert w in r.json()["detail"]
    assert counts(client) == before


def test_too_large_upload_is_413_naming_the_limit_and_stores_nothing(client, headers, monkeypatch):
    settings = client.app.state.settings
    monkeypatch.setattr(settings, "max_upload_mb", 0.001)
    before = counts(client)
    r = upload(client, headers["editor"], "big.md", "# 大\n\n" + "年费说明。" * 200)
    assert r.status_code == 413
    assert "0.001 MB" in r.json()["detail"]
    assert counts(client) == before


def test_a_decompression_bomb_upload_is_413_naming_the_limit_and_stores_nothing(client, headers):
    """The reported DOCX: 20 MB of XML in ~100 KB ran 125 s in the request and published 2,511 chunks."""
    upload(client, headers["editor"], "ok.md", V1)
    before, audited = counts(client), actions(client)
    r = upload(client, headers["editor"], "bomb.docx", bombs.docx_bomb(20_000_000))
    assert r.status_code == 413, r.text
    detail = r.json()["detail"]
    assert detail.startswith("bomb.docx: archive entry 'word/document.xml' is compressed ")
    assert detail.endswith("over the limit of 100:1 (ASSIST_MAX_COMPRESSION_RATIO)")
    assert counts(client) == before and actions(client) == audited


def test_a_limit_refusal_in_a_background_job_is_its_error_and_stores_nothing(client, headers, monkeypatch):
    monkeypatch.setattr(documents_service, "BACKGROUND_BYTES", 10)
    before = counts(client)
    r = upload(client, headers["editor"], "statement.pdf", bombs.many_page_pdf(600))
    assert r.status_code == 202, r.text
    job = client.get(f"/v1/documents/jobs/{r.json()['id']}", headers=headers["editor"]).json()
    assert (job["status"], job["error_status"]) == ("failed", 413)
    assert job["error"] == "statement.pdf: the PDF has 600 pages, over the limit of 500 pages (ASSIST_MAX_PDF_PAGES)"
    assert counts(client) == before


def test_replaces_an_unknown_document_is_404(client, headers):
    r = upload(client, headers["editor"], "x.md", V1, replaces="does-not-exist")
    assert r.status_code == 404 and "does-not-exist" in r.json()["detail"]


def test_bad_metadata_is_422_with_the_field(client, headers):
    r = upload(client, headers["editor"], "x.md", V1, effective_from="tomorrow")
    assert r.status_code == 422 and "effective_from" in r.json()["detail"]
    r = upload(client, headers["editor"], "x.md", V1, effective_from="2025-02-01", effective_to="2025-01-01")
    assert r.status_code == 422 and "effective_to" in r.json()["detail"]
    r = client.post("/v1/documents", headers=headers["editor"], data={"title": "no file"})
    assert r.status_code == 422 and "file" in r.json()["detail"]


def test_large_upload_runs_in_the_background_with_a_pollable_job(client, headers, monkeypatch):
    monkeypatch.setattr(documents_service, "BACKGROUND_BYTES", 10)
    r = upload(client, headers["editor"], "card_fees.md", V1)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/documents/jobs/{job['id']}"
    polled = client.get(f"/v1/documents/jobs/{job['id']}", headers=headers["editor"]).json()
    assert polled["status"] == "done" and polled["result"]["version"] == 1
    assert any("三百元" in t for t in search(client, "金卡年费多少钱"))
    assert actions(client, polled["result"]["id"]) == ["document.upload"]

    r = upload(client, headers["editor"], "broken.pdf", b"%PDF-1.4 not a pdf at all")
    assert r.status_code == 202
    failed = client.get(f"/v1/documents/jobs/{r.json()['id']}", headers=headers["editor"]).json()
    assert failed["status"] == "failed" and failed["error_status"] == 422 and "broken.pdf" in failed["error"]
    assert client.get("/v1/documents/jobs/nope", headers=headers["editor"]).status_code == 404
    # an unsupported type is refused at once, not after polling
    r = upload(client, headers["editor"], "setup.exe", b"MZ" + b"\0" * 100)
    assert r.status_code == 415 and "setup.exe" in r.json()["detail"]
    with Session(client.app.state.db_engine) as s:
        assert len(s.exec(select(IngestJob)).all()) == 2


def test_a_job_cut_off_by_a_restart_reports_failure_instead_of_hanging(client, headers, db):
    import socket

    gone = IngestJob(filename="big.pdf", status="running", worker=ingest_jobs.WORKER_ID)
    dead = IngestJob(filename="big2.pdf", status="queued", worker=f"{socket.gethostname()}:999999999")
    elsewhere = IngestJob(filename="big3.pdf", status="running", worker="other-host:1")
    db.add_all([gone, dead, elsewhere])
    db.commit()
    for job in (gone, dead):
        got = client.get(f"/v1/documents/jobs/{job.id}", headers=headers["editor"]).json()
        assert got["status"] == "failed" and got["error_status"] == 503 and "upload it again" in got["error"]
    assert client.get(f"/v1/documents/jobs/{elsewhere.id}", headers=headers["editor"]).json()["status"] == "running"


@pytest.mark.parametrize("background", [False, True], ids=["in-request", "background"])
def test_the_upload_route_and_the_registry_agree_on_the_supported_types(client, headers, monkeypatch, background):
    """Small uploads are typed by the loader, large ones by the route before a job starts: both use the registry."""
    if background:
        monkeypatch.setattr(documents_service, "BACKGROUND_BYTES", 10)
    for suffix in SUPPORTED:
        r = upload(client, headers["editor"], f"probe{suffix}", b"# Probe\n\nNot necessarily a valid file.\n")
        assert r.status_code != 415, (suffix, r.text)
    for name in ("deck.pptx", "sheet.xlsx", "old.doc", "data.json", "README"):
        r = upload(client, headers["editor"], name, b"# Probe\n\ntext\n")
        assert r.status_code == 415, (name, r.text)
        suffix = Path(name).suffix
        shown = f"'{suffix}'" if suffix else "(no extension)"
        assert r.json()["detail"] == f"{name}: unsupported file type {shown} (supported: {', '.join(SUPPORTED)})"
