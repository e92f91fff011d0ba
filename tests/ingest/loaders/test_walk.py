"""iter_document_paths: folder walks, what is skipped, and the sources that result."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import DocumentLoader, iter_document_paths
from tests.utils.documents import write


def test_iter_document_paths_walks_and_skips(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    for rel in [
        "b/fees.md", "a/loss.pdf", "a/loss.pdf.meta.yaml", "README.md", "sub/README.md", "userdict.txt",
        "notes.txt", "rules/core.yaml", "rules/extra.md", "playbooks/loss.md", "calls/c1.jsonl",
        "tools/gen.py", "gen.py", ".hidden.md", ".git/config", "deck.pptx", "a/~$draft.docx", "faq.csv",
        "x.yml", "nested/calls/y.md",
    ]:  # fmt: skip
        write(kb / rel, "x")
    explicit = write(tmp_path / "other" / "README.md", "# explicit")

    pairs = iter_document_paths([kb, explicit, kb / "b" / "fees.md"])
    assert [(p.relative_to(b).as_posix(), b) for p, b in pairs] == [
        ("a/loss.pdf", kb),
        ("b/fees.md", kb),
        ("deck.pptx", kb),  # unsupported: returned so that it is reported as a failure
        ("faq.csv", kb),
        ("notes.txt", kb),
        ("README.md", explicit.parent),  # given explicitly
    ]


def test_iter_document_paths_keeps_missing_explicit_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.md"
    assert iter_document_paths([missing]) == [(missing, tmp_path)]


def test_walk_then_load_reports_relative_sources(tmp_path: Path, loader: DocumentLoader) -> None:
    write(tmp_path / "kb" / "zh" / "a.md", "# 甲\n\n内容。")
    write(tmp_path / "kb" / "en" / "b.txt", "Title\n\nBody.")
    sources = [loader.run(p, base_dir=b).source for p, b in iter_document_paths([tmp_path / "kb"])]
    assert sources == ["en/b.txt", "zh/a.md"]
