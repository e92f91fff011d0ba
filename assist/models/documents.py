"""Documents (one row per version), their chunks and the chunks' stored vectors."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from assist.models.common import new_id, utcnow


class DocumentStatus(StrEnum):
    """Lifecycle of one document version. Only `published` versions are served."""

    published = "published"
    needs_review = "needs_review"
    retired = "retired"
    superseded = "superseded"  # an older version of a document that has a newer one


class DocumentBase(SQLModel):
    """Fields shared by every shape of a document."""

    title: str
    source: str = Field(index=True)
    language: str = "en"
    product: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None


class Document(DocumentBase, table=True):
    """One version of a document, as stored."""

    id: str = Field(default_factory=new_id, primary_key=True)
    family_id: str = Field(index=True)  # the id of version 1; shared by all versions
    version: int = 1
    status: DocumentStatus = DocumentStatus.published
    content_hash: str = Field(index=True)
    file_type: str = "md"
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    flags: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    next_steps: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    review_note: str | None = None
    chunk_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class DocumentPublic(DocumentBase):
    """A document version as the API returns it."""

    id: str
    family_id: str
    version: int
    status: DocumentStatus
    content_hash: str
    file_type: str
    tags: list[str]
    flags: list[dict[str, Any]]
    chunk_count: int
    review_note: str | None
    created_at: datetime


class Chunk(SQLModel, table=True):
    """A passage of a document version; its integer id is the id in every index."""

    id: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(foreign_key="document.id", index=True)
    position: int
    section: str = ""
    page: int | None = None
    text: str
    language: str = "en"


class ChunkVector(SQLModel, table=True):
    """A chunk's embedding under one embedder, so an index can be rebuilt without re-embedding."""

    __table_args__ = (UniqueConstraint("chunk_id", "embedder"),)

    id: int | None = Field(default=None, primary_key=True)
    chunk_id: int = Field(foreign_key="chunk.id", index=True)
    embedder: str = Field(index=True)
    vector: bytes = Field(sa_column=Column(LargeBinary))


class IngestJob(SQLModel, table=True):
    """An upload that runs in the background; the editor polls it by id."""

    id: str = Field(default_factory=new_id, primary_key=True)
    status: str = "queued"  # queued | running | done | failed
    filename: str
    size_bytes: int = 0
    replaces: str | None = None
    created_by: str | None = None
    worker: str | None = None  # "<host>:<pid>:<nonce>" of the process running it (the lease's owner)
    # The owner renews this while the job runs; once it has passed, any server settles the job.
    lease_until: datetime | None = None
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = None
    error_status: int | None = None  # the HTTP status the same failure gets on a direct upload
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class IngestJobPublic(SQLModel):
    """A background upload as the API returns it."""

    id: str
    status: str
    filename: str
    size_bytes: int
    replaces: str | None
    result: dict[str, Any] | None
    error: str | None
    error_status: int | None
    worker: str | None
    created_at: datetime
    finished_at: datetime | None
