"""Plain text → blocks: paragraphs split on blank lines, hard-wrapped lines joined; `#` lines, a short first
line and numbered lines ("第一章", "1.2 ") become headings."""

from __future__ import annotations

import re

from ingest.limits import ParseBudget
from ingest.loaders.encoding import decode_document
from ingest.loaders.lines import clean_line, join_lines, looks_like_heading
from ingest.loaders.types import Block, Parsed


def parse(raw: bytes, source: str, budget: ParseBudget) -> Parsed:
    """A plain-text file's bytes → its blocks."""
    text, encoding = decode_document(raw, source, budget)
    return Parsed(_parse_plain_text(text, budget=budget), encoding=encoding)


_TXT_NUMBERED_HEADING = re.compile(
    r"^(第[一二三四五六七八九十百零〇两\d]+[章节節部篇]|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[）)]|"
    r"\d+(\.\d+)+\s|[A-Z][A-Z &/-]{2,}$)"
)


def _parse_plain_text(text: str, *, budget: ParseBudget) -> list[Block]:
    """Paragraphs split on blank lines; '#' lines, a short first line and numbered lines become headings."""
    groups: list[list[str]] = []
    current: list[str] = []
    for raw in text.split("\n"):
        line = clean_line(raw)
        budget.spend(len(line))  # the text of a plain-text file is its lines
        if not line:
            if current:
                groups.append(current)
                current = []
            continue
        if re.match(r"^#{1,6}\s", line):  # a "# " line is a heading on its own
            if current:
                groups.append(current)
            groups.append([line])
            current = []
            continue
        current.append(line)
    if current:
        groups.append(current)

    blocks: list[Block] = []
    for i, group in enumerate(groups):
        budget.check_time()
        first = group[0]
        hashes = re.match(r"^(#{1,6})\s+(.*)$", first)
        if hashes:
            if hashes.group(2).strip():
                blocks.append(Block("heading", hashes.group(2).strip(), level=len(hashes.group(1))))
            continue
        if i == 0 and not blocks and looks_like_heading(first):
            blocks.append(Block("heading", first, level=1))  # the title line
            group = group[1:]
        elif (
            len(group) == 1
            and i + 1 < len(groups)
            and looks_like_heading(first, max_len=40)
            and _TXT_NUMBERED_HEADING.match(first)
        ):
            blocks.append(Block("heading", first, level=2))
            continue
        body = join_lines(group)
        if body:
            blocks.append(Block("paragraph", body))
    return blocks
