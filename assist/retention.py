"""Retention: delete what a call left behind once the bank's retention period has passed.

Turns (redacted), suggestions and feedback belong to their call, and go with it. Only ended calls are
purged: a call still open is never touched, however old. Guard events are the compliance record and are
kept unless asked for separately (their text is redacted too). The audit log is never purged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from assist.audit import cli_actor_name, record
from assist.models.calls import Call, Feedback, Suggestion, Turn
from assist.models.common import utcnow
from assist.models.guard import GuardEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, on a dry run, would remove)."""

    cutoff: datetime
    calls: int
    turns: int
    suggestions: int
    feedback: int
    guard_events: int
    dry_run: bool


class RetentionPurge:
    """Delete ended calls (with their turns, suggestions and feedback) older than a number of days.

    Args:
        older_than_days: calls that ended more than this many days ago are purged; at least 1.
        guard_events: also delete guard events (the compliance record) older than the same cutoff.
    """

    def __init__(self, older_than_days: int, *, guard_events: bool = False) -> None:
        if older_than_days < 1:
            raise ValueError(f"older_than_days must be at least 1, got {older_than_days}")
        self.older_than_days = older_than_days
        self.guard_events = guard_events

    def run(self, session: Session, *, dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
        """Purge in one transaction, with an audit entry; on a dry run only count."""
        cutoff = (now or utcnow()) - timedelta(days=self.older_than_days)
        call_ids = select(Call.id).where(Call.status == "ended", col(Call.ended_at) < cutoff)
        suggestion_ids = select(Suggestion.id).where(col(Suggestion.call_id).in_(call_ids))
        counts = {
            "calls": _count(session, select(func.count()).select_from(Call).where(col(Call.id).in_(call_ids))),
            "turns": _count(session, select(func.count()).select_from(Turn).where(col(Turn.call_id).in_(call_ids))),
            "suggestions": _count(
                session, select(func.count()).select_from(Suggestion).where(col(Suggestion.call_id).in_(call_ids))
            ),
            "feedback": _count(
                session,
                select(func.count()).select_from(Feedback).where(col(Feedback.suggestion_id).in_(suggestion_ids)),
            ),
            "guard_events": 0,
        }
        if self.guard_events:
            counts["guard_events"] = _count(
                session, select(func.count()).select_from(GuardEvent).where(col(GuardEvent.created_at) < cutoff)
            )
        report = PurgeReport(cutoff=cutoff, dry_run=dry_run, **counts)
        if dry_run:
            return report
        # children first: the foreign keys point from feedback to suggestion to call
        session.execute(delete(Feedback).where(col(Feedback.suggestion_id).in_(suggestion_ids)))
        session.execute(delete(Suggestion).where(col(Suggestion.call_id).in_(call_ids)))
        session.execute(delete(Turn).where(col(Turn.call_id).in_(call_ids)))
        if self.guard_events:
            session.execute(delete(GuardEvent).where(col(GuardEvent.created_at) < cutoff))
        session.execute(delete(Call).where(col(Call.id).in_(call_ids)))
        record(
            session,
            actor=None,
            actor_name=cli_actor_name(),
            action="retention.purge",
            target_type="call",
            after={"cutoff": cutoff.isoformat(), "older_than_days": self.older_than_days, **counts},
        )
        session.commit()
        logger.info("retention purge", extra={"cutoff": cutoff.isoformat(), **counts})
        return report


def _count(session: Session, statement: object) -> int:
    return int(session.exec(statement).one())  # type: ignore[call-overload]
