"""The shapes every loader returns: `Block`, `LoadedDocument`, and `Parsed` (what one format's parser yields)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ingest.limits import ParseBudget

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


@dataclass
class Parsed:
    """What parsing a document's bytes yields: blocks, the title the file declares, encoding, own metadata."""

    blocks: list[Block]
    title: str = ""
    encoding: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# A format's parser: the document's bytes (not empty), its name for messages, and the budget it parses within.
Parser = Callable[[bytes, str, ParseBudget], Parsed]


def document_text(blocks: list[Block]) -> str:
    """The plain text of the blocks (an FAQ pair as its question, then its answer), blank-line separated."""
    parts: list[str] = []
    for b in blocks:
        parts.append(f"{b.question}\n{b.text}" if b.kind == "qa" else b.text)
    return "\n\n".join(p for p in parts if p)
