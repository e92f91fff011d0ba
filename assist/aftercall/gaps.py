"""Knowledge gaps for editors: customer questions with no approved answer (suggestion source "none"),
suggestions an agent rated wrong, and answers that cited a retired, superseded or soon-expiring document;
near-duplicates grouped by the product's own embeddings (any `assist.protocols.Embedder`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from assist.models.calls import Feedback, Suggestion
from assist.models.documents import Document, DocumentStatus
from assist.protocols import Embedder, Knowledge

logger = logging.getLogger(__name__)

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class GapItem:
    """One question that points at a gap."""

    kind: str  # no_answer | wrong | retired | expiring
    text: str
    call_id: str
    turn: int
    document_id: str | None = None


def collect(
    session: Session, *, since: datetime | None = None, expiring_days: int = 30, limit: int = 2000
) -> list[GapItem]:
    """The questions behind gaps, newest first (at most `limit` suggestions are read)."""
    stmt = select(Suggestion).order_by(col(Suggestion.created_at).desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(col(Suggestion.created_at) >= since)
    suggestions = list(session.exec(stmt).all())
    wrong = set(
        session.exec(
            select(Feedback.suggestion_id).where(
                Feedback.rating == "wrong", col(Feedback.suggestion_id).in_([s.id for s in suggestions])
            )
        ).all()
    )
    cited = {str(c.get("document_id")) for s in suggestions for c in s.citations or [] if c.get("document_id")}
    stale = _stale_documents(session, cited, expiring_days)
    items: list[GapItem] = []
    for s in suggestions:
        if not s.query.strip():
            continue
        if s.source == "none":
            items.append(GapItem("no_answer", s.query, s.call_id, s.turn))
        elif s.id in wrong:
            items.append(GapItem("wrong", s.query, s.call_id, s.turn))
        else:
            doc = next((str(c["document_id"]) for c in s.citations or [] if str(c.get("document_id")) in stale), None)
            if doc is not None:
                items.append(GapItem(stale[doc], s.query, s.call_id, s.turn, doc))
    return items


def _stale_documents(session: Session, ids: set[str], expiring_days: int) -> dict[str, str]:
    if not ids:
        return {}
    soon = datetime.now(UTC).date() + timedelta(days=expiring_days)
    out: dict[str, str] = {}
    for d in session.exec(select(Document).where(col(Document.id).in_(ids))).all():
        if d.status in (DocumentStatus.retired, DocumentStatus.superseded):
            out[d.id] = "retired"
        elif d.effective_to is not None and _as_date(d.effective_to) <= soon:
            out[d.id] = "expiring"
    return out


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def group(items: list[GapItem], embedder: Embedder, *, threshold: float = 0.8) -> list[list[GapItem]]:
    """Near-duplicate groups, largest first: each item joins the first group whose first question it is at
    least `threshold` cosine-similar to (vectors are L2-normalised), else starts a group."""
    if not items:
        return []
    vectors = np.asarray(embedder.embed_documents([i.text for i in items]), dtype=np.float32)
    leaders: list[np.ndarray] = []
    groups: list[list[GapItem]] = []
    for item, vec in zip(items, vectors, strict=True):
        if leaders:
            sims = np.stack(leaders) @ vec
            best = int(np.argmax(sims))
            if float(sims[best]) >= threshold:
                groups[best].append(item)
                continue
        leaders.append(vec)
        groups.append([item])
    return sorted(groups, key=len, reverse=True)


def gap_report(groups: list[list[GapItem]], *, topics_in: Any = None) -> dict[str, Any]:
    """`{"groups": [{"size", "examples", "topic", "kinds", "documents"}], "total"}` for the editor page."""
    out = []
    for g in groups:
        topics = topics_in(g[0].text) if topics_in else []
        kinds: dict[str, int] = {}
        for i in g:
            kinds[i.kind] = kinds.get(i.kind, 0) + 1
        out.append(
            {
                "size": len(g),
                "examples": [
                    {"text": i.text, "kind": i.kind, "call_id": i.call_id, "turn": i.turn} for i in g[:MAX_EXAMPLES]
                ],
                "topic": topics[0] if topics else None,
                "kinds": kinds,
                "documents": sorted({i.document_id for i in g if i.document_id}),
            }
        )
    return {"groups": out, "total": sum(len(g) for g in groups), "upload": "/v1/documents"}


def pick_embedder(knowledge: Knowledge) -> Embedder:
    """The knowledge base's multilingual embedder (e5) if it has one, else its first; the hash embedder when
    it has none."""
    embedders = list(knowledge.embedders)
    for e in embedders:
        if e.name == "e5":
            return e
    if embedders:
        return embedders[0]
    from ingest.embedders import HashEmbedder

    return HashEmbedder()
