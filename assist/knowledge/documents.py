"""The document lifecycle as a service: upload (now, or as a background job), retire and review.

The routes (assist/routes/documents.py) and the CLI (`assist ingest`) both go through it, so a change made
either way writes the same audit entries: a stored version's `document.upload` / `document.version` (in
the transaction that stores it, by `IngestPipeline`), and `document.retire`, `document.approve` or
`document.reject` with the status change. Background jobs are run, watched (liveness: `ingest_jobs`) and
settled here, not in the route.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from assist.errors import AssistError, ConflictError, NotFoundError
from assist.knowledge import ingest_jobs
from assist.models.documents import Document, DocumentStatus, IngestJob
from assist.models.keys import ApiKey
from assist.protocols import Knowledge
from ingest.records import Actor, IngestItem, IngestReport

logger = logging.getLogger(__name__)

# Uploads above this size are ingested in the background (a job to poll); smaller ones in the request.
BACKGROUND_BYTES = 1_000_000


@dataclass(frozen=True)
class Upload:
    """One uploaded file and what the uploader said about it."""

    data: bytes
    filename: str
    meta: dict[str, Any] = field(default_factory=dict)
    replaces: str | None = None


def upload_result(item: IngestItem) -> dict[str, Any]:
    """The upload's answer (and a background job's `result`) for an outcome."""
    return {
        "id": item.document_id,
        "family_id": item.family_id,
        "version": item.version,
        "status": item.status,
        "chunks": item.chunks,
        "flags": item.flags or [],
        "outcome": item.outcome,
        "title": item.title,
        "source": item.source,
    }


class DocumentService:
    """Upload, retire and review documents; each writes its own audit entries, as `actor`."""

    def __init__(self, *, knowledge: Knowledge, engine: Engine, lease_s: float = ingest_jobs.DEFAULT_LEASE_S) -> None:
        """Serve the documents of `knowledge`.

        Args:
            knowledge: The knowledge base that stores and indexes the versions.
            engine: The database.
            lease_s: How long a background job's lease lasts unless renewed (ASSIST_INGEST_LEASE_S); another
                server settles a job whose lease expired.
        """
        self.knowledge = knowledge
        self.engine = engine
        self.lease_s = lease_s

    # -- uploads ------------------------------------------------------------------------------
    @staticmethod
    def in_background(upload: Upload) -> bool:
        """True when the upload is large enough to be ingested after the response (`BACKGROUND_BYTES`)."""
        return len(upload.data) > BACKGROUND_BYTES

    def check_replaces(self, replaces: str | None) -> None:
        """Refuse a `replaces` that names no document (404), before anything is read or queued."""
        if replaces:
            with Session(self.engine) as session:
                if session.get(Document, replaces) is None:
                    raise NotFoundError("document", replaces)

    def upload(self, upload: Upload, *, actor: Actor) -> IngestItem:
        """Ingest one upload now; the stored version is audited as `actor` in its own transaction.

        Raises:
            AssistError: the loaders' refusals (unsupported type, limits), a missing `replaces`, the guard
                unavailable.
        """
        return self.knowledge.ingest_upload(
            data=upload.data, filename=upload.filename, meta=upload.meta, replaces=upload.replaces, actor=actor
        )

    def ingest_paths(
        self, paths: Iterable[Path], *, actor: Actor, progress: Callable[[IngestItem], None] | None = None
    ) -> IngestReport:
        """Ingest files and folders (the CLI); each stored version audited as `actor`, as an upload is."""
        return self.knowledge.ingest_paths(paths, progress=progress, actor=actor)

    def queue(self, upload: Upload, *, key: ApiKey) -> IngestJob:
        """Record a background job for `upload`, owned by this process under a lease it keeps renewing while
        the job runs; run it with `run_job`."""
        job = IngestJob(
            filename=upload.filename,
            size_bytes=len(upload.data),
            replaces=upload.replaces,
            created_by=key.name,
            worker=ingest_jobs.WORKER_ID,
            lease_until=ingest_jobs.lease_until(self.lease_s),
        )
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(job)
            session.commit()
        ingest_jobs.started(job.id, engine=self.engine, lease_s=self.lease_s)
        return job

    def run_job(self, job_id: str, upload: Upload, *, key_id: str | None) -> None:
        """Ingest a queued upload; the job records the outcome (with the document, in one transaction) or
        the error. Never raises: a job must always end."""
        try:
            self._ingest_job(job_id, upload, key_id=key_id)
        finally:
            ingest_jobs.ended(job_id)

    def _ingest_job(self, job_id: str, upload: Upload, *, key_id: str | None) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.get(IngestJob, job_id)
            if job is None:
                return
            job.status = "running"
            session.add(job)
            session.commit()
            key = session.get(ApiKey, key_id) if key_id else None

        def done(tx: Session, item: IngestItem) -> None:  # in the transaction that stores the document
            ingest_jobs.finish(tx, job_id=job_id, result=upload_result(item))

        try:
            self.knowledge.ingest_upload(
                data=upload.data,
                filename=upload.filename,
                meta=upload.meta,
                replaces=upload.replaces,
                actor=Actor(key=key),
                in_transaction=done,
            )
        except AssistError as exc:
            ingest_jobs.fail(self.engine, job_id=job_id, error=str(exc), status=exc.status_code)
        except Exception as exc:  # a job must always end; the editor sees the failure, not a hang
            logger.exception("background ingest failed", extra={"job_id": job_id})
            ingest_jobs.fail(self.engine, job_id=job_id, error=f"internal error: {type(exc).__name__}", status=500)

    def job(self, job_id: str) -> IngestJob:
        """A job as the editor polls it; one whose process is gone is settled first.

        Raises:
            NotFoundError: no such job.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.get(IngestJob, job_id)
            if job is None:
                raise NotFoundError("upload job", job_id)
            if job.status in ("queued", "running") and ingest_jobs.is_cut_off(job):
                ingest_jobs.settle_if_cut_off(self.engine, job_id)
                session.refresh(job)
            return job

    # -- status changes -----------------------------------------------------------------------
    def _get(self, document_id: str) -> Document:
        with Session(self.engine, expire_on_commit=False) as session:
            doc = session.get(Document, document_id)
        if doc is None:
            raise NotFoundError("document", document_id)
        return doc

    def retire(self, document_id: str, *, actor: Actor) -> Document:
        """Stop serving a version; its history stays (`document.retire`, audited as `actor`).

        Raises:
            NotFoundError: no such document.
            ConflictError: it is retired already.
        """
        if self._get(document_id).status == DocumentStatus.retired:
            raise ConflictError(f"document {document_id!r} is already retired")
        return self.knowledge.retire(document_id=document_id, actor=actor)

    def review(
        self, document_id: str, *, decision: Literal["approve", "reject"], note: str | None, actor: Actor
    ) -> Document:
        """Compliance's decision on a flagged version: approve (served from now on, `document.approve`) or
        send it back with a note (`document.reject`); audited as `actor`.

        Raises:
            NotFoundError: no such document.
            ConflictError: it is not waiting for review.
        """
        doc = self._get(document_id)
        if doc.status != DocumentStatus.needs_review:
            raise ConflictError(f"document {document_id!r} is {doc.status.value}, not waiting for review")
        if decision == "approve":
            return self.knowledge.publish(document_id=document_id, note=note, actor=actor)
        return self.knowledge.send_back(document_id=document_id, note=note or "sent back by compliance", actor=actor)


__all__ = ["BACKGROUND_BYTES", "DocumentService", "Upload", "upload_result"]
