"""The interfaces the pipeline is built on. Implementations are swappable."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # the guard's own value types; importing them at run time would load the guard package
    from assist.compliance.guard.engine import Verdict
    from assist.compliance.guard.model import ClaimLayer
    from assist.compliance.guard.rules import Rule
    from assist.models.documents import Document
    from ingest.records import Actor, IngestItem, IngestReport, InTransaction


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    @property
    def name(self) -> str:
        """A stable name; it keys the index file and the stored vectors."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    @property
    def vector_space(self) -> str:
        """What its document vectors are, for storing and reusing them (usually its name; e5 with the
        "query: " prefix on documents is another space)."""
        ...

    def warm_up(self) -> None:
        """Load the model now (once); a no-op for an embedder with nothing to load."""
        ...

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Embed passages: shape (len(texts), dim)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query: shape (dim,)."""
        ...


@dataclass(frozen=True)
class SearchFilter:
    """What a search may return, beyond 'published and in force today'.

    Retrievers apply it while they search, before the top-k is cut, so a filter that excludes most
    passages still returns k of the others. Unset fields do not filter.

    Attributes:
        product: Only passages of documents about this product.
        language: Only passages in this language; a primary tag matches its subtags ("zh" matches
            "zh-Hans" and "zh-Hant-HK"), a full tag matches itself only.
        document_id: Only passages of this document.
        on: The day the documents must be in force on (default: today).
    """

    product: str | None = None
    language: str | None = None
    on: date | None = None
    document_id: str | None = None


@dataclass
class SearchResult:
    """One retrieved passage, with everything a citation needs."""

    document_id: str
    title: str
    section: str
    version: int
    chunk_id: str
    score: float
    snippet: str
    text: str = ""
    language: str = "en"
    source: str = ""
    page: int | None = None
    product: str | None = None
    tags: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    ended: str | None = None  # the last day (ISO) of a document no longer in force, shown only as ended

    def citation(self) -> dict[str, object]:
        """The citation shape of the contract (`ended`, the document's last day in force, only when it has ended)."""
        cited: dict[str, object] = {
            "document_id": self.document_id,
            "title": self.title,
            "section": self.section,
            "version": self.version,
            "chunk_id": self.chunk_id,
            "score": round(self.score, 4),
            "snippet": self.snippet,
        }
        if self.ended:
            cited["ended"] = self.ended
        return cited


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages that answer a query."""

    def retrieve(self, query: str, *, k: int = 5, filters: SearchFilter | None = None) -> list[SearchResult]:
        """Top-k passages, best first."""
        ...


@runtime_checkable
class VectorRetriever(Retriever, Protocol):
    """A retriever that can reuse query vectors the turn has already computed (the live call's one e5 vector
    per turn, shared with the understanding stage): :class:`assist.knowledge.retrieval.HybridRetriever`."""

    accepts_vectors: bool

    def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: SearchFilter | None = None,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> list[SearchResult]:
        """Top-k passages, best first; ``vectors`` (embedder name -> query vector) skip embedding the query."""
        ...


@runtime_checkable
class Guard(Protocol):
    """Checks text against the compliance rules in force (:class:`assist.compliance.guard.Guard`, or a fake).

    Every part of the service that checks text (live turns, suggestions, ingestion, the guard routes and CLI)
    takes this, and reads the real :class:`~assist.compliance.guard.engine.Verdict` and
    :class:`~assist.compliance.guard.engine.Match` it returns.
    """

    @property
    def rules(self) -> Sequence[Rule]:
        """The enabled rules; a guard with none checks nothing and is treated as unavailable (fail closed)."""
        ...

    def check(self, text: str, speaker: str = "agent") -> Verdict:
        """The verdict (block, warn or allow) and the matches for one text said by ``speaker``."""
        ...

    def find_disclosures(self, text: str) -> list[str]:
        """The required-disclosure parts ``text`` says (``"<disclosure>.<part>"``), and whole disclosures said."""
        ...

    def completed_disclosures(self, said: Iterable[str]) -> list[str]:
        """The disclosures whose every part is among ``said`` (part ids gathered over several turns)."""
        ...

    @property
    def claim_layer(self) -> ClaimLayer | None:
        """The claim model this guard runs beside its deterministic layers (None: those layers only)."""
        ...

    def attach_claim_layer(self, layer: ClaimLayer | None) -> None:
        """Run ``layer`` (the claim model) with the deterministic layers; ``None`` detaches it."""
        ...


class GuardProvider(Protocol):
    """Hands out the guard in force on each use (:class:`assist.compliance.holder.GuardHolder`).

    Whatever scans text later than it is built (the ingest pipeline, the knowledge base) takes a provider,
    never a guard, so a rule change reaches it without a rebuild.
    """

    def get(self) -> Guard:
        """The guard in force.

        Raises:
            GuardUnavailableError: none with rules is in force (nothing is checked with no rules).
        """
        ...


class Knowledge(Protocol):
    """The knowledge base as the server uses it (:class:`assist.knowledge.base.KnowledgeBase`, or a fake)."""

    #: called after the served documents changed (the app sets it to announce the change to the other replicas)
    on_change: Callable[[], None] | None

    @property
    def retriever(self) -> Retriever:
        """The retriever over the index in force."""
        ...

    @property
    def embedders(self) -> Sequence[Embedder]:
        """The embedders the documents are indexed with, in order."""
        ...

    def warm_up(self) -> None:
        """Load the models and the indexes (repairing what a crash left)."""
        ...

    def sync(self) -> bool:
        """Catch up with changes another process made; True if the index changed."""
        ...

    def next_steps_for(self, document_id: str) -> list[str]:
        """The next-step ids a document declares."""
        ...

    def ingest_paths(
        self,
        paths: Iterable[Path],
        *,
        progress: Callable[[IngestItem], None] | None = None,
        actor: Actor | None = None,
    ) -> IngestReport:
        """Ingest files and folders, each stored version audited as `actor`."""
        ...

    def ingest_upload(
        self,
        *,
        data: bytes,
        filename: str,
        meta: dict[str, Any] | None = None,
        replaces: str | None = None,
        actor: Actor | None = None,
        in_transaction: InTransaction | None = None,
    ) -> IngestItem:
        """Ingest one upload, audited as `actor`."""
        ...

    def retire(self, *, document_id: str, actor: Actor | None = None) -> Document:
        """Stop serving a version (audited)."""
        ...

    def publish(self, *, document_id: str, note: str | None = None, actor: Actor | None = None) -> Document:
        """Serve a version approved after review (audited)."""
        ...

    def send_back(self, *, document_id: str, note: str | None = None, actor: Actor | None = None) -> Document:
        """Keep a flagged version out of service with the reviewer's note (audited)."""
        ...
