"""The line helpers the parsers share: wrapped lines, hyphens, and table rows."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import DocumentLoader
from tests.utils.documents import kinds, write


def test_plain_text_joins_hard_wrapped_lines_but_not_short_ones(tmp_path: Path, loader: DocumentLoader) -> None:
    txt = write(
        tmp_path / "branch.txt",
        "Branch information\n\n"
        "Our branches open from Monday to Friday and the counters close at\n"
        "five in the afternoon, except on public holidays when all branches\n"
        "are closed.\n\n"
        "营业时间 9:00-17:00\n地址 北京路1号\n电话 95588",
    )
    doc = loader.run(txt)
    assert [b.text for b in doc.blocks[1:]] == [
        "Our branches open from Monday to Friday and the counters close at five in the afternoon, "
        "except on public holidays when all branches are closed.",
        "营业时间 9:00-17:00\n地址 北京路1号\n电话 95588",
    ]


def test_wrapped_lines_join_without_spaces_between_chinese_only(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "w.md", "# 提前还款\n\n可致电客服热线 95388\n或到任一网点预约，\n办理时须携带身份证件。\n")
    assert loader.run(md).blocks[-1].text == "可致电客服热线 95388 或到任一网点预约，办理时须携带身份证件。"


def test_wrapped_hyphenated_words_keep_their_hyphen(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "w.md", "# Insurance\n\nThe cooling-\noff period lasts\n15 days.\n")
    assert loader.run(md).blocks[-1].text == "The cooling-off period lasts 15 days."


def test_table_rows_without_a_header_stay_as_they_are(tmp_path: Path, loader: DocumentLoader) -> None:
    html = write(
        tmp_path / "hours.html",
        "<html><body><h1>Branch hours</h1><table><tr><td>Mon-Fri</td><td>9:00-17:00</td></tr>"
        "<tr><td>Sat</td><td>9:00-12:00</td></tr></table></body></html>",
    )
    rows = [("paragraph", "| Mon-Fri | 9:00-17:00 |"), ("paragraph", "| Sat | 9:00-12:00 |")]
    assert kinds(loader.run(html))[1:] == rows
    table = "| Card | Fee | Note |\n|---|---|---|\n| Gold | 300 |\n| Classic | 0 | waived |\n"
    md = write(tmp_path / "fees.md", "# Fees\n\n" + table)
    paragraphs = [b.text for b in loader.run(md).blocks if b.kind == "paragraph"]
    # a row with another number of cells keeps its cells unnamed rather than naming them wrongly
    assert paragraphs == ["| Gold | 300 |\n| Card: Classic | Fee: 0 | Note: waived |"]
