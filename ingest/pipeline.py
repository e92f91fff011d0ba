"""The ingest pipeline: load → scan (guard) → chunk → embed → store → index.

A document version is written to the database in one transaction, together with its audit entry and
whatever the caller records with it (`in_transaction`: a background job's outcome); only then do its
chunks enter the indexes, in the same `KnowledgeIndex.replace()` step that takes the previous version's
chunks out. A crash leaves either all of it or none; the indexes are rebuilt from the database on start
when they do not match it. Status changes (retire, approve, send back) commit with their audit entry too.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assist import audit
from assist.db import session_scope
from assist.errors import AssistError, GuardUnavailableError, LoadError, NotFoundError
from assist.models import Chunk, ChunkVector, Document, DocumentStatus
from assist.protocols import Embedder, Guard, GuardProvider
from assist.text import detect_language, tokenize
from ingest.chunking import ChunkDraft, Chunker
from ingest.embedders import embed_pool
from ingest.indexes import IndexedChunk, KnowledgeIndex
from ingest.limits import refusal
from ingest.loaders import DocumentLoader, LoadedDocument
from ingest.onnx_batching import document_threads
from ingest.records import Actor, IngestItem, InTransaction, chunk_meta, document_row, embed_text

logger = logging.getLogger(__name__)


@dataclass
class _Prepared:
    """A document ready to embed: everything but the vectors."""

    doc: LoadedDocument
    content_hash: str
    previous: Document | None
    status: DocumentStatus
    flags: list[dict[str, Any]]
    drafts: list[ChunkDraft]
    tokens: list[list[str]]

    @property
    def title(self) -> str:
        return str(self.doc.meta.get("title") or self.doc.title)

    def row(self) -> Document:
        """The new version's row."""
        return document_row(self.doc, self.previous, self.status, self.content_hash, self.flags, len(self.drafts))


@dataclass
class _Embedding:
    """A batch of prepared documents and the vectors of their chunks, being computed."""

    batch: list[_Prepared]
    vectors: Future[dict[str, np.ndarray]]


class IngestPipeline:
    """Turns files or uploads into stored, indexed document versions."""

    def __init__(
        self,
        *,
        engine: Engine,
        index: KnowledgeIndex,
        embedders: list[Embedder],
        loader: DocumentLoader | None = None,
        chunker: Chunker | None = None,
        guard: GuardProvider | None = None,
    ) -> None:
        if not embedders:
            raise ValueError("the pipeline needs at least one embedder")
        self.engine = engine
        self.index = index
        self.embedders = embedders
        self.loader = loader or DocumentLoader()
        self.chunker = chunker or Chunker()
        self._guard = guard

    @property
    def guard(self) -> Guard | None:
        """The guard in force now (the provider raises GuardUnavailableError when none can check); None for
        a pipeline built without a provider, which publishes unscanned."""
        return self._guard.get() if self._guard is not None else None

    # -- entry points -------------------------------------------------------------------------
    def ingest_files(
        self, files: Sequence[tuple[Path, Path | None]], *, batch_chunks: int = 64, actor: Actor | None = None
    ) -> Iterator[IngestItem]:
        """Ingest files from disk, embedding the chunks of several documents per model call.

        A batch's vectors are computed in the background while the next documents are parsed and prepared
        and the previous batch is stored: the models never wait on a parse or a commit. Failures are reported
        in their item, never raised. Each stored version is audited as `actor` (default: `system`).
        """
        actor = actor or Actor()
        pending: list[_Prepared] = []
        inflight: _Embedding | None = None
        driver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-embed")
        try:
            for path, base_dir in files:
                source = str(path.relative_to(base_dir)) if base_dir else path.name
                try:
                    doc = self.loader.run(path, base_dir=base_dir)  # checks the size before reading
                    data = path.read_bytes()
                    if any(p.doc.source == doc.source for p in [*pending, *(inflight.batch if inflight else [])]):
                        # a later version needs the earlier one stored first
                        yield from self._finish(inflight, actor)
                        inflight = None
                        yield from self._finish(self._start(pending, driver), actor)
                    prepared = self._prepare(doc, content_hash=self._hash(data, doc.meta))
                except AssistError as exc:
                    logger.warning("ingest failed", extra={"source": source, "reason": str(exc)})
                    yield IngestItem(source=source, outcome="failed", error=str(exc))
                    continue
                except OSError as exc:
                    yield IngestItem(source=source, outcome="failed", error=f"{source}: cannot read ({exc.strerror})")
                    continue
                if isinstance(prepared, IngestItem):
                    self._settle_unchanged(prepared, actor=actor)
                    yield prepared
                    continue
                pending.append(prepared)
                if sum(len(p.drafts) for p in pending) >= batch_chunks:
                    started = self._start(pending, driver)  # embeds while the previous batch is stored
                    yield from self._finish(inflight, actor)
                    inflight = started
            yield from self._finish(inflight, actor)
            yield from self._finish(self._start(pending, driver), actor)
        finally:
            driver.shutdown(wait=False)

    def ingest_file(self, path: Path, *, base_dir: Path | None = None) -> IngestItem:
        """Ingest one file from disk; failures are reported in the item, never raised."""
        return next(iter(self.ingest_files([(path, base_dir)])))

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
        """Ingest uploaded bytes; raises the loader's errors (the API turns them into 4xx).

        Args:
            data: The file's bytes.
            filename: Its name (gives the type and, for a new document, the source).
            meta: Metadata that overrides the file's own.
            replaces: The id of a version this one follows (else the source decides).
            actor: Who the version is audited as (default: `system`).
            in_transaction: Called with the session and the outcome inside the transaction that stores
                the version (or, for identical content, that repairs its missing audit entry), so that
                what it writes commits with it or not at all.
        """
        actor = actor or Actor()
        meta = {k: v for k, v in (meta or {}).items() if v not in (None, "")}
        doc = self.loader.run(Path(filename), data=data, filename=filename, meta=meta)
        prepared = self._prepare(doc, content_hash=self._hash(data, meta), replaces=replaces)
        if isinstance(prepared, IngestItem):
            self._settle_unchanged(prepared, actor=actor, in_transaction=in_transaction)
            return prepared
        texts = [embed_text(prepared.title, d.section, d.text) for d in prepared.drafts]
        return self._commit(prepared, self._embed(texts), actor=actor, in_transaction=in_transaction)

    # -- the steps ----------------------------------------------------------------------------
    @staticmethod
    def _hash(data: bytes, meta: dict[str, Any]) -> str:
        h = hashlib.sha256(data)
        h.update(json.dumps(meta, sort_keys=True, default=str, ensure_ascii=False).encode())
        return h.hexdigest()

    def _scan(self, text: str) -> tuple[DocumentStatus, list[dict[str, Any]]]:
        """The compliance scan with the guard in force (the rules in the database, for the app and the CLI).

        Raises:
            GuardUnavailableError: The guard provider has no guard, or its guard has no rules: nothing is
                published unchecked. (A pipeline built with no guard at all, for a throw-away index or a test,
                publishes without a scan.)
        """
        guard = self.guard  # a provider raises GuardUnavailableError when the guard cannot check
        if guard is None:
            return DocumentStatus.published, []
        if not guard.rules:
            raise GuardUnavailableError(
                "compliance check unavailable: the compliance guard has no rules in force; "
                "nothing is published unchecked"
            )
        verdict = guard.check(text, speaker="document")
        flags: list[dict[str, Any]] = [
            {
                "rule_id": m.rule_id,
                "category": m.category,
                "severity": m.severity,
                "start": m.start,
                "end": m.end,
                "text": m.text,
            }
            for m in verdict.matches
        ]
        status = DocumentStatus.needs_review if verdict.action == "block" else DocumentStatus.published
        return status, flags

    def _embed(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Every embedder's vectors of `texts`. Two or more embedders run side by side: each model's batch
        keeps the cores busy between the other's small operators (1.4x faster than one after the other on
        two cores, docs/benchmarks.md)."""
        if len(self.embedders) < 2 or not texts or document_threads() < 2:  # `assist serve` leaves a core to calls
            return {e.name: np.asarray(e.embed_documents(texts), dtype=np.float32) for e in self.embedders}
        futures = {e.name: embed_pool().submit(e.embed_documents, texts) for e in self.embedders}
        return {name: np.asarray(f.result(), dtype=np.float32) for name, f in futures.items()}

    def _prepare(
        self, doc: LoadedDocument, *, content_hash: str, replaces: str | None = None
    ) -> _Prepared | IngestItem:
        """Everything before embedding: version lookup, compliance scan, chunking, BM25 tokens."""
        with Session(self.engine, expire_on_commit=False) as session:
            if replaces:
                base = session.get(Document, replaces)
                if base is None:
                    raise NotFoundError("document", replaces)
                family = list(session.exec(select(Document).where(Document.family_id == base.family_id)))
            else:
                family = list(session.exec(select(Document).where(Document.source == doc.source)))
        family.sort(key=lambda d: d.version)
        same = next((d for d in family if d.content_hash == content_hash), None)
        if same is not None:
            return IngestItem(
                source=doc.source,
                outcome="unchanged",
                document_id=same.id,
                family_id=same.family_id,
                version=same.version,
                status=same.status.value,
                chunks=same.chunk_count,
                flags=same.flags,
                title=same.title,
            )
        status, flags = self._scan(doc.text)
        drafts = self.chunker.run(doc)
        if not drafts:
            raise LoadError(doc.source, "no text to index")
        if len(drafts) > self.loader.limits.max_chunks_per_document:
            raise refusal(
                doc.source, self.loader.limits, "max_chunks_per_document", f"the document makes {len(drafts):,} chunks"
            )
        title = str(doc.meta.get("title") or doc.title)
        tokens = [tokenize(embed_text(title, d.section, d.text)) for d in drafts]
        return _Prepared(doc, content_hash, family[-1] if family else None, status, flags, drafts, tokens)

    def _settle_unchanged(self, item: IngestItem, *, actor: Actor, in_transaction: InTransaction | None = None) -> None:
        """Identical content stores nothing; but a version whose audit entry is missing (a crash between
        the writes of older code) gets it now, in a transaction with `in_transaction`."""
        assert item.document_id is not None
        with Session(self.engine) as session:
            missing = not audit.stored_entry_exists(session, document_id=item.document_id)
        if not missing and in_transaction is None:
            return
        with session_scope(self.engine) as session:
            if missing:
                audit.serialize_repairs(session)
                document = session.get(Document, item.document_id)
                if document is not None and not audit.stored_entry_exists(session, document_id=document.id):
                    audit.record_document_stored(
                        session, document=document, actor=actor.key, actor_name=actor.name, recovered=True
                    )
                    logger.warning("audit entry of a stored version repaired", extra={"document_id": document.id})
            if in_transaction is not None:
                in_transaction(session, item)

    def _start(self, pending: list[_Prepared], driver: ThreadPoolExecutor) -> _Embedding | None:
        """Start embedding the pending documents' chunks together (on `driver`); empties `pending`."""
        if not pending:
            return None
        batch = list(pending)
        pending.clear()
        texts = [embed_text(p.title, d.section, d.text) for p in batch for d in p.drafts]
        if document_threads() < 2:  # `assist serve`: the models run in the caller's thread, one at a time
            done: Future[dict[str, np.ndarray]] = Future()
            done.set_result(self._embed(texts))
            return _Embedding(batch, done)
        return _Embedding(batch, driver.submit(self._embed, texts))

    def _finish(self, started: _Embedding | None, actor: Actor) -> Iterator[IngestItem]:
        """Wait for a batch's vectors, then store and index each of its documents."""
        if started is None:
            return
        vectors = started.vectors.result()
        offset = 0
        for p in started.batch:
            n = len(p.drafts)
            yield self._commit(p, {name: mat[offset : offset + n] for name, mat in vectors.items()}, actor=actor)
            offset += n

    def _commit(
        self,
        p: _Prepared,
        vectors: dict[str, np.ndarray],
        *,
        actor: Actor,
        in_transaction: InTransaction | None = None,
    ) -> IngestItem:
        """Store one document version with its audit entry in one transaction, then swap it into the indexes."""
        doc, drafts, previous, status = p.doc, p.drafts, p.previous, p.status
        with session_scope(self.engine) as session:
            document = p.row()
            language = document.language
            session.add(document)
            session.flush()  # the document row must exist before its chunks reference it
            chunks = [
                Chunk(
                    document_id=document.id,
                    position=d.position,
                    section=d.section,
                    page=d.page,
                    text=d.text,
                    language=detect_language(d.text) if language == "mixed" else language,
                )
                for d in drafts
            ]
            session.add_all(chunks)
            session.flush()
            for name, mat in vectors.items():
                session.add_all(
                    ChunkVector(chunk_id=c.id or 0, embedder=self.index.spaces[name], vector=mat[i].tobytes())
                    for i, c in enumerate(chunks)
                )
            removed: list[int] = []
            if status == DocumentStatus.published:
                removed = self._supersede(session, family_id=document.family_id, keep=document.id)
            metas = [chunk_meta(document, c) for c in chunks]
            item = IngestItem(
                source=doc.source,
                outcome="updated" if previous else "new",
                document_id=document.id,
                family_id=document.family_id,
                version=document.version,
                status=status.value,
                chunks=len(drafts),
                flags=p.flags,
                title=document.title,
            )
            audit.record_document_stored(session, document=document, actor=actor.key, actor_name=actor.name)
            if in_transaction is not None:
                in_transaction(session, item)
        add = []
        if status == DocumentStatus.published:
            add = [
                IndexedChunk(meta=m, tokens=p.tokens[i], vectors={n: v[i] for n, v in vectors.items()})
                for i, m in enumerate(metas)
            ]
        self.index.replace(remove=removed, add=add)
        logger.info("ingested", extra={"source": doc.source, "version": document.version, "chunks": len(drafts)})
        return item

    @staticmethod
    def _supersede(session: Session, *, family_id: str, keep: str) -> list[int]:
        """Mark the family's other published versions superseded; return their chunk ids."""
        olds = list(
            session.exec(
                select(Document).where(
                    Document.family_id == family_id,
                    Document.id != keep,
                    Document.status == DocumentStatus.published,
                )
            )
        )
        removed: list[int] = []
        for old in olds:
            old.status = DocumentStatus.superseded
            session.add(old)
            removed += [
                cid for cid in session.exec(select(Chunk.id).where(Chunk.document_id == old.id)) if cid is not None
            ]
        return removed

    # -- lifecycle ----------------------------------------------------------------------------
    def set_status(
        self,
        *,
        document_id: str,
        status: DocumentStatus,
        note: str | None = None,
        action: str | None = None,
        actor: Actor | None = None,
    ) -> Document:
        """Publish, retire or send back a version; the indexes follow in one step.

        With `action` (e.g. `document.retire`), the change is audited as `actor`, in the same transaction.
        """
        with session_scope(self.engine) as session:
            document = session.get(Document, document_id)
            if document is None:
                raise NotFoundError("document", document_id)
            before = document.status
            chunks = list(
                session.exec(select(Chunk).where(Chunk.document_id == document_id).order_by(col(Chunk.position)))
            )
            ids = [c.id for c in chunks if c.id is not None]
            removed: list[int] = []
            add: list[IndexedChunk] = []
            document.status = status
            if note is not None:
                document.review_note = note
            session.add(document)
            if status == DocumentStatus.published:
                removed = self._supersede(session, family_id=document.family_id, keep=document.id)
                add = self._indexed(session, document, chunks)
            else:
                removed = ids
            if action is not None:
                after: dict[str, Any] = {"status": status.value}
                if action in ("document.approve", "document.reject"):  # a review decision
                    after |= {"note": note, "flags": len(document.flags or [])}
                audit.record(
                    session,
                    actor=actor.key if actor else None,
                    actor_name=actor.name if actor else None,
                    action=action,
                    target_type="document",
                    target_id=document_id,
                    before={"status": before.value, "version": document.version},
                    after=after,
                )
        self.index.replace(remove=removed, add=add)
        return document

    def _indexed(self, session: Session, document: Document, chunks: list[Chunk]) -> list[IndexedChunk]:
        ids = [c.id for c in chunks if c.id is not None]
        stored: dict[tuple[int, str], bytes] = {
            (v.chunk_id, v.embedder): v.vector
            for v in session.exec(select(ChunkVector).where(col(ChunkVector.chunk_id).in_(ids)))
        }
        out = []
        spaces = self.index.spaces
        missing = [c for c in chunks if any((c.id, spaces[e.name]) not in stored for e in self.embedders)]
        fresh = self._embed([embed_text(document.title, c.section, c.text) for c in missing]) if missing else {}
        fresh_rows = {c.id: i for i, c in enumerate(missing)}
        for c in chunks:
            assert c.id is not None
            vecs: dict[str, np.ndarray] = {}
            for e in self.embedders:
                raw = stored.get((c.id, spaces[e.name]))
                if raw is not None:
                    vecs[e.name] = np.frombuffer(raw, dtype=np.float32)
                else:
                    vecs[e.name] = fresh[e.name][fresh_rows[c.id]]
                    session.add(ChunkVector(chunk_id=c.id, embedder=spaces[e.name], vector=vecs[e.name].tobytes()))
            out.append(
                IndexedChunk(
                    meta=chunk_meta(document, c),
                    tokens=tokenize(embed_text(document.title, c.section, c.text)),
                    vectors=vecs,
                )
            )
        return out

    def rebuild(self) -> KnowledgeIndex:
        """A fresh index built from the database's published chunks (stored vectors reused)."""
        fresh = KnowledgeIndex(
            {n: idx.dim for n, idx in self.index.dense.items()}, self.index.spaces, ann=self.index.ann
        )
        with session_scope(self.engine) as session:
            docs = list(session.exec(select(Document).where(Document.status == DocumentStatus.published)))
            for document in docs:
                chunks = list(session.exec(select(Chunk).where(Chunk.document_id == document.id)))
                fresh.replace(add=self._indexed(session, document, chunks))
        return fresh

    def indexed_chunks(self, chunk_ids: list[int]) -> list[IndexedChunk]:
        """The given chunks, ready for `KnowledgeIndex.replace` (stored vectors reused; missing ones embedded
        and stored): how another replica's index follows one document's change without a rebuild."""
        out: list[IndexedChunk] = []
        with session_scope(self.engine) as session:
            chunks = list(session.exec(select(Chunk).where(col(Chunk.id).in_(chunk_ids))))
            by_doc: dict[str, list[Chunk]] = {}
            for c in chunks:
                by_doc.setdefault(c.document_id, []).append(c)
            for document_id, doc_chunks in by_doc.items():
                document = session.get(Document, document_id)
                if document is not None:
                    out += self._indexed(session, document, sorted(doc_chunks, key=lambda c: c.position))
        return out
