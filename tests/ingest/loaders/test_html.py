"""HTML: headings, paragraphs, tables, dropped chrome, the title and the declared charset."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.errors import LoadError
from ingest.loaders import DocumentLoader
from tests.utils.documents import ZH_HANS, ZH_HANT, kinds, write


def test_html_headings_paragraphs_tables_and_dropped_chrome(tmp_path: Path, loader: DocumentLoader) -> None:
    html = write(
        tmp_path / "limits.html",
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Transfer limits</title>"
        "<style>p { color: red }</style></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/x'>Menu</a></nav>"
        "<h1>Transfer limits</h1>"
        "<p>Mobile banking: 50,000 &amp; up to\n   200,000 per day.<br>Counter: none.</p>"
        "<h2>Overseas</h2><ul><li>SWIFT transfers need a purpose code.</li><li>Fees vary.</li></ul>"
        "<table><tr><th>Channel</th><th>Limit</th></tr><tr><td>App</td><td>50,000</td></tr></table>"
        "<script>var secret = 1;</script></body></html>",
    )
    doc = loader.run(html)
    assert doc.title == "Transfer limits"
    assert kinds(doc) == [
        ("heading", "Transfer limits"),
        ("paragraph", "Mobile banking: 50,000 & up to 200,000 per day.\nCounter: none."),
        ("heading", "Overseas"),
        ("paragraph", "SWIFT transfers need a purpose code."),
        ("paragraph", "Fees vary."),
        ("paragraph", "| Channel: App | Limit: 50,000 |"),  # a row of <th> cells names the columns
    ]
    assert [b.level for b in doc.blocks if b.kind == "heading"] == [1, 2]
    assert "secret" not in doc.text and "Menu" not in doc.text and "color" not in doc.text


def test_html_title_from_first_h1_when_no_title_tag(tmp_path: Path, loader: DocumentLoader) -> None:
    doc = loader.run(write(tmp_path / "a.htm", "<body><p>前言。</p><h1>基金申购</h1><p>申购费率为1.5%。</p></body>"))
    assert doc.title == "基金申购"
    assert doc.file_type == "html"


@pytest.mark.parametrize(("text", "charset"), [(ZH_HANT, "big5"), (ZH_HANS, "gb2312"), (ZH_HANS, "GBK")])
def test_html_meta_charset_is_respected(tmp_path: Path, loader: DocumentLoader, text: str, charset: str) -> None:
    page = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head>'
    page += f"<body><h1>說明</h1><p>{text}</p></body></html>"
    doc = loader.run(write(tmp_path / "p.html", page, encoding="big5" if charset == "big5" else "gb18030"))
    assert doc.blocks[-1].text == text


def test_html_with_no_text(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^s\.html: no text content$"):
        loader.run(write(tmp_path / "s.html", "<html><script>var a = 1;</script></html>"))
