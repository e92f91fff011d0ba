"""DOCX: headings, paragraphs and tables, and the bad cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.errors import LoadError
from ingest.loaders import DocumentLoader
from tests.utils.documents import make_docx, write


def test_docx_headings_paragraphs_and_tables(tmp_path: Path, loader: DocumentLoader) -> None:
    def build(d):  # type: ignore[no-untyped-def]
        d.add_heading("保險冷靜期", level=0)  # style "Title"
        d.add_paragraph("投保後十五日內可申請撤銷保單。")
        d.add_heading("退保", level=1)
        d.add_heading("Surrender value", level=2)
        d.add_paragraph("")
        table = d.add_table(rows=2, cols=2)
        for r, row in enumerate([("年度", "現金價值"), ("第一年", "保費的百分之二十")]):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
        d.add_paragraph("Surrender after the cooling-off period returns the cash value only.")

    doc = loader.run(write(tmp_path / "insurance.docx", make_docx(build)))
    assert doc.file_type == "docx"
    assert doc.title == "保險冷靜期"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "保險冷靜期", 1),
        ("paragraph", "投保後十五日內可申請撤銷保單。", 0),
        ("heading", "退保", 1),
        ("heading", "Surrender value", 2),
        ("paragraph", "| 年度：第一年 | 現金價值：保費的百分之二十 |", 0),  # the first row is the header
        ("paragraph", "Surrender after the cooling-off period returns the cash value only.", 0),
    ]


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"plain words, not a document"])
def test_corrupt_docx(tmp_path: Path, loader: DocumentLoader, content: bytes) -> None:
    with pytest.raises(LoadError, match=r"^broken\.docx: corrupt or unreadable DOCX"):
        loader.run(write(tmp_path / "broken.docx", content))


def test_docx_without_text(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^blank\.docx: no text content$"):
        loader.run(write(tmp_path / "blank.docx", make_docx(lambda d: d.add_paragraph("   "))))
