"""HTML → blocks and the `<title>`, parsed by libxml2 (lxml) in pieces with the deadline checked after each;
a `<meta charset>` is honoured when the bytes are not UTF-8."""

from __future__ import annotations

import re
from typing import Any

from ingest.limits import ParseBudget
from ingest.loaders.encoding import decode_document
from ingest.loaders.lines import clean_line, table_row
from ingest.loaders.types import Block, Parsed

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)


def parse(raw: bytes, source: str, budget: ParseBudget) -> Parsed:
    """An HTML file's bytes → its blocks and the title its `<title>` declares."""
    found = _META_CHARSET.search(raw[:4096])
    declared = found.group(1).decode("ascii", "replace") if found else None
    text, encoding = decode_document(raw, source, budget, declared=declared)
    blocks, title = _parse_html(text, budget=budget)
    return Parsed(blocks, title, encoding=encoding)


class _HtmlBlocks:
    """Collects headings and paragraphs from HTML; ignores script, style, nav and the like.

    A parser target for lxml's HTML parser (libxml2): the standard library's html.parser spends
    minutes on 60 KB of unterminated start tags ("<a <a <a …", its scan of each one runs to the end of
    the input) and can only be stopped by killing the process. Text is counted against the budget as
    it arrives, and elements may nest `max_html_depth` deep (elements without an end tag, or whose end
    tag may be left out, are not counted).
    """

    SKIP = {"script", "style", "nav", "noscript", "template", "svg", "head"}
    BLOCK = {
        "p", "div", "li", "dd", "dt", "blockquote", "pre", "section", "article", "main", "header",
        "footer", "aside", "ul", "ol", "dl", "table", "thead", "tbody", "figure", "figcaption", "form",
        "address", "body", "caption",
    }  # fmt: skip
    UNCOUNTED = {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody",
        "tfoot", "colgroup", "caption", "rb", "rt", "rp", "html", "head", "body",
    }  # fmt: skip

    def __init__(self, *, budget: ParseBudget) -> None:
        self.budget = budget
        self._depth = 0
        self.blocks: list[Block] = []
        self._title: list[str] = []
        self._buf: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._heading: int = 0
        self._row: list[str] | None = None
        self._row_is_header = False
        self._header: list[str] | None = None
        self._cell: list[str] | None = None

    def _flush(self) -> None:
        text = "\n".join(clean_line(x) for x in "".join(self._buf).split("\n"))
        text = re.sub(r"\n{2,}", "\n", text).strip()
        self._buf.clear()
        if not text:
            return
        if self._heading:
            self.blocks.append(Block("heading", " ".join(text.split("\n")), level=self._heading))
        else:
            self.blocks.append(Block("paragraph", text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.UNCOUNTED:
            self._depth += 1
            if self._depth > self.budget.limits.max_html_depth:
                raise self.budget.refuse("max_html_depth", f"HTML elements nest more than {self._depth - 1} deep")
        self.budget.check_time()
        if tag == "title":
            self._in_title = True
            return
        if tag in self.SKIP:
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag == "table":
            self._flush()
            self._header = None
        elif tag == "tr":
            self._flush()
            self._row = []
            self._row_is_header = True
        elif tag in {"td", "th"} and self._row is not None:
            self._cell = []
            self._row_is_header = self._row_is_header and tag == "th"
        elif tag == "br":
            (self._cell if self._cell is not None else self._buf).append("\n")
        elif tag in self.BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.UNCOUNTED:
            self._depth = max(0, self._depth - 1)
        if tag == "title":
            self._in_title = False
            return
        if tag in self.SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth:
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = 0
        elif tag in {"td", "th"} and self._cell is not None and self._row is not None:
            self._row.append(clean_line(" ".join("".join(self._cell).split())))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if any(self._row):
                if self._row_is_header and self._header is None:
                    self._header = self._row  # a row of <th> cells names the columns of the rows below
                else:
                    row = table_row(self._row, self._header)
                    self.budget.spend(len(row) - sum(map(len, self._row)))  # the cells were counted as data
                    self.blocks.append(Block("paragraph", row))
            self._row = None
        elif tag in self.BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.budget.spend(len(data))
            self._title.append(data)
            return
        if self._skip_depth:
            return
        self.budget.spend(len(data))
        if self._cell is not None:
            self._cell.append(data)
        else:
            # HTML whitespace (including newlines in the source) is not significant
            self._buf.append(re.sub(r"[ \t\r\n]+", " ", data))

    @property
    def title(self) -> str:
        return "".join(self._title)

    # -- lxml's parser-target interface -----------------------------------------------------------
    def start(self, tag: str, attrib: Any) -> None:
        self.handle_starttag(tag, list(attrib.items()))

    def end(self, tag: str) -> None:
        self.handle_endtag(tag)

    def data(self, data: str) -> None:
        self.handle_data(data)

    def close(self) -> None:
        self._flush()


_HTML_FEED = 1 << 16  # HTML is fed in pieces of this many bytes, the deadline checked after each


def _parse_html(text: str, *, budget: ParseBudget) -> tuple[list[Block], str]:
    """HTML → (blocks, the <title>), fed to libxml2 in pieces with the deadline checked after each."""
    from lxml import etree

    target = _HtmlBlocks(budget=budget)
    parser = etree.HTMLParser(target=target, encoding="utf-8")  # the text is decoded already: no <meta> charset
    raw = text.encode("utf-8")
    for start in range(0, len(raw), _HTML_FEED):
        parser.feed(raw[start : start + _HTML_FEED])
        budget.check_time()
    parser.close()
    return target.blocks, clean_line(target.title)
