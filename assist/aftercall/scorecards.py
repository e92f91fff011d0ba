"""Stored scorecards: computed when first asked for after the call ended (the lead may also trigger
`ensure_scorecard` at call end), reviewers' overrides (audited), the QA summary and auto/human agreement."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from assist.aftercall.choice import TemplateChooser
from assist.aftercall.fcr import fcr_summary, group_keys, link_repeat_contacts, week_of
from assist.aftercall.qa import CallFacts, Rubric, apply_overrides, score_call, score_of
from assist.aftercall.qa_meaning import TurnJudge
from assist.aftercall.templates import TemplateSet
from assist.aftercall.tickets import call_language, call_turns, cited_tags
from assist.audit import record
from assist.errors import InvalidInputError, NotEndedError, NotFoundError
from assist.models.aftercall import Scorecard, ScorecardPublic, ScoreOverride, ScoreOverrideCreate, Ticket, Verdict
from assist.models.guard import GuardEvent
from assist.models.keys import ApiKey

logger = logging.getLogger(__name__)

NO_TEMPLATES = TemplateSet({})  # no chooser given: the rubric's ticket topics alone say a ticket is needed


def verify_phrases(playbooks: Any) -> list[str]:
    """The phrases of the playbook step `verify_identity` (the identity criterion reads them too)."""
    step = getattr(playbooks, "steps", {}).get("verify_identity")
    return [p for p, _ in getattr(step, "done_when", [])]


def live_steps(state: dict[str, Any] | None) -> dict[str, int] | None:
    """The steps the live engine ticked and the turn of each (its checklist in Call.state), or None when the
    state holds no checklist (a call stored without the engine)."""
    steps = (state or {}).get("steps")
    if not isinstance(steps, dict):
        return None
    return {
        str(sid): int(entry["done_at_turn"])
        for sid, entry in steps.items()
        if isinstance(entry, dict) and entry.get("done") and isinstance(entry.get("done_at_turn"), int)
    }


def facts_of(
    session: Session,
    *,
    call_id: str,
    playbooks: Any,
    chooser: TemplateChooser | None = None,
    judge: TurnJudge | None = None,
) -> tuple[Any, CallFacts]:
    """The call and what its scorecard is computed from (`chooser`: the template the call needs, by meaning
    and the rules; `judge`: agent turns read by meaning; either None: the rules alone)."""
    call, turns = call_turns(session, call_id)
    choice = (chooser or TemplateChooser(NO_TEMPLATES)).choose(
        topics=set(call.topics),
        steps={str(s.get("id")) for s in call.checklist},
        tags=cited_tags(session, call_id),
        customer=[(t.turn, t.text) for t in turns if t.speaker == "customer"],
        agent=[(t.turn, t.text) for t in turns if t.speaker == "agent"],
    )
    events = session.exec(select(GuardEvent).where(GuardEvent.call_id == call_id)).all()
    alerts = [
        {"turn": e.turn or 0, "speaker": e.speaker, "action": e.action, "categories": list(e.categories or [])}
        for e in events
        if e.kind == "utterance"
    ]
    has_ticket = session.exec(select(Ticket.id).where(Ticket.call_id == call_id).limit(1)).first() is not None
    facts = CallFacts(
        turns=turns,
        topics=set(call.topics),
        alerts=alerts,
        ticket_submitted=has_ticket,
        language=call_language(turns),
        verify_phrases=verify_phrases(playbooks),
        topics_in=getattr(playbooks, "topics_in", lambda _t: []),
        template=choice.template.id if choice.template is not None else None,
        judge=judge,
        live_steps=live_steps(call.state) if judge is not None else None,
    )
    return call, facts


def ensure_scorecard(
    session: Session,
    *,
    call_id: str,
    rubric: Rubric,
    playbooks: Any,
    fcr_window_days: int = 7,
    chooser: TemplateChooser | None = None,
    judge: TurnJudge | None = None,
) -> Scorecard:
    """The call's stored scorecard, computed and stored the first time (the call must have ended).

    Raises:
        NotFoundError: unknown call.
        NotEndedError: the call is still going on (409).
    """
    row = session.get(Scorecard, call_id)
    if row is not None:
        return row
    call, facts = facts_of(session, call_id=call_id, playbooks=playbooks, chooser=chooser, judge=judge)
    if call.status != "ended":
        raise NotEndedError(f"call {call_id!r} has not ended: it is scored after it ends")
    score, verdicts = score_call(rubric, facts)
    row = Scorecard(
        call_id=call_id,
        rubric=rubric.id,
        rubric_version=rubric.version,
        score=score,
        criteria=[v.model_dump() for v in verdicts],
        agent_key_id=call.agent_key_id,
        agent_name=call.agent_name,
        team=call.team,
        topics=list(call.topics),
        call_started_at=call.created_at,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # another request scored it at the same moment: theirs stands
        session.rollback()
        stored = session.get(Scorecard, call_id)
        if stored is None:
            raise
        return stored
    link_repeat_contacts(session, call_id=call_id, window_days=fcr_window_days)
    logger.info("call scored", extra={"call_id": call_id, "score": score})
    return row


def rescore(
    session: Session,
    *,
    call_id: str,
    rubric: Rubric,
    playbooks: Any,
    chooser: TemplateChooser | None = None,
    judge: TurnJudge | None = None,
) -> Scorecard | None:
    """Compute a stored scorecard again (a ticket was submitted after the call ended, when it was scored
    already); reviewers' overrides are kept apart and still apply. None when the call has no scorecard yet.
    """
    row = session.get(Scorecard, call_id)
    if row is None:
        return None
    _call, facts = facts_of(session, call_id=call_id, playbooks=playbooks, chooser=chooser, judge=judge)
    row.score, verdicts = score_call(rubric, facts)
    row.criteria = [v.model_dump() for v in verdicts]
    row.rubric, row.rubric_version = rubric.id, rubric.version
    session.add(row)
    session.commit()
    logger.info("call scored again", extra={"call_id": call_id, "score": row.score})
    return row


def _overrides(session: Session, call_id: str) -> dict[str, tuple[bool | None, str]]:
    rows = session.exec(select(ScoreOverride).where(ScoreOverride.call_id == call_id).order_by(col(ScoreOverride.id)))
    return {o.criterion: (o.passed, o.note) for o in rows}  # the latest per criterion wins


def public(session: Session, card: Scorecard) -> ScorecardPublic:
    """The scorecard with overrides applied (`auto_score` keeps the automatic one)."""
    auto = [Verdict.model_validate(v) for v in card.criteria]
    verdicts = apply_overrides(auto, _overrides(session, card.call_id))
    return ScorecardPublic(
        call_id=card.call_id,
        score=score_of(verdicts),
        auto_score=card.score,
        rubric=card.rubric,
        rubric_version=card.rubric_version,
        agent_name=card.agent_name,
        team=card.team,
        topics=list(card.topics),
        criteria=verdicts,
        created_at=card.created_at,
    )


def add_override(session: Session, *, card: Scorecard, body: ScoreOverrideCreate, key: ApiKey) -> ScoreOverride:
    """A reviewer's verdict on one criterion, audited as `scorecard.override`."""
    auto = next((v for v in card.criteria if v.get("id") == body.criterion), None)
    if auto is None:
        known = ", ".join(str(v.get("id")) for v in card.criteria)
        raise InvalidInputError(f"scorecard has no criterion {body.criterion!r}; it has {known}")
    row = ScoreOverride(
        call_id=card.call_id,
        criterion=body.criterion,
        passed=body.passed,
        auto_passed=auto.get("passed"),
        note=body.note,
        reviewer=key.name,
        reviewer_key_id=key.id,
    )
    session.add(row)
    record(
        session,
        actor=key,
        action="scorecard.override",
        target_type="scorecard",
        target_id=card.call_id,
        before={"criterion": body.criterion, "passed": auto.get("passed")},
        after={"criterion": body.criterion, "passed": body.passed, "note": body.note},
    )
    session.commit()
    session.refresh(row)
    return row


def agreement(session: Session) -> dict[str, Any]:
    """How often reviewers agreed with the automatic verdict (the latest override per call and criterion)."""
    latest: dict[tuple[str, str], ScoreOverride] = {}
    for o in session.exec(select(ScoreOverride).order_by(col(ScoreOverride.id))):
        latest[(o.call_id, o.criterion)] = o
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_call, crit), o in latest.items():
        per[crit][0] += 1
        per[crit][1] += int(o.passed == o.auto_passed)
    n, agreed = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    return {
        "reviewed": n,
        "agreed": agreed,
        "rate": round(agreed / n, 4) if n else None,
        "criteria": {c: {"reviewed": v[0], "agreed": v[1], "rate": round(v[1] / v[0], 4)} for c, v in per.items()},
    }


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def summary(session: Session, *, group: str, date_from: datetime | None, date_to: datetime | None) -> dict[str, Any]:
    """Average score per group (agent, team or topic) and ISO week, first-contact resolution, agreement."""
    stmt = select(Scorecard)
    if date_from:
        stmt = stmt.where(col(Scorecard.call_started_at) >= date_from)
    if date_to:
        stmt = stmt.where(col(Scorecard.call_started_at) < date_to)
    buckets: dict[tuple[str, str], list[float]] = defaultdict(list)
    for card in session.exec(stmt):
        score = public(session, card).score
        when = week_of(_aware(card.call_started_at or card.created_at))
        for k in group_keys(group, agent=card.agent_name, team=card.team, topics=card.topics):
            buckets[(k, when)].append(score)
    rows = [
        {"group": g, "week": w, "calls": len(s), "average_score": round(sum(s) / len(s), 1), "lowest": min(s)}
        for (g, w), s in sorted(buckets.items())
    ]
    return {
        "group": group,
        "scores": rows,
        "fcr": fcr_summary(session, group=group, date_from=date_from, date_to=date_to),
        "agreement": agreement(session),
    }


def get_card(session: Session, call_id: str) -> Scorecard:
    """A stored scorecard (NotFoundError when the call was never scored)."""
    card = session.get(Scorecard, call_id)
    if card is None:
        raise NotFoundError("scorecard", call_id)
    return card
