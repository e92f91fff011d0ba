"""FAQ CSV: rows become question/answer blocks; headers, delimiters, quoting and the bad cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.errors import LoadError
from ingest.loaders import DocumentLoader
from tests.utils.documents import write


def test_faq_csv_rows_become_qa_blocks_with_sections(tmp_path: Path, loader: DocumentLoader) -> None:
    csv_text = (
        "Section,Question,Answer,product\n"
        "卡片,信用卡丢了怎么办？,请立即挂失，并补办新卡。,card\n"
        '卡片,"How do I freeze my card, quickly?","Use the app: Cards > Freeze.",card\n'
        "存款,存款保险保多少？,最高五十万元。,deposit\n"
        ",,,\n"
        "存款,这一行没有答案,,deposit\n"
    )
    doc = loader.run(write(tmp_path / "faq.csv", csv_text, encoding="gb18030"))
    assert doc.file_type == "csv"
    assert doc.encoding == "gb18030"
    assert doc.title == "faq"
    assert [(b.kind, b.question, b.text) for b in doc.blocks] == [
        ("heading", None, "卡片"),
        ("qa", "信用卡丢了怎么办？", "请立即挂失，并补办新卡。"),
        ("qa", "How do I freeze my card, quickly?", "Use the app: Cards > Freeze."),
        ("heading", None, "存款"),
        ("qa", "存款保险保多少？", "最高五十万元。"),
    ]
    assert doc.meta["skipped_rows"] == 1
    assert "信用卡丢了怎么办？\n请立即挂失" in doc.text


@pytest.mark.parametrize(("header", "encoding"), [("問題,回答", "big5"), ("问题,答案", "utf-8-sig")])
def test_faq_csv_chinese_headers(tmp_path: Path, loader: DocumentLoader, header: str, encoding: str) -> None:
    doc = loader.run(write(tmp_path / "faq.csv", f"{header}\n轉帳限額是多少？,每日五十萬元。\n", encoding=encoding))
    assert [(b.question, b.text) for b in doc.blocks] == [("轉帳限額是多少？", "每日五十萬元。")]


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_faq_csv_delimiter_comes_from_the_header(tmp_path: Path, loader: DocumentLoader, sep: str) -> None:
    answer = "Yes; call 95388, or use the app; fees: none" if sep != ";" else "Yes, call 95388, or use the app"
    rows = f"question{sep}answer\nCan I freeze my card?{sep}{answer}\nIs it free?{sep}Yes\n"
    doc = loader.run(write(tmp_path / "faq.csv", rows))
    assert [(b.question, b.text) for b in doc.blocks] == [("Can I freeze my card?", answer), ("Is it free?", "Yes")]


def test_faq_csv_multi_line_quoted_answer(tmp_path: Path, loader: DocumentLoader) -> None:
    doc = loader.run(write(tmp_path / "faq.csv", '问题,答案\n怎么挂失？,"1. 致电客服\n2. 冻结卡片"\n'))
    assert doc.blocks[0].text == "1. 致电客服\n2. 冻结卡片"


def test_faq_csv_missing_column_is_named(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(
        LoadError, match=r"faq\.csv: FAQ CSV is missing the 'answer' column \(header: question, reply\)"
    ):
        loader.run(write(tmp_path / "faq.csv", "question,reply\nq,a\n"))


def test_faq_csv_with_only_incomplete_rows(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match="no rows with both a question and an answer"):
        loader.run(write(tmp_path / "faq.csv", "question,answer\nq,\n"))
