"""Upload, retire and review are a service (assist.knowledge.documents) that writes its own audit entries:
an upload through the CLI and one through HTTP leave the same entry, and a change made without HTTP is
audited as one made through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from assist.cli import _register, app
from assist.knowledge.documents import Upload
from assist.models.audit import AuditEntry
from assist.models.documents import Document
from ingest.records import Actor
from tests.factories import write

runner = CliRunner()
_register()

CARD = "# 信用卡挂失\n\n## 补卡\n\n挂失后可以补卡，补卡费二十元。\n"
DRAFT = "# 新品理财\n\n本产品稳赚不赔，年化收益百分之八。\n"
# what differs between two stored versions by nature: their ids and where they came from
OWN = {"id", "family_id", "source"}


def _entries(client: TestClient) -> list[AuditEntry]:
    with Session(client.app.state.db_engine) as s:  # type: ignore[attr-defined]
        return list(s.exec(select(AuditEntry).where(AuditEntry.target_type == "document").order_by(AuditEntry.id)))


def _shape(entry: AuditEntry) -> dict[str, Any]:
    return {
        "action": entry.action,
        "target_type": entry.target_type,
        "before": entry.before,
        "after": {k: v for k, v in (entry.after or {}).items() if k not in OWN},
    }


def test_an_upload_through_the_cli_and_one_through_http_leave_the_same_audit_entry(
    client: TestClient, headers: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    r = client.post("/v1/documents", headers=headers["editor"], files={"file": ("http.md", CARD.encode())})
    assert r.status_code == 201, r.text
    r = runner.invoke(app, ["ingest", str(write(tmp_path / "kb" / "cli.md", CARD))])
    assert r.exit_code == 0, r.output
    via_http, via_cli = _entries(client)
    assert _shape(via_http) == _shape(via_cli)
    assert _shape(via_cli)["action"] == "document.upload"
    assert (via_http.actor, via_http.role) == ("editor-tester", "editor")
    assert via_cli.actor.startswith("cli:") and via_cli.role == "system"
    assert [e.after["source"] for e in (via_http, via_cli)] == ["http.md", "cli.md"]


def test_retire_and_review_called_without_http_write_the_entries_the_routes_write(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    documents = client.app.state.documents  # type: ignore[attr-defined]
    r = client.post("/v1/documents", headers=headers["editor"], files={"file": ("http.md", CARD.encode())})
    by_http = r.json()["id"]
    assert client.post(f"/v1/documents/{by_http}/retire", headers=headers["editor"]).status_code == 200
    r = client.post("/v1/documents", headers=headers["editor"], files={"file": ("direct.md", CARD.encode())})
    direct = r.json()["id"]
    documents.retire(direct, actor=Actor(name="cli:tester"))
    retired = [e for e in _entries(client) if e.action == "document.retire"]
    assert [(e.target_id, e.actor) for e in retired] == [(by_http, "editor-tester"), (direct, "cli:tester")]
    assert retired[0].before == retired[1].before and retired[0].after == retired[1].after

    item = documents.upload(Upload(data=DRAFT.encode(), filename="draft.md"), actor=Actor(name="cli:tester"))
    assert item.status == "needs_review"
    documents.review(item.document_id, decision="approve", note="ok", actor=Actor(name="cli:reviewer"))
    [approved] = [e for e in _entries(client) if e.action == "document.approve"]
    assert (approved.target_id, approved.actor, approved.after) == (
        item.document_id,
        "cli:reviewer",
        {"status": "published", "note": "ok", "flags": 1},
    )
    with Session(client.app.state.db_engine) as s:  # type: ignore[attr-defined]
        assert s.get(Document, item.document_id).status.value == "published"  # type: ignore[union-attr]
