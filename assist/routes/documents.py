"""Routes for the document lifecycle: upload (a new document or a new version), list, detail, retire, and
compliance review of flagged versions.

Small uploads are ingested in the request and answer 201. Large ones (over
`assist.knowledge.documents.BACKGROUND_BYTES`) are stored
as a job and ingested after the response; the upload answers 202 with the job, which the editor polls at
`GET /v1/documents/jobs/{job_id}`. Either way the index changes in one step, and a failed upload stores
nothing but the job's error. A document over an ingest limit (`ingest.limits`) is refused with 413.

The routes are thin: uploading, background jobs, retiring and reviewing are the document service's
(`assist.knowledge.documents.DocumentService`, which the CLI uses too), and so are the audit entries.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import PurePath
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from assist import audit
from assist.config import Settings
from assist.deps import CurrentKey, DocumentsDep, GuardDep, SessionDep, SettingsDep, require_roles
from assist.errors import InvalidInputError, NotFoundError, TooLargeError, UnsupportedTypeError
from assist.knowledge.documents import Upload, upload_result
from assist.models.audit import AuditEntryPublic
from assist.models.documents import Document, DocumentPublic, DocumentStatus, IngestJobPublic
from assist.models.keys import Role
from ingest.loaders.registry import REGISTRY, unsupported_reason
from ingest.records import Actor, IngestItem

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/documents", tags=["documents"])

EditorOnly = [Depends(require_roles(Role.editor))]
EditorOrCompliance = [Depends(require_roles(Role.editor, Role.compliance))]
ComplianceOnly = [Depends(require_roles(Role.compliance))]

_READ_BLOCK = 1 << 16


class UploadResult(BaseModel):
    """The outcome of an upload: the stored version, its status, chunk count and guard flags."""

    id: str
    family_id: str | None
    version: int | None
    status: str | None
    chunks: int
    flags: list[dict[str, Any]]
    outcome: str  # new | updated | unchanged
    title: str | None
    source: str


class DocumentVersion(BaseModel):
    """One version of a document family, as listed in the detail."""

    id: str
    version: int
    status: DocumentStatus
    chunk_count: int
    created_at: Any


class DocumentDetail(DocumentPublic):
    """A document version with its family's versions, metadata, next steps and review history."""

    meta: dict[str, Any]
    next_steps: list[dict[str, Any]]
    versions: list[DocumentVersion]
    history: list[AuditEntryPublic]


class DocumentReview(BaseModel):
    """Compliance's decision on a flagged version."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    note: str | None = Field(None, max_length=2000)


def _limit_bytes(settings: Settings) -> int:
    return int(settings.max_upload_mb * 1024 * 1024)


def _too_large(size: int | None, limit: int, mb: float) -> TooLargeError:
    got = f"{size} bytes" if size is not None else "the upload"
    return TooLargeError(f"file too large: {got} exceeds the limit of {mb:g} MB ({limit} bytes)")


def _read_upload(request: Request, file: UploadFile, settings: Settings) -> bytes:
    """The uploaded bytes, refusing more than the configured limit with a 413 that names it."""
    limit = _limit_bytes(settings)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:  # multipart overhead
        raise _too_large(None, limit, settings.max_upload_mb)
    if file.size is not None and file.size > limit:
        raise _too_large(file.size, limit, settings.max_upload_mb)
    parts: list[bytes] = []
    total = 0
    while block := file.file.read(_READ_BLOCK):
        total += len(block)
        if total > limit:
            raise _too_large(file.size, limit, settings.max_upload_mb)
        parts.append(block)
    return b"".join(parts)


def _check_type(filename: str) -> None:
    """Refuse a file type the loaders do not read (`ingest.loaders.registry`, the one list of them)."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in REGISTRY:
        raise UnsupportedTypeError(filename, unsupported_reason(suffix))


def _result(item: IngestItem) -> UploadResult:
    return UploadResult.model_validate(upload_result(item))


@router.post(
    "",
    response_model=UploadResult,
    status_code=201,
    dependencies=EditorOnly,
    responses={202: {"model": IngestJobPublic, "description": "large file: ingesting in the background"}},
)
def upload_document(
    request: Request,
    background: BackgroundTasks,
    settings: SettingsDep,
    documents: DocumentsDep,
    key: CurrentKey,
    _guard: GuardDep,  # fail closed: no upload is taken while the guard cannot scan it (503 with the reason)
    file: UploadFile = File(...),
    title: str | None = Form(None, max_length=500),
    product: str | None = Form(None, max_length=200),
    language: Literal["zh-Hans", "zh-Hant", "en", "mixed"] | None = Form(None),
    effective_from: date | None = Form(None),
    effective_to: date | None = Form(None),
    replaces: str | None = Form(None, max_length=100),
    tags: str | None = Form(None, max_length=1000, description="comma-separated"),
) -> Any:
    """Upload a document or a new version of one (`replaces`, or the same file name)."""
    if effective_from and effective_to and effective_to < effective_from:
        raise InvalidInputError(f"effective_to: {effective_to} is before effective_from {effective_from}")
    data = _read_upload(request, file, settings)
    filename = (file.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    documents.check_replaces(replaces)
    meta: dict[str, Any] = {
        "title": title,
        "product": product,
        "language": language,
        "effective_from": effective_from.isoformat() if effective_from else None,
        "effective_to": effective_to.isoformat() if effective_to else None,
        "tags": [t.strip() for t in tags.split(",") if t.strip()] if tags else None,
    }
    meta = {k: v for k, v in meta.items() if v not in (None, "", [])}
    upload = Upload(data=data, filename=filename, meta=meta, replaces=replaces)
    if documents.in_background(upload):
        _check_type(filename)  # refuse an unsupported type now, not after the editor starts polling
        job = documents.queue(upload, key=key)
        background.add_task(documents.run_job, job.id, upload, key_id=key.id)
        body = IngestJobPublic.model_validate(job, from_attributes=True).model_dump(mode="json")
        return JSONResponse(status_code=202, content=body, headers={"Location": f"/v1/documents/jobs/{job.id}"})
    return _result(documents.upload(upload, actor=Actor(key=key)))


@router.get("/jobs/{job_id}", response_model=IngestJobPublic, dependencies=EditorOrCompliance)
def get_job(job_id: str, documents: DocumentsDep) -> IngestJobPublic:
    """The status of a background upload: queued, running, done (with the result) or failed (with why)."""
    return IngestJobPublic.model_validate(documents.job(job_id), from_attributes=True)


@router.get("", response_model=list[DocumentPublic], dependencies=EditorOrCompliance)
def list_documents(
    session: SessionDep,
    status: DocumentStatus | None = Query(None),
    product: str | None = Query(None, max_length=200),
    language: str | None = Query(None, max_length=20),
    family_id: str | None = Query(None, max_length=100),
    latest: bool = Query(False, description="only the newest version of each document"),
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> list[DocumentPublic]:
    """Document versions, newest first, filtered by status, product and language."""
    stmt = select(Document)
    if status:
        stmt = stmt.where(Document.status == status)
    if product:
        stmt = stmt.where(Document.product == product)
    if language:
        stmt = stmt.where(Document.language == language)
    if family_id:
        stmt = stmt.where(Document.family_id == family_id)
    stmt = stmt.order_by(col(Document.created_at).desc(), col(Document.version).desc())
    rows = list(session.exec(stmt).all())
    if latest:
        newest: dict[str, Document] = {}
        for d in rows:
            if d.family_id not in newest or d.version > newest[d.family_id].version:
                newest[d.family_id] = d
        rows = [d for d in rows if newest[d.family_id] is d]
    return [DocumentPublic.model_validate(d, from_attributes=True) for d in rows[offset : offset + limit]]


def _detail(session: Session, doc: Document) -> DocumentDetail:
    family = session.exec(
        select(Document).where(Document.family_id == doc.family_id).order_by(col(Document.version).desc())
    ).all()
    history = audit.list_entries(session=session, target_type="document", target_id=doc.id, limit=100)
    return DocumentDetail(
        **DocumentPublic.model_validate(doc, from_attributes=True).model_dump(),
        meta=doc.meta or {},
        next_steps=doc.next_steps or [],
        versions=[
            DocumentVersion(
                id=d.id, version=d.version, status=d.status, chunk_count=d.chunk_count, created_at=d.created_at
            )
            for d in family
        ],
        history=[AuditEntryPublic.model_validate(e, from_attributes=True) for e in history],
    )


def _get(session: Session, document_id: str) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFoundError("document", document_id)
    return doc


@router.get("/{document_id}", response_model=DocumentDetail, dependencies=EditorOrCompliance)
def get_document(document_id: str, session: SessionDep) -> DocumentDetail:
    """A document version with the versions of its family, status, flags, chunk count and dates."""
    return _detail(session, _get(session, document_id))


@router.post("/{document_id}/retire", response_model=DocumentDetail, dependencies=EditorOnly)
def retire_document(document_id: str, session: SessionDep, documents: DocumentsDep, key: CurrentKey) -> DocumentDetail:
    """Stop serving a document version; its history stays."""
    documents.retire(document_id, actor=Actor(key=key))
    return _detail(session, _get(session, document_id))


@router.post("/{document_id}/review", response_model=DocumentDetail, dependencies=ComplianceOnly)
def review_document(
    document_id: str, body: DocumentReview, session: SessionDep, documents: DocumentsDep, key: CurrentKey
) -> DocumentDetail:
    """Approve a flagged version (it is served from now on) or send it back to the editor with a note."""
    documents.review(document_id, decision=body.decision, note=body.note, actor=Actor(key=key))
    return _detail(session, _get(session, document_id))
