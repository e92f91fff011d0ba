"""A call's stored results, turn by turn, as the socket sent them: for a panel that resumes on another
replica (`WS /v1/calls/{id}/stream?after=N`) and for a fan-out notice too large to carry its messages."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assist.calls.messages import ChecklistMessage, ServerMessage
from assist.calls.store import alert_of, message_of
from assist.errors import NotFoundError
from assist.models.calls import Call, ComplianceAlert, NextStep, Suggestion, SuggestionMessage, Turn, TurnResult
from assist.models.guard import GuardEvent

logger = logging.getLogger(__name__)

#: guard events shown as a `compliance_alert` (a suggestion's own check shows in the suggestion)
ALERT_KINDS = ("utterance", "unchecked")


@dataclass
class Replay:
    """What a resuming socket is sent: the messages of turns after `after`, and the last turn stored."""

    messages: list[ServerMessage]
    last_turn: int


def stored_turn_result(db_engine: Engine, call_id: str, turn: int) -> TurnResult:
    """A stored turn's result, rebuilt from the database (a retried POST whose first run stored the turn and
    died before answering)."""
    messages = stored_messages(db_engine, call_id, after=turn - 1, through=turn).messages
    suggestion = next((m for m in messages if isinstance(m, SuggestionMessage)), None)
    checklist = next((m for m in messages if isinstance(m, ChecklistMessage)), None)
    return TurnResult(
        call_id=call_id,
        turn=turn,
        suggestion=suggestion,
        alerts=[m for m in messages if isinstance(m, ComplianceAlert)],
        next_steps=checklist.next_steps if checklist else (suggestion.next_steps if suggestion else []),
    )


def stored_messages(
    db_engine: Engine, call_id: str, *, after: int, through: int | None = None, checklist: bool = True
) -> Replay:
    """The alerts and suggestions of the call's stored turns `after` < turn <= `through` (default: all), in turn
    order (alerts first within a turn), then the current checklist when the last of them is not a suggestion.

    A checklist update of an earlier turn is not stored on its own: the current checklist stands for them.
    The alert shown when the guard was unavailable for a suggestion is not stored either.

    Raises:
        NotFoundError: unknown call.
    """
    with Session(db_engine) as session:
        row = session.get(Call, call_id)
        if row is None:
            raise NotFoundError("call", call_id)
        # the last turn stored, not the last number taken: a turn still running comes live, after the replay
        stored = int(session.exec(select(func.max(Turn.turn)).where(Turn.call_id == call_id)).one() or 0)
        last = stored if through is None else min(through, stored)
        events = session.exec(
            select(GuardEvent)
            .where(
                GuardEvent.call_id == call_id,
                col(GuardEvent.turn) > after,
                col(GuardEvent.turn) <= last,
                col(GuardEvent.kind).in_(ALERT_KINDS),
            )
            .order_by(col(GuardEvent.turn), col(GuardEvent.id))
        ).all()
        suggestions = session.exec(
            select(Suggestion)
            .where(Suggestion.call_id == call_id, col(Suggestion.turn) > after, col(Suggestion.turn) <= last)
            .order_by(col(Suggestion.turn))
        ).all()
        current = [NextStep(**s) for s in row.checklist]
    by_turn: dict[int, list[ServerMessage]] = {}
    for e in events:
        by_turn.setdefault(e.turn or 0, []).append(alert_of(e))
    for s in suggestions:
        by_turn.setdefault(s.turn, []).append(message_of(s, [NextStep(**n) for n in s.next_steps]))
    out = [m for t in sorted(by_turn) for m in by_turn[t]]
    ends_with_suggestion = bool(out) and out[-1].type == "suggestion" and getattr(out[-1], "turn", None) == last
    if checklist and last > after and current and not ends_with_suggestion:
        out.append(ChecklistMessage(call_id=call_id, turn=last, next_steps=current))
    return Replay(messages=out, last_turn=max(last, after))


def last_turn(db_engine: Engine, call_id: str) -> int:
    """The number of the call's last stored turn (0 before the first). A turn that has taken its number but
    is not stored yet (still running, on this replica or another) is not counted: it is still to come.
    """
    with Session(db_engine) as session:
        stored = session.exec(select(func.max(Turn.turn)).where(Turn.call_id == call_id)).one()
    return int(stored or 0)
