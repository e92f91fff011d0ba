"""Plain text: title lines, hash and numbered Chinese headings."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import DocumentLoader
from tests.utils.documents import kinds, write


def test_plain_text_title_line_and_hash_headings(tmp_path: Path, loader: DocumentLoader) -> None:
    txt = write(
        tmp_path / "fraud.txt",
        "Anti-fraud notice\n\nStaff never ask for one-time passcodes.\nNever share them.\n\n"
        "# What to do\n\nHang up and call the number on your card.",
    )
    doc = loader.run(txt)
    assert doc.title == "Anti-fraud notice"
    assert kinds(doc) == [
        ("heading", "Anti-fraud notice"),
        ("paragraph", "Staff never ask for one-time passcodes.\nNever share them."),
        ("heading", "What to do"),
        ("paragraph", "Hang up and call the number on your card."),
    ]


def test_plain_text_first_line_that_is_a_sentence_is_not_a_title(tmp_path: Path, loader: DocumentLoader) -> None:
    txt = write(tmp_path / "note.txt", "转账限额为每日五万元。\n\n柜台转账不设限额。")
    doc = loader.run(txt)
    assert doc.title == "note"
    assert all(b.kind == "paragraph" for b in doc.blocks)


def test_plain_text_numbered_chinese_headings(tmp_path: Path, loader: DocumentLoader) -> None:
    txt = write(
        tmp_path / "t.txt",
        "存款保险说明\n\n一、保障范围\n\n人民币和外币存款均受保障。\n\n二、赔付限额\n\n最高五十万元。",
    )
    doc = loader.run(txt)
    assert [b.text for b in doc.blocks if b.kind == "heading"] == [
        "存款保险说明",
        "一、保障范围",
        "二、赔付限额",
    ]
