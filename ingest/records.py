"""What an ingest records and reports: who it is audited as (`Actor`), the outcome per file (`IngestItem`)
and per batch (`IngestReport`), the hook that writes in its transaction (`InTransaction`), and how a stored
chunk is embedded and indexed (`embed_text`, `chunk_meta`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from assist.errors import InvalidInputError
from assist.models import Chunk, Document
from assist.models.keys import ApiKey
from ingest.indexes import ChunkMeta

# Called inside the transaction that records an ingest's outcome, with its session and the outcome.
InTransaction = Callable[[Session, "IngestItem"], None]


@dataclass(frozen=True)
class Actor:
    """Who an ingest or a status change is audited as: an API key, or a name (`cli:<user>`, `system`)."""

    key: ApiKey | None = None
    name: str | None = None


@dataclass
class IngestItem:
    """The outcome for one file or upload."""

    source: str
    outcome: str  # new | updated | unchanged | failed
    document_id: str | None = None
    family_id: str | None = None
    version: int | None = None
    status: str | None = None
    chunks: int = 0
    flags: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IngestReport:
    """The outcome of a batch."""

    items: list[IngestItem] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)

    @property
    def chunks(self) -> int:
        return sum(i.chunks for i in self.items if i.outcome in ("new", "updated"))

    @property
    def failures(self) -> list[IngestItem]:
        return [i for i in self.items if i.outcome == "failed"]

    @property
    def flagged(self) -> list[IngestItem]:
        return [i for i in self.items if i.flags and i.outcome in ("new", "updated")]

    def summary(self) -> dict[str, Any]:
        return {
            "new": self.count("new"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "failed": self.count("failed"),
            "chunks": self.chunks,
            "flagged": len(self.flagged),
        }


def embed_text(title: str, section: str, text: str) -> str:
    """What is embedded and tokenised for a chunk: its heading context, then its text."""
    head = " > ".join(p for p in (title, section) if p and p not in text[:80])
    return f"{head}\n{text}" if head else text


def chunk_meta(doc: Document, chunk: Chunk) -> ChunkMeta:
    """The index's view of a stored chunk."""
    assert chunk.id is not None
    return ChunkMeta(
        chunk_id=chunk.id,
        document_id=doc.id,
        title=doc.title,
        section=chunk.section,
        version=doc.version,
        text=chunk.text,
        language=chunk.language,
        source=doc.source,
        page=chunk.page,
        product=doc.product,
        tags=list(doc.tags or []),
        effective_from=doc.effective_from.isoformat() if doc.effective_from else None,
        effective_to=doc.effective_to.isoformat() if doc.effective_to else None,
    )


def as_date(value: Any) -> date | None:
    if value in (None, "", "null"):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInputError(f"bad date {value!r}: use YYYY-MM-DD") from exc


__all__ = ["Actor", "InTransaction", "IngestItem", "IngestReport", "as_date", "chunk_meta", "embed_text"]
