"""Markdown → blocks: ATX and setext headings, paragraphs (wrapped lines joined), list items and table rows
on their own lines, light inline clean-up; YAML front matter becomes the document's metadata."""

from __future__ import annotations

import re

from ingest.limits import ParseBudget
from ingest.loaders.encoding import decode_document
from ingest.loaders.lines import LIST_ITEM, Lines, clean_line, table_row
from ingest.loaders.meta import normalise_meta, split_front_matter
from ingest.loaders.types import Block, Parsed


def parse(raw: bytes, source: str, budget: ParseBudget) -> Parsed:
    """A Markdown file's bytes → its blocks, with the front matter as its metadata."""
    text, encoding = decode_document(raw, source, budget)
    front, body = split_front_matter(text, source)
    return Parsed(_parse_markdown(body, budget=budget), encoding=encoding, meta=normalise_meta(front, source))


_FENCE = re.compile(r"^(```|~~~)")

_TABLE_SEP = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
# Inline patterns look at most a bounded span ahead of each opening marker, so that a long line full of
# unclosed markers ("**a **a **a …") costs linear time, not quadratic.
_SPAN = 500
_URL = 2000
_IMAGE = re.compile(rf"!\[([^\]]{{0,{_SPAN}}})\]\([^)]{{0,{_URL}}}\)")
_LINK = re.compile(rf"\[([^\]]{{1,{_SPAN}}})\]\([^)]{{0,{_URL}}}\)")
_REF_LINK = re.compile(rf"\[([^\]]{{1,{_SPAN}}})\]\[[^\]]{{0,{_SPAN}}}\]")
_AUTOLINK = re.compile(rf"<((?:https?|mailto):[^>]{{1,{_URL}}})>")
_BOLD = re.compile(rf"(\*\*|__)(?=\S)(.{{1,{_SPAN}}}?)(?<=\S)\1")
_ITALIC = re.compile(rf"(?<![\w*])\*(?=\S)([^*]{{1,{_SPAN}}}?)(?<=\S)\*(?![\w*])")
_STRIKE = re.compile(rf"~~(?=\S)(.{{1,{_SPAN}}}?)(?<=\S)~~")
_CODE = re.compile(rf"`([^`]{{1,{_SPAN}}})`")
_HTML_TAG = re.compile(rf"</?[a-zA-Z][^>]{{0,{_SPAN}}}>")
# Lines longer than this are kept as they are: no inline clean-up (whose cost grows with the line).
_INLINE_MAX_LINE = 20_000


def _atx_heading(line: str) -> tuple[int, str] | None:
    """An ATX heading ("## Fees ##") → (level, text); None for any other line.

    Written out rather than as one regex: `^(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$`, which it matches
    exactly, backtracks cubically on a long line of spaces (5,000 took over two minutes).
    """
    rest = line.lstrip("#")
    hashes = len(line) - len(rest)
    if hashes == 0:
        return None
    level = min(hashes, 6)
    rest = line[level:]
    if rest[:1] in (" ", "\t"):
        return level, rest.strip(" \t").rstrip("#").rstrip(" \t")
    if not rest.rstrip(" \t").strip("#"):
        return level, ""
    return None


def _drop_html_comments(text: str) -> str:
    """Remove `<!-- … -->` comments in one pass (an unclosed one, and all after it, stay as they are)."""
    out: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _strip_inline_markdown(text: str) -> str:
    """Light inline clean-up: keep link and image text, drop emphasis markers, code ticks and tags."""
    if len(text) > _INLINE_MAX_LINE:
        return text
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    text = _ITALIC.sub(r"\1", text)
    text = _STRIKE.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    return text


def _paragraph_text(para: list[str], *, in_fence: bool, budget: ParseBudget) -> str:
    """The raw lines of one paragraph (or fenced block) → its text: table rows named by their header, list
    items and rows on their own line, wrapped prose joined (not inside a fence)."""
    merged = Lines()
    lines: list[str] = []
    for raw in para:
        budget.check_time()
        lines.append(clean_line(_strip_inline_markdown(raw)))
    header: list[str] | None = None
    for i, line in enumerate(lines):
        if not line or _TABLE_SEP.match(line):
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
                header = cells  # the header row names the columns of the rows below
                continue
            line = table_row(cells, header)
        else:
            header = None
        budget.spend(len(line))  # counted as produced: a table's rows each repeat its header
        # list items and table rows keep their own line; wrapped prose joins the previous line
        if merged and not LIST_ITEM.match(line) and not line.startswith("|") and not in_fence:
            merged.wrap(line)
        else:
            merged.new(line)
    return merged.text().strip()


def _parse_markdown(text: str, *, budget: ParseBudget) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []
    in_fence = False

    def flush() -> None:
        if not para:
            return
        body = _paragraph_text(para, in_fence=in_fence, budget=budget)
        if body:
            blocks.append(Block("paragraph", body))
        para.clear()

    for raw_line in _drop_html_comments(text).split("\n"):
        budget.check_time()
        stripped = raw_line.strip()
        if _FENCE.match(stripped):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            para.append(raw_line)
            continue
        if not stripped:
            flush()
            continue
        atx = _atx_heading(stripped)
        if atx:
            flush()
            heading = clean_line(_strip_inline_markdown(atx[1]))
            if heading:
                budget.spend(len(heading))
                blocks.append(Block("heading", heading, level=atx[0]))
            continue
        # setext headings: a single line underlined with === (level 1) or --- (level 2)
        if len(para) == 1 and re.fullmatch(r"=+|-{2,}", stripped) and not LIST_ITEM.match(para[0].strip()):
            heading = clean_line(_strip_inline_markdown(para[0]))
            para.clear()
            if heading:
                budget.spend(len(heading))
                blocks.append(Block("heading", heading, level=1 if stripped[0] == "=" else 2))
            continue
        if re.fullmatch(r"(\*\s*){3,}|(-\s*){3,}|(_\s*){3,}", stripped):  # thematic break
            flush()
            continue
        para.append(re.sub(r"^\s{0,3}>\s?", "", raw_line))  # blockquote marker
    flush()
    return blocks
