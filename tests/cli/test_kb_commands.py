"""`assist ingest`, `assist search` and `assist eval retrieval` as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assist.cli import _register, app
from ingest.loaders import SUPPORTED
from ingest.loaders.registry import help_text
from tests.factories import write
from tests.utils import bombs

runner = CliRunner()
_register()

DOC = (
    "---\nproduct: credit_card\n---\n# 信用卡挂失\n\n## 补卡\n\n挂失后可以补卡，补卡费二十元。\n\n"
    "## 冻结\n\n丢卡后先冻结卡片。\n"
)


@pytest.fixture(autouse=True)
def _hash_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSIST_EMBEDDERS", "hash")
    from assist.config import get_settings

    get_settings.cache_clear()


def test_ingest_prints_a_summary_and_search_finds_the_passage(tmp_path: Path, _isolated_data_dir: Path) -> None:
    write(tmp_path / "kb" / "card.md", DOC)
    r = runner.invoke(app, ["ingest", str(tmp_path / "kb")])
    assert r.exit_code == 0, r.output
    assert "1 new, 0 updated, 0 unchanged, 0 failed" in r.output
    assert (_isolated_data_dir / "assist.db").exists()
    r = runner.invoke(app, ["search", "补卡要钱吗", "-k", "2", "--json"])
    hits = json.loads(r.stdout)
    assert hits[0]["section"] == "补卡" and hits[0]["version"] == 1
    assert set(hits[0]) >= {"document_id", "title", "section", "version", "chunk_id", "score", "snippet"}
    r = runner.invoke(app, ["search", "补卡要钱吗"])
    assert "信用卡挂失 › 补卡 (v1" in r.stdout


def test_ingest_reports_bad_files_and_exits_non_zero(tmp_path: Path) -> None:
    write(tmp_path / "kb" / "card.md", DOC)
    write(tmp_path / "kb" / "empty.txt", "")
    (tmp_path / "kb" / "scan.pdf").write_bytes(b"%PDF-1.4 not really")
    r = runner.invoke(app, ["ingest", str(tmp_path / "kb")])
    assert r.exit_code == 1
    assert "1 new" in r.stdout and "2 failed" in r.stdout
    assert "empty.txt: empty file" in r.output and "scan.pdf" in r.output
    assert "Traceback" not in r.output


def test_ingest_help_and_errors_name_the_registered_formats(tmp_path: Path) -> None:
    r = runner.invoke(app, ["ingest", "--help"])
    assert r.exit_code == 0
    assert f"Files or folders ({help_text()})." in " ".join(re.sub(r"[│╭╮╰╯─]", " ", r.output).split())
    write(tmp_path / "kb" / "card.md", DOC)
    (tmp_path / "kb" / "deck.pptx").write_bytes(b"PK\x03\x04 slides")
    r = runner.invoke(app, ["ingest", str(tmp_path / "kb")])
    assert r.exit_code == 1
    assert f"failed: deck.pptx: unsupported file type '.pptx' (supported: {', '.join(SUPPORTED)})" in r.output


def test_ingest_refuses_a_bomb_with_the_limit_and_ingests_the_rest(tmp_path: Path, _isolated_data_dir: Path) -> None:
    write(tmp_path / "kb" / "card.md", DOC)
    (tmp_path / "kb" / "bomb.docx").write_bytes(bombs.docx_bomb(20_000_000))
    r = runner.invoke(app, ["ingest", str(tmp_path / "kb")])
    assert r.exit_code == 1
    assert "1 new, 0 updated, 0 unchanged, 1 failed" in r.stdout
    assert "failed: bomb.docx: archive entry 'word/document.xml' is compressed " in r.output
    assert "(ASSIST_MAX_COMPRESSION_RATIO)" in r.output and "Traceback" not in r.output


def test_ingest_writes_an_audit_entry_for_each_stored_version(tmp_path: Path, _isolated_data_dir: Path) -> None:
    from sqlmodel import Session, create_engine, select

    from assist.models.audit import AuditEntry

    write(tmp_path / "kb" / "card.md", DOC)
    assert runner.invoke(app, ["ingest", str(tmp_path / "kb")]).exit_code == 0
    write(tmp_path / "kb" / "card.md", DOC.replace("二十元", "十五元"))
    assert runner.invoke(app, ["ingest", str(tmp_path / "kb")]).exit_code == 0
    with Session(create_engine(f"sqlite:///{_isolated_data_dir / 'assist.db'}")) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.target_type == "document").order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor.startswith("cli:"), e.role, e.after["version"]) for e in rows] == [
        ("document.upload", True, "system", 1),
        ("document.version", True, "system", 2),
    ]


def test_ingest_of_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["ingest", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "no such file or folder" in r.output


def test_search_rejects_bad_arguments() -> None:
    assert runner.invoke(app, ["search", "  "]).exit_code == 2
    assert runner.invoke(app, ["search", "card", "-k", "0"]).exit_code == 2


def test_eval_retrieval_prints_the_contract_and_never_touches_the_data_dir(
    tmp_path: Path, _isolated_data_dir: Path
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    queries = tmp_path / "queries.jsonl"
    rows = [("a", "lost card freeze", "card"), ("b", "mortgage prepayment fee", "loan"), ("c", "补卡费用", "fee")]
    corpus.write_text("".join(json.dumps({"id": i, "text": t, "label": lab}) + "\n" for i, t, lab in rows))
    qs = [("q1", "I lost my card", "card"), ("q2", "prepay mortgage fee", "loan"), ("q3", "补卡要多少钱", "fee")]
    queries.write_text("".join(json.dumps({"id": i, "text": t, "label": lab}) + "\n" for i, t, lab in qs))
    for mode in ("hybrid", "dense", "bm25"):
        r = runner.invoke(
            app,
            ["eval", "retrieval", "--corpus", str(corpus), "--queries", str(queries), "--mode", mode, "--limit", "2"],
        )
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert {"hit@1", "hit@5", "mrr@10", "n", "mode", "index_seconds", "query_ms_p50", "query_ms_p95"} <= set(out)
        assert out["n"] == 2 and out["mode"] == mode
    assert not _isolated_data_dir.exists()


def test_eval_retrieval_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    r = runner.invoke(app, ["eval", "retrieval", "--corpus", str(bad), "--queries", str(bad)])
    assert r.exit_code == 2 and "bad.jsonl:1" in r.output
    r = runner.invoke(app, ["eval", "retrieval", "--corpus", str(bad), "--queries", str(bad), "--mode", "x"])
    assert r.exit_code == 2 and "unknown mode" in r.output


def test_a_setting_the_product_refuses_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "ASSIST_DATA_DIR": str(tmp_path), "ASSIST_FUSION_WEIGHTS": '{"fr": {"bm25": 1}}'}
    r = subprocess.run(
        [sys.executable, "-c", "from assist.cli import main; main()", "search", "card"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2
    assert "ASSIST_FUSION_WEIGHTS" in r.stderr and "unknown language group 'fr'" in r.stderr
    assert "Traceback" not in r.stderr
