"""The knowledge base as the app and the CLI use it: embedders, indexes, retriever and ingest pipeline."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assist.config import Settings
from assist.knowledge.retrieval import HybridRetriever
from assist.models import Chunk, Document, DocumentStatus
from assist.protocols import Embedder, GuardProvider
from ingest.chunking import Chunker
from ingest.embedders import build_embedders, vector_space
from ingest.indexes import KnowledgeIndex, fingerprint
from ingest.limits import IngestLimits
from ingest.loaders import DocumentLoader, iter_document_paths
from ingest.pipeline import IngestPipeline
from ingest.records import Actor, IngestItem, IngestReport, InTransaction

logger = logging.getLogger(__name__)


class KnowledgeBase:
    """Owns the indexes of one data directory and keeps them in step with the database."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        embedders: list[Embedder] | None = None,
        guard: GuardProvider | None = None,
    ) -> None:
        """Open the knowledge base of the settings' data directory (nothing loads before `warm_up`).

        Args:
            settings: The configuration (data directory, chunking, limits).
            engine: The database.
            embedders: The embedders to index with (default: those of the settings).
            guard: What hands out the guard that scans each document (the app's GuardHolder); None for a
                throw-away index that publishes unscanned (benchmark corpora, tests).
        """
        self.settings = settings
        self.engine = engine
        self.embedders: list[Embedder] = embedders if embedders is not None else build_embedders(settings)
        if not self.embedders:
            raise ValueError("at least one embedder is required (ASSIST_EMBEDDERS)")
        self._guard = guard
        self._index: KnowledgeIndex | None = None
        self._retriever: HybridRetriever | None = None
        self._pipeline: IngestPipeline | None = None
        self._write_lock = threading.Lock()
        # called after each change this process made to the served documents (the app announces it to the
        # other replicas: assist.calls.hub.Hub.announce("knowledge")); must not raise or block
        self.on_change: Callable[[], None] | None = None

    # -- loading ------------------------------------------------------------------------------
    def _served_ids(self) -> set[int]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(Chunk.id)
                .join(Document, col(Chunk.document_id) == col(Document.id))
                .where(Document.status == DocumentStatus.published)
            )
            return {r for r in rows if r is not None}

    def warm_up(self) -> None:
        """Repair the ingest records a crash left inconsistent, load the models, then the persisted indexes,
        rebuilding them if they do not match the database."""
        if self._index is not None:
            return
        self.recover()
        for e in self.embedders:
            e.warm_up()
        dims = {e.name: int(e.dim) for e in self.embedders}
        spaces = {e.name: vector_space(e) for e in self.embedders}
        expected = fingerprint(self._served_ids())
        index = KnowledgeIndex.load(self.settings.index_dir, expect_fingerprint=expected, dims=dims, spaces=spaces)
        if index is None:
            pipeline = self._make_pipeline(KnowledgeIndex(dims, spaces))
            index = pipeline.rebuild()
            index.save(self.settings.index_dir)
            logger.info("index rebuilt from the database", extra={"chunks": len(index)})
        self._set_index(index)
        for e in self.embedders:  # first query through each model is slow; pay it now
            e.embed_query("warm up")

    def _make_pipeline(self, index: KnowledgeIndex) -> IngestPipeline:
        return IngestPipeline(
            engine=self.engine,
            index=index,
            embedders=self.embedders,
            loader=DocumentLoader(
                max_bytes=int(self.settings.max_upload_mb * 1024 * 1024),
                limits=IngestLimits.from_settings(self.settings),
            ),
            chunker=Chunker(
                max_chars=self.settings.chunk_max_chars,
                overlap_sentences=self.settings.chunk_overlap_sentences,
            ),
            guard=self._guard,
        )

    def _set_index(self, index: KnowledgeIndex) -> None:
        self._index = index
        self._pipeline = self._make_pipeline(index)
        self._retriever = HybridRetriever(
            index, self.embedders, candidates=self.settings.candidates, weights=self.settings.fusion_weights
        )

    @property
    def index(self) -> KnowledgeIndex:
        self.warm_up()
        assert self._index is not None
        return self._index

    @property
    def retriever(self) -> HybridRetriever:
        self.warm_up()
        assert self._retriever is not None
        return self._retriever

    @property
    def pipeline(self) -> IngestPipeline:
        self.warm_up()
        assert self._pipeline is not None
        return self._pipeline

    def save(self) -> None:
        """Persist the indexes to the data directory."""
        self.index.save(self.settings.index_dir)

    def _save_after_commit(self) -> None:
        """Persist the indexes after a change the database holds already: a failure is logged, not raised
        (the persisted indexes are a cache of the database; they are rebuilt on start if they lag)."""
        try:
            self.save()
        except Exception:
            logger.exception("could not save the indexes; they are rebuilt from the database on the next start")

    def recover(self) -> dict[str, int]:
        """Settle background jobs a restart cut off and write audit entries a crash left out (see
        `assist.knowledge.ingest_jobs.recover`). A failure is logged: it must not keep the service from starting."""
        from assist.knowledge import ingest_jobs

        try:
            return ingest_jobs.recover(self.engine)
        except Exception:
            logger.exception("recovery of the ingest records failed; it is tried again on the next start")
            return {}

    def sync(self) -> bool:
        """Catch up with changes another process made to the database; True if the index changed.

        Incremental: the chunks served in the database and those in the index are compared by id; the
        chunks of retired or superseded versions are removed and those of new ones added (their stored
        vectors reused), in one `KnowledgeIndex.replace`. Other documents' vectors and postings stay as they are.
        """
        index = self.index
        with self._write_lock:
            served = self._served_ids()
            have = set(index.chunks)
            if served == have:
                return False
            gone, new = have - served, served - have
            add = self.pipeline.indexed_chunks(sorted(new)) if new else []
            index.replace(remove=sorted(gone), add=add)
            self._save_after_commit()
        logger.info("index followed the database", extra={"removed": len(gone), "added": len(add)})
        return True

    def _changed(self) -> None:
        """Tell `on_change` (the other replicas) that the served documents changed."""
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                logger.exception("could not announce a knowledge change; the others follow at their next sync")

    # -- writing ------------------------------------------------------------------------------
    def ingest_paths(
        self,
        paths: Iterable[Path],
        *,
        progress: Callable[[IngestItem], None] | None = None,
        actor: Actor | None = None,
    ) -> IngestReport:
        """Ingest files and folders; each failure is reported, the batch goes on.

        Each stored version is audited as `actor` (the CLI passes `cli:<user>`; default `system`).
        """
        report = IngestReport()
        pairs = document_paths([Path(p) for p in paths])
        with self._write_lock:
            for item in self.pipeline.ingest_files(pairs, batch_chunks=self.settings.embed_batch_size * 2, actor=actor):
                report.items.append(item)
                if progress:
                    progress(item)
            self._save_after_commit()
        self._changed()
        return report

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
        """Ingest one uploaded file, audited as `actor`; raises LoadError (and its subclasses
        UnsupportedTypeError, LimitExceededError) and TooLargeError. See `IngestPipeline.ingest_upload`."""
        with self._write_lock:
            item = self.pipeline.ingest_upload(
                data=data, filename=filename, meta=meta, replaces=replaces, actor=actor, in_transaction=in_transaction
            )
            if item.outcome != "unchanged":
                self._save_after_commit()
        if item.outcome != "unchanged":
            self._changed()
        return item

    def retire(self, *, document_id: str, actor: Actor | None = None) -> Document:
        """Stop serving a document version; its history stays. Audited (`document.retire`) as `actor`."""
        with self._write_lock:
            doc = self.pipeline.set_status(
                document_id=document_id, status=DocumentStatus.retired, action="document.retire", actor=actor
            )
            self._save_after_commit()
        self._changed()
        return doc

    def publish(self, *, document_id: str, note: str | None = None, actor: Actor | None = None) -> Document:
        """Serve a version approved after review (`document.approve`, audited as `actor`); older published
        versions are superseded."""
        with self._write_lock:
            doc = self.pipeline.set_status(
                document_id=document_id,
                status=DocumentStatus.published,
                note=note,
                action="document.approve",
                actor=actor,
            )
            self._save_after_commit()
        self._changed()
        return doc

    def send_back(self, *, document_id: str, note: str | None = None, actor: Actor | None = None) -> Document:
        """Keep a flagged version out of service, with the reviewer's note (`document.reject`, audited)."""
        with self._write_lock:
            doc = self.pipeline.set_status(
                document_id=document_id,
                status=DocumentStatus.needs_review,
                note=note,
                action="document.reject",
                actor=actor,
            )
            self._save_after_commit()
        self._changed()
        return doc

    # -- reading ------------------------------------------------------------------------------
    def next_steps_for(self, document_id: str) -> list[str]:
        """The next-step ids a document declares in its metadata."""
        with Session(self.engine) as session:
            doc = session.get(Document, document_id)
            if doc is None:
                return []
            return [s["id"] if isinstance(s, dict) else str(s) for s in (doc.next_steps or [])]


#: Folders of the knowledge base that hold the guard's data, not documents: the labelled corpus and the
#: claim model file (kb_docs/guard/). ingest.loaders skips rules/, playbooks/, calls/ and tools/ itself.
NOT_DOCUMENT_DIRS = frozenset({"guard"})


def document_paths(paths: list[Path]) -> list[tuple[Path, Path]]:
    """:func:`ingest.loaders.iter_document_paths`, without the guard's data folder (kb_docs/guard/) in a walk."""
    pairs = iter_document_paths(paths)
    return [
        (f, base)
        for f, base in pairs
        if f.parent == base or not any(part.lower() in NOT_DOCUMENT_DIRS for part in f.relative_to(base).parts[:-1])
    ]
