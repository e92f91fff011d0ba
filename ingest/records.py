"""What an ingest records and reports: who it is audited as (`Actor`), the outcome per file (`IngestItem`)
and per batch (`IngestReport`), the hook that writes in its transaction (`InTransaction`), how a stored
chunk is embedded and indexed (`embed_text`, `chunk_meta`), and a new version's row (`document_row`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from assist.errors import InvalidInputError
from assist.models import Chunk, Document, DocumentStatus
from assist.models.keys import ApiKey
from assist.text import detect_language
from ingest.indexes import ChunkMeta
from ingest.loaders import LoadedDocument

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


def document_row(
    doc: LoadedDocument,
    previous: Document | None,
    status: DocumentStatus,
    content_hash: str,
    flags: list[dict[str, Any]],
    chunks: int,
) -> Document:
    """The row of a new version: its metadata, the next in its family (or the first of a new one)."""
    meta = doc.meta
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    steps = meta.get("next_steps") or []
    document = Document(
        title=str(meta.get("title") or doc.title),
        source=previous.source if previous else doc.source,
        language=str(meta.get("language") or detect_language(doc.text)),
        product=meta.get("product"),
        effective_from=as_date(meta.get("effective_from")),
        effective_to=as_date(meta.get("effective_to")),
        family_id="",
        version=(previous.version + 1) if previous else 1,
        status=status,
        content_hash=content_hash,
        file_type=doc.file_type,
        tags=[str(t) for t in tags],
        meta={k: v for k, v in meta.items() if isinstance(v, str | int | float | bool | list)},
        flags=flags,
        next_steps=[{"id": s} if isinstance(s, str) else s for s in steps],
        chunk_count=chunks,
    )
    document.family_id = previous.family_id if previous else document.id
    return document
