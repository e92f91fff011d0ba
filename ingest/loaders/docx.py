"""DOCX → blocks, read with python-docx: heading styles (English and Chinese names) become headings, tables one
block a row; the zip directory is checked against the limits before anything is decompressed."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from assist.errors import LoadError
from ingest.limits import ParseBudget, check_archive
from ingest.loaders.lines import clean_line, table_row
from ingest.loaders.types import Block, Parsed

if TYPE_CHECKING:  # python-docx is imported when a DOCX is parsed, not when ingest is
    from docx.table import Table
    from docx.text.paragraph import Paragraph


def parse(raw: bytes, source: str, budget: ParseBudget) -> Parsed:
    """A DOCX file's bytes → its blocks and the title its core properties declare."""
    blocks, title = _load_docx(raw, source, budget)
    return Parsed(blocks, title)


def _load_docx(raw: bytes, source: str, budget: ParseBudget) -> tuple[list[Block], str]:
    check_archive(raw, limits=budget.limits, source=source, kind="DOCX")  # before anything is decompressed
    budget.check_time()
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(raw))
        blocks: list[Block] = []
        for item in document.iter_inner_content():
            budget.check_time()
            if isinstance(item, Paragraph):
                block = _docx_paragraph(item)
                if block is not None:
                    budget.spend(len(block.text))
                    blocks.append(block)
            elif isinstance(item, Table):
                blocks.extend(_docx_table(item, budget))
        core_title = (document.core_properties.title or "").strip()
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile, lxml and python-docx all raise their own types
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise LoadError(source, f"corrupt or unreadable DOCX ({reason})") from exc
    return blocks, core_title


_DOCX_HEADING = re.compile(r"^(?:heading|标题|標題)\s*(\d)$", re.I)


def _docx_paragraph(paragraph: Paragraph) -> Block | None:
    text = "\n".join(clean_line(x) for x in paragraph.text.split("\n")).strip()
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    match = _DOCX_HEADING.match(style.strip())
    if match:
        return Block("heading", " ".join(text.split("\n")), level=max(1, int(match.group(1))))
    if style.strip().lower() in {"title", "标题", "標題"}:
        return Block("heading", " ".join(text.split("\n")), level=1)
    return Block("paragraph", text)


def _docx_table(table: Table, budget: ParseBudget) -> list[Block]:
    """A Word table, one block a row; the first row is the header when more rows follow it."""
    rows: list[list[str]] = []
    for row in table.rows:
        budget.check_time()
        cells: list[str] = []
        for cell in row.cells:
            value = clean_line(" ".join(cell.text.split()))
            if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                cells.append(value)
        if cells:
            rows.append(cells)
    header = rows[0] if len(rows) > 1 else None
    body = rows[1:] if header else rows
    blocks = []
    for cells in body:
        text = table_row(cells, header)
        budget.spend(len(text))  # each row repeats its header
        blocks.append(Block("paragraph", text))
    return blocks
