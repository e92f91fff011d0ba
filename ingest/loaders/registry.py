"""The supported formats: one `Format` each (file type, suffixes, parser), and `REGISTRY` from suffix to format.

Adding a format is one entry in `FORMATS`: the loader, the upload route (`SUPPORTED`) and the CLI's help
(`help_text`) all read it from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ingest.limits import IngestLimits, ParseBudget
from ingest.loaders import docx, faq_csv, html, markdown, pdf, plaintext
from ingest.loaders.types import Parsed, Parser


@dataclass(frozen=True)
class Format:
    """One document format.

    Attributes:
        file_type: The name stored with a document (`LoadedDocument.file_type`): md, txt, html, pdf, docx, csv.
        suffixes: The file-name suffixes (lower case, with the dot) that mean this format.
        label: How help text names it.
        parse: Bytes → `Parsed`, within a `ParseBudget`.
    """

    file_type: str
    suffixes: tuple[str, ...]
    label: str
    parse: Parser


FORMATS: tuple[Format, ...] = (
    Format("md", (".md", ".markdown"), "md", markdown.parse),
    Format("txt", (".txt",), "txt", plaintext.parse),
    Format("html", (".html", ".htm"), "html", html.parse),
    Format("pdf", (".pdf",), "pdf", pdf.parse),
    Format("docx", (".docx",), "docx", docx.parse),
    Format("csv", (".csv",), "csv FAQ", faq_csv.parse),
)

# Suffix → format, in the order of `FORMATS`.
REGISTRY: dict[str, Format] = {suffix: fmt for fmt in FORMATS for suffix in fmt.suffixes}

# The supported suffixes, in the order error messages list them.
SUPPORTED: tuple[str, ...] = tuple(REGISTRY)

_BY_TYPE: dict[str, Format] = {fmt.file_type: fmt for fmt in FORMATS}


def help_text() -> str:
    """The formats as help text names them: "md, txt, html, pdf, docx, csv FAQ"."""
    return ", ".join(fmt.label for fmt in FORMATS)


def unsupported_reason(suffix: str) -> str:
    """Why a file with this suffix is refused, with the supported suffixes."""
    shown = f"'{suffix}'" if suffix else "(no extension)"
    return f"unsupported file type {shown} (supported: {', '.join(SUPPORTED)})"


def parse_content(
    raw: bytes, file_type: str, source: str, limits: IngestLimits, clock: Callable[[], float] = time.monotonic
) -> Parsed:
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
    return _BY_TYPE[file_type].parse(raw, source, budget)
