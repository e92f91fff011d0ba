"""Heading- and sentence-aware chunking for Chinese (both scripts) and English.

A chunk never spans two sections. Inside a section, whole sentences are packed greedily up to
`max_chars`; a sentence that is longer on its own is split at commas, or hard-cut as a last resort.
When a section needs several chunks, each chunk after the first starts with the last
`overlap_sentences` sentence(s) of the one before. Each FAQ pair is exactly one chunk.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ingest.loaders import Block, LoadedDocument

logger = logging.getLogger(__name__)


@dataclass
class ChunkDraft:
    """A chunk before it is stored and embedded.

    Attributes:
        text: The chunk text (for embedding and BM25), without the section path.
        section: The section path joined with " > ", e.g. "挂失流程 > 补卡"; "" if none. The document
            title is not part of it.
        position: 0-based order in the document.
        page: The 1-based page of the chunk's first sentence, for PDFs.
    """

    text: str
    section: str
    position: int
    page: int | None = None


# --------------------------------------------------------------------------------------------------
# Sentences

_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
# A run of terminators followed by any closing quotes or brackets.
_CANDIDATE = re.compile(r"[。！？；!?;.…]+[\"'”’」』）)\]】〕》]*")
_CJK_TERMINATORS = set("。！？；…")
_ABBREVIATIONS = frozenset(
    """e.g i.e mr mrs ms dr prof sr jr st vs etc al approx dept est inc ltd co corp
    jan feb mar apr jun jul aug sep sept oct nov dec ref cf u.s u.k a.m p.m ph.d""".split()
)
_NUMBER_ABBREVIATIONS = frozenset("no nos p pp art sec ch vol fig".split())
_NON_SPACE = re.compile(r"\S")
_LEADING_PUNCT = "\"'“‘(（[【「『"


def _is_boundary(line: str, match: re.Match[str]) -> bool:
    """Whether the terminator run `match` ends a sentence in `line`.

    Only looks a few characters around the match (never slices the rest of the line), so that a
    very long line without breaks is still split in linear time.
    """
    start, end = match.start(), match.end()
    punct = match.group().rstrip("\"'”’」』）)]】〕》")
    nxt = line[end : end + 1]
    if any(c in _CJK_TERMINATORS for c in punct):
        return True
    if not nxt:
        return True
    prev = line[start - 1] if start > 0 else ""
    if _CJK.match(nxt):
        if punct.startswith("."):
            return bool(prev) and _CJK.match(prev) is not None  # "…元.然后" yes; "v1.数据" no
        return True
    if not nxt.isspace():
        return False  # 2.5%, e.g., U.S, file.txt, "?!" inside a token
    if set(punct) == {";"}:
        return bool(prev) and _CJK.match(prev) is not None  # an English semicolon joins clauses
    if "!" in punct or "?" in punct:
        return True
    # a full stop (or "...") followed by white space: look at the word before and the one after
    word_start = start
    while word_start > max(0, start - 40) and not line[word_start - 1].isspace():
        word_start -= 1
    word = line[word_start:start].lstrip(_LEADING_PUNCT).lower()
    found = _NON_SPACE.search(line, end)
    following = found.group() if found else ""
    if word in _NUMBER_ABBREVIATIONS:
        if following.isdigit() or following == "#":
            return False  # "No. 5", "p. 12"
    elif word in _ABBREVIATIONS:
        # "etc." and "Inc." may end a sentence; the others almost never do
        return word in {"etc", "inc", "ltd", "co", "corp"} and following.isupper()
    if re.fullmatch(r"[a-z]", word) and prev.isupper():
        return False  # an initial: "J. Smith"
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        return False  # U.S., e.g., i.e. written without the list
    return not (following.islower() or following in {",", ";", ":"})


def split_sentences(text: str) -> list[str]:
    """Split text into sentences, for Chinese and English alike.

    Chinese sentences end at 。！？； (and …), together with any closing quotes or brackets that
    follow; ASCII !? and a CJK-context ; or . also end them. English sentences end at . ! ? followed
    by white space or the end, except after abbreviations (e.g., i.e., Mr., No., U.S.) and inside
    numbers (2.5%, 1.5). A line break always ends a sentence.

    Args:
        text: Any text.

    Returns:
        The sentences, stripped, without empty ones. Joining them back loses only white space.
    """
    sentences: list[str] = []
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if not line:
            continue
        start = 0
        for match in _CANDIDATE.finditer(line):
            if _is_boundary(line, match):
                piece = line[start : match.end()].strip()
                if piece:
                    sentences.append(piece)
                start = match.end()
        rest = line[start:].strip()
        if rest:
            sentences.append(rest)
    return sentences


def _join(a: str, b: str) -> str:
    """Concatenate two pieces of text: nothing between CJK, one space between words."""
    if not a:
        return b
    if not b:
        return a
    if _CJK.match(a[-1]) or _CJK.match(b[0]):
        return a + b
    return a + " " + b


# --------------------------------------------------------------------------------------------------
# Chunker


def _title_heading(doc: LoadedDocument) -> int | None:
    """The index of the heading that is the document's title, if any.

    That is the first block when it is a heading and either equals the title (ignoring case and
    spaces) or is the only heading of its level or above (a lone top heading such as a plain-text
    file's first line). FAQ sections are never titles.
    """
    first = next((i for i, b in enumerate(doc.blocks) if b.text.strip()), None)
    if first is None or doc.blocks[first].kind != "heading":
        return None
    block = doc.blocks[first]
    if "".join(block.text.split()).lower() == "".join(doc.title.split()).lower():
        return first
    if doc.file_type == "csv" or any(b.kind == "qa" for b in doc.blocks):
        return None
    later = (b for b in doc.blocks[first + 1 :] if b.kind == "heading" and b.text.strip())
    return first if all(b.level > block.level for b in later) else None


@dataclass
class _Unit:
    """A sentence (or a piece of an over-long one) with where it came from."""

    text: str
    page: int | None
    paragraph: int


class Chunker:
    """Splits a `LoadedDocument` into `ChunkDraft`s that respect headings and sentences.

    Args:
        max_chars: Upper bound on a chunk's length in characters (at least 80). FAQ pairs are never
            split and may exceed it.
        overlap_sentences: How many sentences of the previous chunk of the same section begin the
            next one (0 to 4).
        min_chars: A chunk whose own text is shorter than this is merged into a neighbouring chunk of
            the same section (a section that is tiny as a whole stays one chunk).
    """

    def __init__(self, *, max_chars: int = 480, overlap_sentences: int = 1, min_chars: int = 20) -> None:
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 80:
            raise ValueError(f"max_chars must be an int >= 80, got {max_chars!r}")
        if isinstance(overlap_sentences, bool) or not isinstance(overlap_sentences, int):
            raise ValueError(f"overlap_sentences must be an int, got {overlap_sentences!r}")
        if not 0 <= overlap_sentences < 5:
            raise ValueError(f"overlap_sentences must be between 0 and 4, got {overlap_sentences}")
        if isinstance(min_chars, bool) or not isinstance(min_chars, int) or not 0 <= min_chars < max_chars:
            raise ValueError(f"min_chars must be an int in [0, max_chars), got {min_chars!r}")
        self.max_chars = max_chars
        self.overlap_sentences = overlap_sentences
        self.min_chars = min_chars

    def run(self, doc: LoadedDocument) -> list[ChunkDraft]:
        """Chunk a document.

        Args:
            doc: A loaded document.

        Returns:
            The chunks in document order, with positions 0, 1, 2, ...
        """
        drafts: list[tuple[str, str, int | None]] = []  # (text, section, page)
        path: list[tuple[int, str]] = []  # (level, heading) of the open sections
        units: list[_Unit] = []
        paragraph = 0
        title_at = _title_heading(doc)

        def flush() -> None:
            if units:
                section = " > ".join(h for _, h in path)
                drafts.extend((text, section, page) for text, page in self._pack(units))
                units.clear()

        for index, block in enumerate(doc.blocks):
            if block.kind == "heading":
                heading = " ".join(block.text.split())
                if not heading or index == title_at:
                    continue  # the document's title is not part of any section path
                flush()
                level = max(1, block.level)
                while path and path[-1][0] >= level:
                    path.pop()
                path.append((level, heading))
            elif block.kind == "qa":
                flush()
                drafts.append(self._qa(block, path))
            else:
                for line in block.text.split("\n"):  # list items and table rows keep their own line
                    paragraph += 1
                    for sentence in split_sentences(line):
                        units.extend(_Unit(piece, block.page, paragraph) for piece in self._split_long(sentence))
        flush()
        chunks = [
            ChunkDraft(text=text, section=section, position=i, page=page)
            for i, (text, section, page) in enumerate(drafts)
        ]
        logger.debug("document chunked", extra={"source": doc.source, "chunks": len(chunks)})
        return chunks

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _qa(block: Block, path: list[tuple[int, str]]) -> tuple[str, str, int | None]:
        question = " ".join((block.question or "").split())
        answer = block.text.strip()
        section = " > ".join([h for _, h in path] + ([question] if question else []))
        text = f"{question}\n{answer}" if question else answer
        return text, section, block.page

    @staticmethod
    def _render(units: list[_Unit]) -> str:
        """Sentences of one line are joined inline; lines and paragraphs are separated by a line break."""
        text = ""
        for i, unit in enumerate(units):
            if i and units[i - 1].paragraph != unit.paragraph:
                text += "\n" + unit.text
            else:
                text = _join(text, unit.text)
        return text

    def _pack(self, units: list[_Unit]) -> list[tuple[str, int | None]]:
        """Greedily pack the units of one section into chunks, with overlap and tiny-tail merging."""
        groups: list[tuple[list[_Unit], int]] = []  # (units, index of the first non-overlap unit)
        current: list[_Unit] = []
        fresh_from = 0
        for unit in units:
            if current and len(self._render([*current, unit])) > self.max_chars:
                groups.append((current, fresh_from))
                carried = current[-self.overlap_sentences :] if self.overlap_sentences else []
                if carried and len(self._render([*carried, unit])) > self.max_chars:
                    carried = []
                current, fresh_from = [*carried, unit], len(carried)
            else:
                current.append(unit)
        if current:
            groups.append((current, fresh_from))

        groups = self._merge_tiny(groups)
        return [(self._render(group), group[0].page) for group, _ in groups]

    def _merge_tiny(self, groups: list[tuple[list[_Unit], int]]) -> list[tuple[list[_Unit], int]]:
        """Merge chunks whose own (non-overlap) text is under min_chars into a neighbour of the section.

        A tiny chunk joins the one before it, else the one after it (whose overlap may already repeat
        its tail). A merge never makes a chunk longer than max_chars + min_chars.
        """
        limit = self.max_chars + self.min_chars
        i = 0
        while len(groups) > 1 and i < len(groups):
            units, fresh = groups[i]
            if len(self._render(units[fresh:])) >= self.min_chars:
                i += 1
                continue
            if i > 0:
                prev, prev_fresh = groups[i - 1]
                candidate = ([*prev, *units[fresh:]], prev_fresh)
                if len(self._render(candidate[0])) <= limit:
                    groups[i - 1 : i + 1] = [candidate]
                    continue
            if i + 1 < len(groups):
                nxt, carried = groups[i + 1]
                candidate = ([*units[: len(units) - carried], *nxt], fresh)
                if len(self._render(candidate[0])) <= limit:
                    groups[i : i + 2] = [candidate]
                    continue
            i += 1
        return groups

    def _split_long(self, sentence: str) -> list[str]:
        """A sentence longer than max_chars → pieces cut after commas, else hard cuts."""
        if len(sentence) <= self.max_chars:
            return [sentence]
        clauses = [c.strip() for c in re.split(r"(?<=[，,、])(?!\d)", sentence) if c.strip()]
        pieces: list[str] = []
        current = ""
        for clause in clauses:
            for part in self._hard_cut(clause):
                if current and len(_join(current, part)) > self.max_chars:
                    pieces.append(current)
                    current = part
                else:
                    current = _join(current, part)
        if current:
            pieces.append(current)
        return pieces

    def _hard_cut(self, text: str) -> list[str]:
        """Cut text into pieces of at most max_chars, at a space in the second half when there is one."""
        pieces: list[str] = []
        while len(text) > self.max_chars:
            cut = text.rfind(" ", self.max_chars // 2, self.max_chars + 1)
            if cut <= 0:
                cut = self.max_chars
            pieces.append(text[:cut].strip())
            text = text[cut:].strip()
        if text:
            pieces.append(text)
        return pieces


__all__ = ["ChunkDraft", "Chunker", "split_sentences"]
