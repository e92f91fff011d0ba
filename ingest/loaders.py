"""Document loaders: Markdown, plain text, HTML, PDF, DOCX and FAQ CSV → `LoadedDocument` (a list of blocks).

Every loader returns the same shape: headings (with a level), paragraphs (with a 1-based page for PDFs)
and FAQ question/answer pairs, plus metadata from YAML front matter or an `X.meta.yaml` sidecar.

Text formats (md, txt, html, csv) go through one encoding detector: UTF-8 (with or without BOM) is tried
first and strictly; anything else is left to charset-normalizer, with a bias towards the Chinese code
pages a bank in the region actually receives (GB18030 for the GB family, Big5 for Traditional Chinese).

Every error names the file: `LoadError(source, reason)`, `UnsupportedTypeError(source, reason)`,
`TooLargeError("<source>: <n> bytes exceeds the limit of <max> bytes")` or, for a document over one of
the `IngestLimits` (decompressed size, pages, text, parse time or memory), `LimitExceededError` naming
the limit and its setting. The parse itself runs in a child process (`ingest.isolation`) that is killed at
the deadline.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from assist.errors import LimitExceededError, LoadError, TooLargeError, UnsupportedTypeError
from ingest.limits import IngestLimits, ParseBudget, check_archive

logger = logging.getLogger(__name__)

BlockKind = Literal["heading", "paragraph", "qa"]


@dataclass
class Block:
    """One structural unit of a document.

    Attributes:
        kind: "heading", "paragraph" or "qa" (an FAQ pair).
        text: The text; for "qa" the answer (the question is in `question`).
        level: Heading level (1 = top); 0 for non-headings.
        page: 1-based page number, for PDFs.
        question: The FAQ question, for "qa" blocks.
    """

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None
    question: str | None = None


@dataclass
class LoadedDocument:
    """A document as read from disk or an upload, before chunking.

    Attributes:
        source: Front matter `source:` if given, else the path relative to the base dir (or the upload's
            file name). The pipeline uses it to recognise new versions of the same document.
        title: Front matter title, else the first heading, else the file name stem.
        file_type: md, txt, html, pdf, docx or csv.
        blocks: Headings, paragraphs and FAQ pairs in document order.
        meta: Front matter / sidecar / caller metadata; dates parsed to `datetime.date`.
        text: The full plain text (for hashing, language detection and the compliance scan).
        encoding: The detected encoding, for text formats.
    """

    source: str
    title: str
    file_type: str
    blocks: list[Block]
    meta: dict[str, Any]
    text: str
    encoding: str | None = None


# --------------------------------------------------------------------------------------------------
# Text helpers

_CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u200b\ufeff]+")
_SENTENCE_END = tuple("。！？；：.!?;:…”’」』）)")
_FINAL_PUNCT = tuple("。！？；.!?;…")


def _clean_line(line: str) -> str:
    """Collapse runs of spaces (ASCII, no-break, ideographic, zero-width) and strip."""
    return _SPACES.sub(" ", line).strip()


def _table_row(cells: list[str], header: list[str] | None = None) -> str:
    """A table row as a line that reads on its own: each cell named by its column's header.

    "| Where: Mainland China | Period: 15 days |" rather than "| Mainland China | 15 days |", so that a
    chunk holding only some of a table's rows still says what its numbers are, to the retriever and in
    an answer. Without a header, or when the row has another number of cells, the cells stay as they are.
    """
    if header and len(header) == len(cells):
        cells = [
            f"{h}{'：' if _CJK_CHAR.search(h) else ': '}{c}" if h and c and h != c else c
            for h, c in zip(header, cells, strict=True)
        ]
    return "| " + " | ".join(c for c in cells if c) + " |"


def _wrap_separator(tail: str, b: str) -> str:
    """What joins a wrapped line ending in `tail` (its last two characters) to the next line `b`.

    No space between CJK characters or next to CJK punctuation, one otherwise: a line break between a
    number or a Latin word and a CJK character most often stood for a space ("热线 95388 或网点"), and a
    space there is harmless if it did not.
    """
    if (_CJK_CHAR.match(tail[-1]) and _CJK_CHAR.match(b[0])) or _is_cjk_punct(tail[-1]) or _is_cjk_punct(b[0]):
        return ""
    if tail.endswith("-") and len(tail) > 1 and tail[-2].isalpha() and b[0].isalpha():
        return ""  # "cooling-\noff" → "cooling-off" (a soft hyphen cannot be told apart; keep it)
    return " "


class _Lines:
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


def _looks_like_heading(line: str, max_len: int = 60) -> bool:
    """Short, non-empty and without final sentence punctuation."""
    return 0 < len(line) <= max_len and not line.endswith(_SENTENCE_END) and not line.endswith((",", "，"))


def _document_text(blocks: list[Block]) -> str:
    parts: list[str] = []
    for b in blocks:
        parts.append(f"{b.question}\n{b.text}" if b.kind == "qa" else b.text)
    return "\n\n".join(p for p in parts if p)


# --------------------------------------------------------------------------------------------------
# Encoding detection

_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn", "hz_gb_2312"}
_BIG5_FAMILY = {"big5", "cp950", "big5hkscs", "big5_hkscs"}
# Detections that are plausible byte-wise for Chinese text but wrong for this market.
_FOREIGN_MULTIBYTE = {
    "cp949", "euc_kr", "johab", "euc_jp", "euc_jis_2004", "euc_jisx0213", "shift_jis", "cp932",
    "shift_jis_2004", "shift_jisx0213", "iso2022_jp", "iso2022_kr", "utf_16", "utf_16_be", "utf_16_le",
    "utf_32", "utf_32_be", "utf_32_le",
}  # fmt: skip
_HANGUL_KANA = re.compile(r"[\u3040-\u30ff\u1100-\u11ff\uac00-\ud7af]")


def _codec_key(name: str) -> str:
    return name.lower().replace("-", "_")


def _decode_chinese(raw: bytes, family: str) -> tuple[str, str] | None:
    """Strictly decode with the widest codec of a family; None when none fits."""
    codecs = ("gb18030",) if family == "gb" else ("big5", "cp950", "big5hkscs")
    for codec in codecs:
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return None


def _normalise_charset(name: str) -> str | None:
    """Map a declared charset (e.g. from <meta charset>) to the codec we decode with."""
    key = _codec_key(name.strip().strip("\"'"))
    if key in _GB_FAMILY or key in {"x_gbk", "gb_2312_80"}:
        return "gb18030"
    try:
        import codecs

        return codecs.lookup(key).name
    except LookupError:
        return None


def decode_bytes(raw: bytes, source: str, *, declared: str | None = None) -> tuple[str, str]:
    """Decode the bytes of a text format.

    Args:
        raw: The file's bytes.
        source: The file's name, for error messages.
        declared: An encoding the file declares about itself (HTML <meta charset>), tried after UTF-8.

    Returns:
        (text, encoding). The text has no BOM and uses "\\n" line ends.

    Raises:
        LoadError: "binary or undecodable content".
    """
    text: str | None = None
    encoding = ""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise LoadError(source, "binary or undecodable content") from exc
    elif b"\x00" in raw:
        raise LoadError(source, "binary or undecodable content")
    if text is None:
        try:
            if raw.startswith(b"\xef\xbb\xbf"):
                text, encoding = raw[3:].decode("utf-8"), "utf-8-sig"
            else:
                text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text = None
    if text is None and declared:
        codec = _normalise_charset(declared)
        if codec and _codec_key(codec) not in {"utf_8", "utf_8_sig"}:
            family = "gb" if codec == "gb18030" else "big5" if _codec_key(codec) in _BIG5_FAMILY else None
            decoded = _decode_chinese(raw, family) if family else None
            if decoded is None and family is None:
                try:
                    decoded = raw.decode(codec), codec
                except UnicodeDecodeError:
                    decoded = None
            if decoded is not None:
                text, encoding = decoded
    if text is None:
        text, encoding = _detect(raw, source)
    if _looks_binary(text):
        raise LoadError(source, "binary or undecodable content")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _detect(raw: bytes, source: str) -> tuple[str, str]:
    """charset-normalizer's guess, steered towards the code pages of this market.

    - A foreign multi-byte guess (Korean, Japanese, UTF-16 without BOM) for bytes that also decode as
      Chinese becomes GB18030 or Big5: short Chinese texts are often mistaken for Korean.
    - Between GB18030 and Big5, the one whose characters are the more common ones in its own
      standard wins (`_chinese_score`), then the one whose script fits (`_script_fits`), then
      charset-normalizer's pick. This settles short Chinese runs inside English text; runs of two
      or three characters remain ambiguous.
    - A Western single-byte guess becomes cp1252 when that decodes too (cp1250 turns "è" into "č").
    """
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(raw))
    names = [_codec_key(m.encoding) for m in matches]
    logger.debug("encoding candidates", extra={"source": source, "candidates": names[:6]})
    if not names:
        raise LoadError(source, "binary or undecodable content")
    best = names[0]
    chinese = best in _GB_FAMILY or best in _BIG5_FAMILY
    chinese = chinese or best in _FOREIGN_MULTIBYTE or bool(_HANGUL_KANA.search(str(matches[0])))
    if chinese:
        options = [d for d in (_decode_chinese(raw, "gb"), _decode_chinese(raw, "big5")) if d is not None]
        if options:
            return max(options, key=lambda d: (_chinese_score(*d), _script_fits(*d), d[1][:2] == best[:2]))
    if best in _WESTERN_SINGLE_BYTE and best != "cp1252":
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(matches[0]), best


_WESTERN_SINGLE_BYTE = {
    "cp1250", "cp1252", "cp1254", "cp1257", "latin_1", "iso8859_1", "iso8859_2", "iso8859_9",
    "iso8859_15", "mac_roman", "mac_latin2", "cp850", "cp437",
}  # fmt: skip


def _script_fits(text: str, codec: str) -> bool:
    """Tie-break: GB text is usually all Simplified; Big5 text always has some Traditional characters."""
    from assist.text import has_traditional

    traditional = has_traditional(text)
    return traditional if codec != "gb18030" else not traditional


def _chinese_score(text: str, codec: str) -> float:
    """Share of the non-ASCII characters that are frequent ones in the codec's own standard.

    GB2312 puts its 3,755 most common characters on lead bytes 0xB0-0xD7 and punctuation on
    0xA1-0xA3; Big5 puts its 5,401 frequent characters on 0xA4-0xC6 and punctuation on 0xA1-0xA3
    (0xA374 and up are bopomofo).
    Bytes decoded with the wrong one of the two land mostly on rare characters.
    """
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 0.0
    gb = codec == "gb18030"
    if gb:  # Traditional text is also written in GB18030: judge each character by its Simplified form
        from assist.text import to_simplified

        wide = list(to_simplified("".join(wide)))
    common = 0
    for char in wide:
        try:
            lead, trail = char.encode("gb2312" if gb else "big5")[:2]
        except (UnicodeEncodeError, ValueError):
            continue
        if gb:
            common += 0xB0 <= lead <= 0xD7 or 0xA1 <= lead <= 0xA3  # not the kana on 0xA4-0xA5
        else:  # bopomofo (0xA374-0xA3BF) and the kana after 0xC6A1 are rare in running text
            common += 0xA1 <= lead <= 0xC6 and not (lead in (0xA3, 0xC6) and trail >= (0x74 if lead == 0xA3 else 0xA1))
    return common / len(wide)


def _looks_binary(text: str) -> bool:
    """More than 1% control characters (other than tab, newline, CR, form feed) means binary."""
    if not text:
        return False
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f")
    return controls > max(2, len(text) // 100)


# --------------------------------------------------------------------------------------------------
# Metadata

_DATE_KEYS = {"effective_from", "effective_to", "date", "published", "updated", "reviewed"}
_LIST_KEYS = {"tags", "next_steps"}


def _normalise_meta(raw: dict[Any, Any], source: str) -> dict[str, Any]:
    """String keys; dates parsed to `datetime.date`; comma-separated tags/next_steps split into lists."""
    meta: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).strip()
        if isinstance(value, dt.datetime):
            value = value.date()
        if name in _DATE_KEYS or name.endswith("_date"):
            value = _parse_date(name, value, source)
        elif name in _LIST_KEYS and isinstance(value, str):
            value = [v.strip() for v in re.split(r"[,，、;；]", value) if v.strip()]
        meta[name] = value
    return meta


def _parse_date(key: str, value: Any, source: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError as exc:
        raise LoadError(source, f"bad date for '{key}': {text!r} (expected YYYY-MM-DD)") from exc


@lru_cache(maxsize=1)
def _yaml_loader() -> type:
    """A SafeLoader that leaves dates as strings (so that `_parse_date` reports bad ones by key) and refuses
    aliases: metadata has no use for them, and nested aliases expand exponentially when the metadata is
    hashed or stored ("billion laughs")."""
    import yaml

    class _NoDatesLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in metadata", event.start_mark
                )
            return super().compose_node(parent, index)

    _NoDatesLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _NoDatesLoader


def _load_yaml_mapping(text: str, source: str, what: str) -> dict[Any, Any]:
    import yaml

    try:
        data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise LoadError(source, f"invalid YAML in {what}: {reason}") from exc
    except RecursionError as exc:  # the composer recurses once per level of [[[[…
        raise LoadError(source, f"invalid YAML in {what}: nested too deeply") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LoadError(source, f"{what} must be a mapping of keys to values, got {type(data).__name__}")
    return data


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.yaml")


# --------------------------------------------------------------------------------------------------
# Markdown

_FENCE = re.compile(r"^(```|~~~)")
_LIST_ITEM = re.compile(r"^([-*+•]|\d{1,3}[.)、]|[a-zA-Z][.)])\s+")
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


def _split_front_matter(text: str, source: str) -> tuple[dict[Any, Any], str]:
    """Leading `---` ... `---` (or `...`) YAML block → (mapping, rest of the text)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for i in range(1, len(lines)):
        if lines[i].strip() in {"---", "..."}:
            data = _load_yaml_mapping("\n".join(lines[1:i]), source, "front matter")
            return data, "\n".join(lines[i + 1 :])
    raise LoadError(source, "front matter starts with '---' but has no closing '---'")


def _parse_markdown(text: str, *, budget: ParseBudget) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []
    in_fence = False

    def flush() -> None:
        if not para:
            return
        merged = _Lines()
        lines: list[str] = []
        for raw in para:
            budget.check_time()
            lines.append(_clean_line(_strip_inline_markdown(raw)))
        header: list[str] | None = None
        for i, line in enumerate(lines):
            if not line or _TABLE_SEP.match(line):
                continue
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                if i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
                    header = cells  # the header row names the columns of the rows below
                    continue
                line = _table_row(cells, header)
            else:
                header = None
            budget.spend(len(line))  # counted as produced: a table's rows each repeat its header
            # list items and table rows keep their own line; wrapped prose joins the previous line
            if merged and not _LIST_ITEM.match(line) and not line.startswith("|") and not in_fence:
                merged.wrap(line)
            else:
                merged.new(line)
        body = merged.text().strip()
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
            heading = _clean_line(_strip_inline_markdown(atx[1]))
            if heading:
                budget.spend(len(heading))
                blocks.append(Block("heading", heading, level=atx[0]))
            continue
        # setext headings: a single line underlined with === (level 1) or --- (level 2)
        if len(para) == 1 and re.fullmatch(r"=+|-{2,}", stripped) and not _LIST_ITEM.match(para[0].strip()):
            heading = _clean_line(_strip_inline_markdown(para[0]))
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


# --------------------------------------------------------------------------------------------------
# Plain text

_TXT_NUMBERED_HEADING = re.compile(
    r"^(第[一二三四五六七八九十百零〇两\d]+[章节節部篇]|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[）)]|"
    r"\d+(\.\d+)+\s|[A-Z][A-Z &/-]{2,}$)"
)


def _parse_plain_text(text: str, *, budget: ParseBudget) -> list[Block]:
    """Paragraphs split on blank lines; '#' lines, a short first line and numbered lines become headings."""
    groups: list[list[str]] = []
    current: list[str] = []
    for raw in text.split("\n"):
        line = _clean_line(raw)
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
        if i == 0 and not blocks and _looks_like_heading(first):
            blocks.append(Block("heading", first, level=1))  # the title line
            group = group[1:]
        elif (
            len(group) == 1
            and i + 1 < len(groups)
            and _looks_like_heading(first, max_len=40)
            and _TXT_NUMBERED_HEADING.match(first)
        ):
            blocks.append(Block("heading", first, level=2))
            continue
        body = _join_lines(group)
        if body:
            blocks.append(Block("paragraph", body))
    return blocks


def _join_lines(lines: list[str]) -> str:
    """Join lines that look hard-wrapped; keep list items and short lines (addresses, tables) apart.

    A line is a wrapped continuation when the line before it is not a finished sentence and is at
    least 60% as long as the longest line of the group (hard-wrapped prose fills the width).
    """
    width = max((len(line) for line in lines), default=0)
    merged = _Lines()
    last = ""  # the previous original line
    for line in lines:
        wrapped = width >= 20 and len(last) >= 0.6 * width and not last.endswith(_FINAL_PUNCT)
        if merged and wrapped and not _LIST_ITEM.match(line):
            merged.wrap(line)
        else:
            merged.new(line)
        last = line
    return merged.text().strip()


# --------------------------------------------------------------------------------------------------
# HTML

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)


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
        text = "\n".join(_clean_line(x) for x in "".join(self._buf).split("\n"))
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
            self._row.append(_clean_line(" ".join("".join(self._cell).split())))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if any(self._row):
                if self._row_is_header and self._header is None:
                    self._header = self._row  # a row of <th> cells names the columns of the rows below
                else:
                    row = _table_row(self._row, self._header)
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
    return target.blocks, _clean_line(target.title)


# --------------------------------------------------------------------------------------------------
# PDF

_PDF_NUMBERED = re.compile(r"^\d+(\.\d+)+\s")
_BULLET = re.compile(r"^([-*•·▪●◦]|\(?\d{1,3}[).、]|[（(][一二三四五六七八九十\d]+[）)])")


def _pdf_heading_like(line: str) -> bool:
    return _looks_like_heading(line, max_len=40) and not _BULLET.match(line) and not line.endswith((":", "：", "|"))


def _edge_key(line: str) -> str:
    """A header/footer line with its numbers blanked, so that "Page 3 of 9" matches "Page 4 of 9"."""
    return re.sub(r"\d+", "#", line)


def _running_lines(page_texts: list[str]) -> set[str]:
    """Keys of lines at the top or bottom of at least half the pages (and two or more): headers, footers."""
    counts: dict[str, int] = {}
    for text in page_texts:
        lines = [x for x in (_clean_line(y) for y in text.split("\n")) if x]
        edges = {_edge_key(x) for x in lines[:2] + lines[-2:] if len(x) <= 80}
        for key in edges:
            counts[key] = counts.get(key, 0) + 1
    need = max(2, (len(page_texts) + 1) // 2)
    return {key for key, n in counts.items() if n >= need}


_PAGE_NUMBER = re.compile(r"(-\s*)?\d{1,4}(\s*-)?|(page|第)\s*\d+\s*(页|頁)?(\s*(/|of)\s*\d+)?", re.I)


def _pdf_page_blocks(page_text: str, page_no: int, skip: set[str] | None = None) -> list[Block]:
    """Lines of one page → headings and paragraphs.

    A line is a heading when it is short, has no final punctuation, is not a list item, starts a new
    block (page start, after a blank line or after a finished sentence) and is followed by a line
    that is not heading-like itself (so table rows and address lines stay text). Running headers and
    footers (`skip`) and bare page numbers at the top or bottom of the page are dropped.
    """
    lines = [_clean_line(x) for x in page_text.replace("\r", "\n").split("\n")]
    nonempty = [i for i, line in enumerate(lines) if line]
    if skip:
        for i in nonempty[:2] + nonempty[-2:]:  # only where running headers and footers sit
            if _edge_key(lines[i]) in skip:
                lines[i] = ""
        nonempty = [i for i in nonempty if lines[i]]
    for i in nonempty[:1] + nonempty[-1:]:
        if _PAGE_NUMBER.fullmatch(lines[i]):
            lines[i] = ""
    nonempty = [i for i in nonempty if lines[i]]
    following = {a: lines[b] for a, b in zip(nonempty, nonempty[1:], strict=False)}

    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            body = _join_lines(para)
            if body:
                blocks.append(Block("paragraph", body, page=page_no))
            para.clear()

    for i, line in enumerate(lines):
        if not line:
            flush()
            continue
        at_block_start = not para or para[-1].endswith(_FINAL_PUNCT)
        nxt = following.get(i)
        if at_block_start and nxt is not None and _pdf_heading_like(line) and not _pdf_heading_like(nxt):
            flush()
            level = 2 if _PDF_NUMBERED.match(line) else 1
            blocks.append(Block("heading", line, level=level, page=page_no))
            continue
        para.append(line)
    flush()
    return blocks


# --------------------------------------------------------------------------------------------------
# FAQ CSV

_QUESTION_COLUMNS = {"question", "questions", "q", "问题", "問題", "提问", "提問"}
_ANSWER_COLUMNS = {"answer", "answers", "a", "答案", "回答", "答复", "答覆"}
_SECTION_COLUMNS = {"section", "category", "分类", "分類", "类别", "類別", "章节", "章節"}


def _csv_cell(row: list[str], idx: int | None) -> str:
    return _clean_line(row[idx]) if idx is not None and idx < len(row) else ""


_CSV_LIMIT_LOCK = threading.Lock()


def _read_csv_rows(text: str, delimiter: str, source: str, budget: ParseBudget) -> list[list[str]]:
    """The non-blank rows, at most `max_csv_rows` after the header, no field over `max_csv_field_chars`.

    `csv.field_size_limit` is process-wide: it is set for this parse and restored, under a lock.
    """
    limits = budget.limits
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    with _CSV_LIMIT_LOCK:
        previous = csv.field_size_limit(limits.max_csv_field_chars)
        try:
            for row in reader:
                budget.check_time()
                if not any(c.strip() for c in row):
                    continue
                if len(rows) > limits.max_csv_rows:  # the header and max_csv_rows rows are in already
                    raise budget.refuse("max_csv_rows", f"the CSV has at least {len(rows):,} rows")
                rows.append(row)
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise budget.refuse(
                    "max_csv_field_chars", f"the CSV field ending on line {reader.line_num} is too long"
                ) from exc
            raise LoadError(source, f"malformed CSV ({exc})") from exc
        finally:
            csv.field_size_limit(previous)
    return rows


def _parse_faq_csv(text: str, source: str, *, budget: ParseBudget) -> tuple[list[Block], int]:
    """Rows of a question/answer CSV → "qa" blocks; a `section` column adds headings when it changes.

    Returns:
        (blocks, number of skipped incomplete rows).
    """
    # The header defines the columns, so it alone decides the delimiter (answers are full of commas
    # and semicolons, which can fool csv.Sniffer); a tie goes to the comma.
    header_line = next((line for line in text.split("\n") if line.strip()), "")
    delimiter = max(",\t;", key=lambda d: (header_line.count(d), d == ","))
    rows = _read_csv_rows(text, delimiter, source, budget)
    if not rows:
        raise LoadError(source, "empty file")
    header = [h.strip().lower() for h in rows[0]]

    def find(names: set[str]) -> int | None:
        for idx, name in enumerate(header):
            if name in names:
                return idx
        return None

    q_idx, a_idx, s_idx = find(_QUESTION_COLUMNS), find(_ANSWER_COLUMNS), find(_SECTION_COLUMNS)
    missing = [name for name, idx in (("question", q_idx), ("answer", a_idx)) if idx is None]
    if missing or q_idx is None or a_idx is None:
        raise LoadError(
            source,
            f"FAQ CSV is missing the {' and '.join(repr(m) for m in missing)} column (header: {', '.join(rows[0])})",
        )
    blocks: list[Block] = []
    skipped = 0
    section = ""
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) > len(header) and a_idx == len(header) - 1:
            row = [*row[:a_idx], delimiter.join(row[a_idx:])]  # an unquoted last answer with commas
        question, answer, row_section = (_csv_cell(row, idx) for idx in (q_idx, a_idx, s_idx))
        if not question or not answer:
            skipped += 1
            logger.warning("FAQ row skipped: no question or answer", extra={"source": source, "row": line_no})
            continue
        if row_section and row_section != section:
            budget.spend(len(row_section))
            blocks.append(Block("heading", row_section, level=1))
        section = row_section or section
        budget.spend(len(question) + len(answer))
        blocks.append(Block("qa", answer, question=question))
    return blocks, skipped


# --------------------------------------------------------------------------------------------------
# The loader


class DocumentLoader:
    """Loads one document (a file, or the bytes of an upload) into a `LoadedDocument`.

    Args:
        max_bytes: Reject files larger than this with `TooLargeError`; None for no limit.
        limits: What parsing one document may cost (`IngestLimits`; its defaults when None).
        isolate: Parse in a child process killed at the deadline (`ingest.isolation`); False parses in
            this process, where the deadline is only checked between steps (for tests and tools).
        clock: Monotonic seconds for the in-process deadline checks (tests pass a fake one).

    Example:
        >>> loader = DocumentLoader(max_bytes=20_000_000)
        >>> doc = loader.run(Path("kb_docs/cards/loss.md"), base_dir=Path("kb_docs"))
    """

    SUPPORTED = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".csv")
    _FILE_TYPES = {
        ".md": "md", ".markdown": "md", ".txt": "txt", ".html": "html", ".htm": "html",
        ".pdf": "pdf", ".docx": "docx", ".csv": "csv",
    }  # fmt: skip

    def __init__(
        self,
        *,
        max_bytes: int | None = None,
        limits: IngestLimits | None = None,
        isolate: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)):
            raise ValueError(f"max_bytes must be an int or None, got {max_bytes!r}")
        if max_bytes is not None and max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        if limits is not None and not isinstance(limits, IngestLimits):
            raise ValueError(f"limits must be IngestLimits or None, got {limits!r}")
        self.max_bytes = max_bytes
        self.limits = limits or IngestLimits()
        self.isolate = isolate
        self._clock = clock

    def run(
        self,
        path: Path,
        *,
        base_dir: Path | None = None,
        data: bytes | None = None,
        filename: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> LoadedDocument:
        """Load a document.

        Args:
            path: The file. For uploads, any path whose name carries the extension (e.g. Path(filename)).
            base_dir: The folder `source` is relative to; default: the file's own folder.
            data: The content of an upload (then nothing is read from disk and no sidecar is looked for).
            filename: The upload's file name; used for the source, the type and the title fallback.
            meta: Metadata that overrides front matter and sidecar (e.g. HTTP form fields).

        Returns:
            The loaded document.

        Raises:
            UnsupportedTypeError: The extension is not one of `SUPPORTED`.
            TooLargeError: The file exceeds `max_bytes`.
            LimitExceededError: The document is over one of the `limits` (the reason names it).
            LoadError: The file is missing, empty, binary, corrupt or malformed (the reason says which).
        """
        path = Path(path)
        name = Path(filename).name if filename else path.name
        source = self._source_name(path, base_dir, filename)
        suffix = Path(name).suffix.lower()
        file_type = self._FILE_TYPES.get(suffix)
        if file_type is None:
            shown = f"'{suffix}'" if suffix else "(no extension)"
            raise UnsupportedTypeError(
                source, f"unsupported file type {shown} (supported: {', '.join(self.SUPPORTED)})"
            )

        raw = self._read(path, source, data)
        if not raw.strip():
            raise LoadError(source, "empty file")

        sidecar: dict[str, Any] = {}
        if data is None:
            side = _sidecar_path(path)
            if side.is_file():
                side_text, _ = decode_bytes(side.read_bytes(), f"{source}.meta.yaml")
                sidecar = _normalise_meta(_load_yaml_mapping(side_text, source, side.name), source)

        parsed = self._parse(raw, file_type, source)
        blocks, doc_title, encoding = parsed.blocks, parsed.title, parsed.encoding
        own_meta = parsed.meta

        given = {k: v for k, v in (meta or {}).items() if v is not None and v != ""}
        merged = {**sidecar, **own_meta, **_normalise_meta(given, source)}
        if not blocks:
            raise LoadError(source, "no text content")
        if merged.get("source"):
            source = str(merged["source"]).strip()
        title = self._title(merged, blocks, file_type, doc_title, name)
        doc = LoadedDocument(
            source=source,
            title=title,
            file_type=file_type,
            blocks=blocks,
            meta=merged,
            text=_document_text(blocks),
            encoding=encoding,
        )
        logger.info(
            "document loaded",
            extra={"source": source, "file_type": file_type, "blocks": len(blocks), "encoding": encoding},
        )
        return doc

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _source_name(path: Path, base_dir: Path | None, filename: str | None) -> str:
        if filename:
            return Path(filename).name
        if base_dir is not None:
            try:
                return path.resolve().relative_to(Path(base_dir).resolve()).as_posix()
            except ValueError:
                pass
        return path.name

    def _read(self, path: Path, source: str, data: bytes | None) -> bytes:
        if data is not None:
            size = len(data)
        else:
            if not path.is_file():
                raise LoadError(source, "file not found" if not path.exists() else "not a regular file")
            size = path.stat().st_size
        if self.max_bytes is not None and size > self.max_bytes:
            raise TooLargeError(f"{source}: {size} bytes exceeds the limit of {self.max_bytes} bytes")
        if data is not None:
            return data
        try:
            return path.read_bytes()
        except OSError as exc:
            raise LoadError(source, f"cannot read file ({exc.strerror or exc})") from exc

    @staticmethod
    def _title(meta: dict[str, Any], blocks: list[Block], file_type: str, doc_title: str, name: str) -> str:
        if meta.get("title"):
            return str(meta["title"]).strip()
        if file_type == "html" and doc_title:
            return doc_title
        if file_type != "csv":  # section headings of an FAQ are not its title
            for b in blocks:
                if b.kind == "heading":
                    return b.text
        if doc_title and doc_title.lower() not in {"untitled", "anonymous", "unknown", "microsoft word"}:
            return doc_title
        return Path(name).stem

    def _parse(self, raw: bytes, file_type: str, source: str) -> _Parsed:
        """Parse the bytes in a child process (see `ingest.isolation`), or here if that is off or impossible."""
        if self.isolate:
            from ingest.isolation import IsolationUnavailable, run_isolated

            try:
                parsed: _Parsed = run_isolated(
                    parse_content, (raw, file_type, source, self.limits), source=source, limits=self.limits
                )
                return parsed
            except IsolationUnavailable as exc:
                logger.warning("parsing in this process, with deadline checks only", extra={"reason": str(exc)})
        return parse_content(raw, file_type, source, self.limits, clock=self._clock)


@dataclass
class _Parsed:
    """What parsing a document's bytes yields: blocks, the title the file declares, encoding, own metadata."""

    blocks: list[Block]
    title: str = ""
    encoding: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def parse_content(
    raw: bytes, file_type: str, source: str, limits: IngestLimits, clock: Callable[[], float] = time.monotonic
) -> _Parsed:
    """Parse a document's bytes within `limits` (in the parsing child process, see `DocumentLoader`).

    Args:
        raw: The file's bytes (not empty).
        file_type: md, txt, html, pdf, docx or csv.
        source: The document's name, for messages.
        limits: The limits the parse is held to.
        clock: Monotonic seconds, for the parse deadline.

    Raises:
        LimitExceededError: Over one of the limits.
        LoadError: Binary, corrupt or malformed content.
    """
    budget = ParseBudget(limits, source, clock=clock)
    if file_type == "pdf":
        blocks, title = _load_pdf(raw, source, budget)
        return _Parsed(blocks, title)
    if file_type == "docx":
        blocks, title = _load_docx(raw, source, budget)
        return _Parsed(blocks, title)
    declared = None
    if file_type == "html":
        found = _META_CHARSET.search(raw[:4096])
        declared = found.group(1).decode("ascii", "replace") if found else None
    text, encoding = decode_bytes(raw, source, declared=declared)
    budget.check_time()
    if not text.strip():
        raise LoadError(source, "empty file")
    parsed = _Parsed([], encoding=encoding)
    if file_type == "md":
        front, body = _split_front_matter(text, source)
        parsed.meta = _normalise_meta(front, source)
        parsed.blocks = _parse_markdown(body, budget=budget)
    elif file_type == "txt":
        parsed.blocks = _parse_plain_text(text, budget=budget)
    elif file_type == "html":
        parsed.blocks, parsed.title = _parse_html(text, budget=budget)
    else:
        parsed.blocks, skipped = _parse_faq_csv(text, source, budget=budget)
        if skipped:
            parsed.meta["skipped_rows"] = skipped
        if not parsed.blocks:
            raise LoadError(source, "FAQ CSV has no rows with both a question and an answer")
    return parsed


def _pypdf_limits(limits: IngestLimits) -> Any:
    """pypdf's own caps on decompressed streams set to the per-part limit (pypdf 7 and later)."""
    try:
        from pypdf import apply_configuration
    except ImportError:  # older pypdf: its built-in caps (75 MB a stream) apply
        return contextlib.nullcontext()
    part = limits.part_bytes
    return apply_configuration(
        zlib_maximum_output_length=part,
        lzw_maximum_output_length=part,
        run_length_maximum_output_length=part,
        array_based_stream_maximum_output_length=part,
        brotli_maximum_output_length=part,
        jbig2_maximum_output_length=part,
    )


def _load_pdf(raw: bytes, source: str, budget: ParseBudget) -> tuple[list[Block], str]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    limits = budget.limits
    try:
        with _pypdf_limits(limits):
            reader = PdfReader(io.BytesIO(raw))
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except Exception as exc:  # noqa: BLE001 - pypdf raises several types here
                    raise LoadError(source, f"encrypted PDF that cannot be opened ({exc})") from exc
                if not ok:
                    raise LoadError(source, "encrypted PDF (a password is required)")
            pages = len(reader.pages)
            if pages > limits.max_pdf_pages:
                raise budget.refuse("max_pdf_pages", f"the PDF has {pages:,} pages")
            texts: list[str] = []
            for page in reader.pages:
                budget.check_time()
                text = page.extract_text() or ""
                budget.spend(len(text))
                texts.append(text)
            running = _running_lines(texts) if len(texts) > 1 else set()
            blocks: list[Block] = []
            for page_no, page_text in enumerate(texts, start=1):
                budget.check_time()
                blocks.extend(_pdf_page_blocks(page_text, page_no, skip=running))
            if blocks and blocks[0].kind == "heading":
                # the first line of a PDF is its title: the headings after it sit one level below
                for block in blocks[1:]:
                    if block.kind == "heading":
                        block.level = min(6, block.level + 1)
            info_title = ""
            try:
                info = reader.metadata
                info_title = str(info.get("/Title") or "").strip() if info is not None else ""
            except PyPdfError:
                info_title = ""
    except LoadError:
        raise
    except LimitReachedError as exc:
        reason = " ".join(str(exc).split())
        if "decompress" in reason.lower():
            raise budget.refuse("max_decompressed_part_mb", "a stream of the PDF expands to more than allowed") from exc
        raise LimitExceededError(
            source, f"the PDF goes past a safety limit of the PDF parser ({reason})", limit="pypdf"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - a corrupt PDF can fail in many ways inside pypdf
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise LoadError(source, f"corrupt or unreadable PDF ({reason})") from exc
    if not blocks:
        raise LoadError(source, "no extractable text (scanned PDF?)")
    return blocks, info_title


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


def _docx_paragraph(paragraph: Any) -> Block | None:
    text = "\n".join(_clean_line(x) for x in paragraph.text.split("\n")).strip()
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    match = _DOCX_HEADING.match(style.strip())
    if match:
        return Block("heading", " ".join(text.split("\n")), level=max(1, int(match.group(1))))
    if style.strip().lower() in {"title", "标题", "標題"}:
        return Block("heading", " ".join(text.split("\n")), level=1)
    return Block("paragraph", text)


def _docx_table(table: Any, budget: ParseBudget) -> list[Block]:
    """A Word table, one block a row; the first row is the header when more rows follow it."""
    rows: list[list[str]] = []
    for row in table.rows:
        budget.check_time()
        cells: list[str] = []
        for cell in row.cells:
            value = _clean_line(" ".join(cell.text.split()))
            if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                cells.append(value)
        if cells:
            rows.append(cells)
    header = rows[0] if len(rows) > 1 else None
    body = rows[1:] if header else rows
    blocks = []
    for cells in body:
        text = _table_row(cells, header)
        budget.spend(len(text))  # each row repeats its header
        blocks.append(Block("paragraph", text))
    return blocks


# --------------------------------------------------------------------------------------------------
# Walking folders

_SKIP_DIRS = {"rules", "playbooks", "calls", "tools", "tickets", "qa"}  # config, not documents
_SKIP_SUFFIXES = {".yaml", ".yml", ".jsonl", ".py"}
_SKIP_NAMES = {"readme.md", "userdict.txt", "thumbs.db", "desktop.ini"}


def iter_document_paths(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Expand files and folders into (file, base_dir) pairs.

    Folders are walked recursively and their files sorted by relative path. A walk skips hidden files
    and folders, Office lock files (`~$…`), `*.meta.yaml` sidecars, README.md, userdict.txt, YAML/JSONL/
    Python files, and the folders `rules`, `playbooks`, `calls` and `tools` (they hold other things).
    Any other file is returned, even with an unsupported extension, so that the loader reports it as a
    failure. A file given explicitly is always returned (with its own folder as base_dir).

    Args:
        paths: Files and folders, in the order the user gave them.

    Returns:
        (file, base_dir) pairs without duplicates.
    """
    out: list[tuple[Path, Path]] = []
    seen: set[Path] = set()

    def add(file: Path, base: Path) -> None:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            out.append((file, base))

    for given in paths:
        given = Path(given)
        if not given.is_dir():
            add(given, given.parent)
            continue
        found: list[tuple[str, Path]] = []
        for file in given.rglob("*"):
            rel = file.relative_to(given)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if any(part.lower() in _SKIP_DIRS for part in rel.parts[:-1]):
                continue
            if not file.is_file():
                continue
            lower = file.name.lower()
            if lower.startswith("~$") or lower in _SKIP_NAMES or lower.endswith(".meta.yaml"):
                continue
            if file.suffix.lower() in _SKIP_SUFFIXES:
                continue
            found.append((rel.as_posix(), file))
        for _, file in sorted(found, key=lambda item: item[0]):
            add(file, given)
    return out


__all__ = ["Block", "DocumentLoader", "LoadedDocument", "decode_bytes", "iter_document_paths"]
