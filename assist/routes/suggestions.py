"""Feedback on suggestions."""

from __future__ import annotations

from fastapi import APIRouter

from assist.deps import AgentKey, CallEngineDep, require_call_access
from assist.errors import NotFoundError
from assist.models.calls import FeedbackCreate, FeedbackPublic
from assist.models.keys import CallAccess

router = APIRouter(prefix="/v1/suggestions", tags=["calls"])


@router.post("/{suggestion_id}/feedback", response_model=FeedbackPublic, status_code=201)
def feedback(suggestion_id: str, body: FeedbackCreate, engine: CallEngineDep, key: AgentKey) -> FeedbackPublic:
    """Record whether a suggestion was used, helpful or wrong (on a call this key may act on)."""
    call_id = engine.store.call_of_suggestion(suggestion_id)
    try:
        require_call_access(engine, call_id, key, CallAccess.act, "rate its suggestions")
    except NotFoundError as exc:  # the call is not this key's to know of: nor is its suggestion
        raise NotFoundError("suggestion", suggestion_id) from exc
    return engine.store.feedback(suggestion_id, rating=body.rating, comment=body.comment)
