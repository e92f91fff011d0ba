"""SQLModel families, one module per entity. Importing this package registers every table."""

from assist.models.aftercall import CallContact, Scorecard, ScoreOverride, Ticket, TicketDelivery
from assist.models.audit import AuditEntry
from assist.models.calls import Call, Feedback, Suggestion, Turn
from assist.models.documents import Chunk, ChunkVector, Document, DocumentPublic, DocumentStatus
from assist.models.guard import GuardEvent, RuleRecord
from assist.models.idempotency import IdempotencyRecord
from assist.models.keys import ApiKey, KeyGrant, Role

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Call",
    "CallContact",
    "Chunk",
    "ChunkVector",
    "Document",
    "DocumentPublic",
    "DocumentStatus",
    "Feedback",
    "GuardEvent",
    "IdempotencyRecord",
    "KeyGrant",
    "Role",
    "RuleRecord",
    "ScoreOverride",
    "Scorecard",
    "Suggestion",
    "Ticket",
    "TicketDelivery",
    "Turn",
]
