"""Background ingest jobs: who runs them, whether a restart cut them off, and the repairs made on start.

A job's outcome is written in the transaction that stores its document (see `IngestPipeline`), so a
crash leaves either the document, its audit entry and a finished job, or none of them and a job that
is still `queued`/`running`. The process running a job holds a lease on it in the database
(`IngestJob.worker` and `lease_until`, renewed every third of ASSIST_INGEST_LEASE_S while it runs). A job
whose lease has passed, on whatever host it ran, is settled by any server (`is_cut_off`, `settle`): on start
(`recover`), on each database sync (`settle_expired`) and when the editor polls it. It becomes done if its
version was stored, else failed ("upload it again"): the upload's bytes lived only in the dead process.

Older versions wrote the job and the audit entry after the document, in a second transaction; a crash
in between left a published document without an audit entry, and a job that then said "failed … upload
it again". `recover` repairs those records too: such a job is matched to the version it stored (same
source or family, stored after the job began, no upload entry of its own) and marked done, and every
stored version without an audit entry gets one, marked `recovered`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assist import audit
from assist.db import session_scope
from assist.models.audit import AuditEntry
from assist.models.common import utcnow
from assist.models.documents import Document, IngestJob
from assist.models.keys import ApiKey

logger = logging.getLogger(__name__)

# The process that runs a job, as stored in IngestJob.worker: host, pid and a nonce (a pid is reused, e.g. pid 1
# in every container).
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
INTERRUPTED = "interrupted by a server restart before it was stored; upload it again"
DEFAULT_LEASE_S = 60.0
_active_jobs: set[str] = set()
_active_lock = threading.Lock()
_renewer: _LeaseRenewer | None = None


def lease_until(lease_s: float = DEFAULT_LEASE_S) -> datetime:
    """The end of a lease taken (or renewed) now."""
    return utcnow() + timedelta(seconds=lease_s)


def renew_leases(engine: Engine, lease_s: float = DEFAULT_LEASE_S) -> int:
    """Extend the leases of the jobs this process runs; returns how many rows were renewed."""
    with _active_lock:
        ids = sorted(_active_jobs)
    if not ids:
        return 0
    with session_scope(engine) as session:
        result = session.execute(
            update(IngestJob)
            .where(
                col(IngestJob.id).in_(ids),
                col(IngestJob.worker) == WORKER_ID,
                col(IngestJob.status).in_(("queued", "running")),
            )
            .values(lease_until=lease_until(lease_s))
        )
    return int(getattr(result, "rowcount", 0) or 0)


class _LeaseRenewer(threading.Thread):
    """Renews this process's leases every third of the lease, while it runs jobs; then stops."""

    def __init__(self, engine: Engine, lease_s: float) -> None:
        super().__init__(name="ingest-lease-renewer", daemon=True)
        self.engine, self.lease_s = engine, lease_s

    def run(self) -> None:
        global _renewer
        while True:
            time.sleep(self.lease_s / 3)
            with _active_lock:
                if not _active_jobs:
                    _renewer = None
                    return
            try:
                renew_leases(self.engine, self.lease_s)
            except Exception:  # the database may be briefly away: the lease has two more chances
                logger.exception("could not renew ingest job leases")


def started(job_id: str, *, engine: Engine | None = None, lease_s: float = DEFAULT_LEASE_S) -> None:
    """Mark a job as running in this process (until `ended`); with `engine`, keep renewing its lease."""
    global _renewer
    with _active_lock:
        _active_jobs.add(job_id)
        if engine is not None and _renewer is None:
            _renewer = _LeaseRenewer(engine, lease_s)
            _renewer.start()


def ended(job_id: str) -> None:
    """The job no longer runs in this process."""
    with _active_lock:
        _active_jobs.discard(job_id)


def is_cut_off(job: IngestJob, *, now: datetime | None = None) -> bool:
    """True when the process that owned this unfinished job is gone, or has let its lease expire.

    Our own job: cut off when this process no longer runs it. Another process's job: when its lease (renewed
    while it runs) has passed, whatever host it ran on. A job of release 0.1 (no lease): by its "<host>:<pid>",
    on this host only.
    """
    if job.worker == WORKER_ID:
        with _active_lock:
            return job.id not in _active_jobs
    if job.lease_until is not None:
        until = job.lease_until if job.lease_until.tzinfo else job.lease_until.replace(tzinfo=UTC)
        return until < (now or utcnow())
    host, _, pid = (job.worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's job of an older release: it cannot be checked from here
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, OverflowError):
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def upload_result(document: Document, *, outcome: str, recovered: bool = False) -> dict[str, Any]:
    """A job's `result` (the upload's answer) for a stored version."""
    result: dict[str, Any] = {
        "id": document.id,
        "family_id": document.family_id,
        "version": document.version,
        "status": document.status.value,
        "chunks": document.chunk_count,
        "flags": document.flags or [],
        "outcome": outcome,
        "title": document.title,
        "source": document.source,
    }
    if recovered:
        result["recovered"] = True
    return result


def finish(session: Session, *, job_id: str, result: dict[str, Any]) -> None:
    """Mark a job done with its result, in the caller's transaction (the one that stores the document)."""
    job = session.get(IngestJob, job_id)
    if job is None:
        return
    job.status, job.result, job.error, job.error_status = "done", result, None, None
    job.finished_at = utcnow()
    session.add(job)


def fail(engine: Engine, *, job_id: str, error: str, status: int) -> None:
    """Mark a job failed, unless its outcome was stored already (it then stays done)."""
    with session_scope(engine) as session:
        job = session.get(IngestJob, job_id)
        if job is None or job.status == "done":
            return
        job.status, job.error, job.error_status = "failed", error, status
        job.finished_at = utcnow()
        session.add(job)


def _was_interrupted(job: IngestJob) -> bool:
    return job.status == "failed" and job.error_status == 503 and (job.error or "").endswith(INTERRUPTED)


def _stored_by(session: Session, job: IngestJob) -> Document | None:
    """The version a cut-off job of older code stored before its record was written, if any.

    That version has the job's source (or, with `replaces`, the same family), was stored after the job
    began (and before it was declared interrupted), has no audit entry but a recovered one, and is not
    the result of another job.
    """
    stmt = select(Document).where(col(Document.created_at) >= job.created_at)
    if job.replaces:
        base = session.get(Document, job.replaces)
        if base is None:
            return None
        stmt = stmt.where(Document.family_id == base.family_id, col(Document.version) > base.version)
    else:
        stmt = stmt.where(Document.source == job.filename)
    if job.status == "failed" and job.finished_at is not None:
        stmt = stmt.where(col(Document.created_at) <= job.finished_at)
    claimed = {
        (result or {}).get("id")
        for result in session.exec(select(IngestJob.result).where(IngestJob.id != job.id, IngestJob.status == "done"))
    }
    for document in session.exec(stmt.order_by(col(Document.created_at))):
        if document.id in claimed:
            continue
        entries = session.exec(
            select(AuditEntry.after).where(
                AuditEntry.target_type == "document",
                AuditEntry.target_id == document.id,
                col(AuditEntry.action).in_(audit.STORED_ACTIONS),
            )
        ).all()
        if any(not (after or {}).get("recovered") for after in entries):
            continue  # stored, and recorded, by something else
        return document
    return None


def _uploader(session: Session, job: IngestJob) -> ApiKey | None:
    if not job.created_by:
        return None
    keys = session.exec(select(ApiKey).where(ApiKey.name == job.created_by)).all()
    return keys[0] if len(keys) == 1 else None


def settle(session: Session, job: IngestJob) -> str:
    """Settle a job whose process is gone, in the caller's transaction; returns its new status.

    If it stored a version (only older code could leave that unrecorded), the job is done and the
    version's missing audit entry is written as the job's uploader's; otherwise it failed.
    """
    document = _stored_by(session, job)
    if document is None:
        if job.status in ("queued", "running"):
            job.status, job.error_status = "failed", 503
            job.error = f"{job.filename}: {INTERRUPTED}"
            job.finished_at = utcnow()
            session.add(job)
            logger.warning("ingest job cut off by a restart", extra={"job_id": job.id})
        return job.status
    outcome = "new" if document.version == 1 else "updated"
    job.status, job.error, job.error_status = "done", None, None
    job.result = upload_result(document, outcome=outcome, recovered=True)
    job.finished_at = utcnow()
    session.add(job)
    if not audit.stored_entry_exists(session, document_id=document.id):
        key = _uploader(session, job)
        audit.record_document_stored(
            session,
            document=document,
            actor=key,
            actor_name=None if key else job.created_by,
            recovered=True,
            job_id=job.id,
        )
    logger.warning("ingest job's stored version recovered", extra={"job_id": job.id, "document_id": document.id})
    return "done"


def settle_if_cut_off(engine: Engine, job_id: str) -> None:
    """For a poll: settle the job if its process is gone (one transaction, serialized with recovery)."""
    with session_scope(engine) as session:
        audit.serialize_repairs(session)
        job = session.get(IngestJob, job_id)
        if job is not None and job.status in ("queued", "running") and is_cut_off(job):
            settle(session, job)


def settle_expired(engine: Engine) -> int:
    """Settle the unfinished jobs whose lease has expired (their server died); run periodically by every server.

    Returns how many were settled. Serialized with the other repairs across processes, so two servers never
    settle one job twice.
    """
    now = utcnow()
    settled = 0
    with session_scope(engine) as session:
        expired = session.exec(
            select(IngestJob).where(
                col(IngestJob.status).in_(("queued", "running")),
                col(IngestJob.lease_until).is_not(None),
                col(IngestJob.lease_until) < now,
            )
        ).all()
        if not expired:
            return 0
        audit.serialize_repairs(session)
        for job in expired:
            session.refresh(job)  # as it is now that this transaction is the only one repairing
            if job.status in ("queued", "running") and is_cut_off(job, now=now):
                settle(session, job)
                settled += 1
    if settled:
        logger.warning("ingest jobs with an expired lease settled", extra={"jobs": settled})
    return settled


def recover(engine: Engine) -> dict[str, int]:
    """Repair what a crash (or older code) left inconsistent; run on start. Returns what was repaired.

    - unfinished jobs of this host whose process is gone: done (with the version they stored and its
      audit entry) or failed;
    - jobs declared interrupted whose version was in fact stored: done;
    - stored versions without an audit entry: one, by `system`, marked `recovered`.
    """
    counts = {"jobs_done": 0, "jobs_failed": 0, "audit_entries": 0}
    with session_scope(engine) as session:
        audit.serialize_repairs(session)
        jobs = session.exec(
            select(IngestJob)
            .where(col(IngestJob.status).in_(("queued", "running", "failed")))
            .order_by(col(IngestJob.created_at))
        ).all()
        for job in jobs:
            unfinished = job.status in ("queued", "running")
            if (unfinished and is_cut_off(job)) or _was_interrupted(job):
                status = settle(session, job)
                if status == "done":
                    counts["jobs_done"] += 1
                elif unfinished:
                    counts["jobs_failed"] += 1
        session.flush()
        for document in audit.documents_without_stored_entry(session):
            audit.record_document_stored(session, document=document, actor_name=audit.SYSTEM_ACTOR, recovered=True)
            counts["audit_entries"] += 1
    if any(counts.values()):
        logger.warning("ingest records repaired on start", extra=counts)
    return counts


__all__ = [
    "INTERRUPTED",
    "WORKER_ID",
    "ended",
    "fail",
    "finish",
    "is_cut_off",
    "lease_until",
    "recover",
    "renew_leases",
    "settle",
    "settle_expired",
    "settle_if_cut_off",
    "started",
    "upload_result",
]
