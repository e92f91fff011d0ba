"""Feedback on suggestions."""

from __future__ import annotations

from fastapi import APIRouter

from assist.deps import AgentKey, CallEngineDep
from assist.models.calls import FeedbackCreate, FeedbackPublic

router = APIRouter(prefix="/v1/suggestions", tags=["calls"])


@router.post("/{suggestion_id}/feedback", response_model=FeedbackPublic, status_code=201)
def feedback(suggestion_id: str, body: FeedbackCreate, engine: CallEngineDep, _key: AgentKey) -> FeedbackPublic:
    """Record whether a suggestion was used, helpful or wrong."""
    return engine.feedback(suggestion_id, rating=body.rating, comment=body.comment)
