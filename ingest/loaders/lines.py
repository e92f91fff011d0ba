"""Line helpers the format parsers share: spaces collapsed, wrapped lines joined, table rows named by
their header, heading-like lines told apart."""

from __future__ import annotations

import re
import unicodedata

CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u200b\ufeff]+")
_SENTENCE_END = tuple("。！？；：.!?;:…”’」』）)")
FINAL_PUNCT = tuple("。！？；.!?;…")


def clean_line(line: str) -> str:
    """Collapse runs of spaces (ASCII, no-break, ideographic, zero-width) and strip."""
    return _SPACES.sub(" ", line).strip()


def table_row(cells: list[str], header: list[str] | None = None) -> str:
    """A table row as a line that reads on its own: each cell named by its column's header.

    "| Where: Mainland China | Period: 15 days |" rather than "| Mainland China | 15 days |", so that a
    chunk holding only some of a table's rows still says what its numbers are, to the retriever and in
    an answer. Without a header, or when the row has another number of cells, the cells stay as they are.
    """
    if header and len(header) == len(cells):
        cells = [
            f"{h}{'：' if CJK_CHAR.search(h) else ': '}{c}" if h and c and h != c else c
            for h, c in zip(header, cells, strict=True)
        ]
    return "| " + " | ".join(c for c in cells if c) + " |"


def _wrap_separator(tail: str, b: str) -> str:
    """What joins a wrapped line ending in `tail` (its last two characters) to the next line `b`.

    No space between CJK characters or next to CJK punctuation, one otherwise: a line break between a
    number or a Latin word and a CJK character most often stood for a space ("热线 95388 或网点"), and a
    space there is harmless if it did not.
    """
    if (CJK_CHAR.match(tail[-1]) and CJK_CHAR.match(b[0])) or _is_cjk_punct(tail[-1]) or _is_cjk_punct(b[0]):
        return ""
    if tail.endswith("-") and len(tail) > 1 and tail[-2].isalpha() and b[0].isalpha():
        return ""  # "cooling-\noff" → "cooling-off" (a soft hyphen cannot be told apart; keep it)
    return " "


class Lines:
    """Lines of a block, wrapped ones joined onto the line before (`_wrap_separator`), in linear time
    (joining string by string would copy the growing line once per wrapped line)."""

    def __init__(self) -> None:
        self._done: list[str] = []
        self._parts: list[str] = []
        self._tail = ""

    def __bool__(self) -> bool:
        return bool(self._done or self._parts)

    def new(self, line: str) -> None:
        """Start a new line."""
        self._close()
        self._parts, self._tail = [line], line[-2:]

    def wrap(self, line: str) -> None:
        """Continue the current line with `line`."""
        if not line:
            return
        sep = _wrap_separator(self._tail, line) if self._tail else ""
        self._parts += [sep, line]
        self._tail = (self._tail + sep + line)[-2:]

    def _close(self) -> None:
        if self._parts:
            self._done.append("".join(self._parts))
        self._parts, self._tail = [], ""

    def text(self) -> str:
        """The lines, one per row."""
        self._close()
        return "\n".join(self._done)


def _is_cjk_punct(char: str) -> bool:
    return ord(char) >= 0x2E80 and unicodedata.category(char).startswith("P")


def looks_like_heading(line: str, max_len: int = 60) -> bool:
    """Short, non-empty and without final sentence punctuation."""
    return 0 < len(line) <= max_len and not line.endswith(_SENTENCE_END) and not line.endswith((",", "，"))


LIST_ITEM = re.compile(r"^([-*+•]|\d{1,3}[.)、]|[a-zA-Z][.)])\s+")


def join_lines(lines: list[str]) -> str:
    """Join lines that look hard-wrapped; keep list items and short lines (addresses, tables) apart.

    A line is a wrapped continuation when the line before it is not a finished sentence and is at
    least 60% as long as the longest line of the group (hard-wrapped prose fills the width).
    """
    width = max((len(line) for line in lines), default=0)
    merged = Lines()
    last = ""  # the previous original line
    for line in lines:
        wrapped = width >= 20 and len(last) >= 0.6 * width and not last.endswith(FINAL_PUNCT)
        if merged and wrapped and not LIST_ITEM.match(line):
            merged.wrap(line)
        else:
            merged.new(line)
        last = line
    return merged.text().strip()
