"""Draft testing (POST /v1/rules/test): what a draft rule would newly block and stop blocking, before it is saved.

The draft and the rules in force are both run over the guard's labelled statements
(``kb_docs/guard/cases.jsonl``, read and scored by :mod:`assist.compliance.guard.evaluate`, as
``assist eval guard`` does) and over the most recent guard events. Nothing is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from assist.compliance.guard.evaluate import case_speaker, read_cases, score_outcomes
from assist.compliance.store import check_rule_id, compile_guard, current_disclosures, current_rules
from assist.config import shipped_path
from assist.errors import InvalidInputError
from assist.models.guard import GuardEvent
from assist.observability.metrics import verdicts_not_counted

if TYPE_CHECKING:
    from assist.compliance.guard.engine import Guard, Verdict

logger = logging.getLogger(__name__)

# The labelled statements a draft rule is tried on: the checkout's, or the copy a wheel carries (with kb_docs/).
DEFAULT_CASES_PATH = shipped_path("kb_docs/guard/cases.jsonl")


@dataclass
class DraftChange:
    """One statement whose verdict the draft would change."""

    source: str  # case | event
    text: str
    speaker: str
    before: str
    after: str
    rules_before: list[str]
    rules_after: list[str]
    expect: str | None = None  # for labelled cases
    event_id: int | None = None


@dataclass
class DraftReport:
    """What a draft would newly block and stop blocking, and the labelled scores before and after."""

    newly_blocked: list[DraftChange]
    stops_blocking: list[DraftChange]
    cases: int
    events: int
    before: dict[str, float | None]
    after: dict[str, float | None]


@dataclass(frozen=True)
class _Statement:
    """A text both guards check: a labelled case (with `expect`) or a recent guard event (with `event_id`)."""

    source: str
    text: str
    speaker: str
    case: dict[str, Any] | None = None
    event_id: int | None = None


def _rule_ids(verdict: Verdict) -> list[str]:
    """The rules that fired, each once, in text order."""
    return list(dict.fromkeys(m.rule_id for m in verdict.matches))


def _labelled_scores(outcomes: list[tuple[dict[str, Any], str]]) -> dict[str, float | None]:
    """Recall and false-positive rate of decided cases; a warn counts as not blocked."""
    figures = score_outcomes(outcomes)
    return {"recall": figures["recall"], "false_positive_rate": figures["false_positive_rate"]}


def _statements(session: Session, cases_path: Path, events_limit: int) -> tuple[list[_Statement], int]:
    """The labelled cases of `cases_path` (none when the file is missing), then the newest guard events."""
    if cases_path.is_file():
        cases = read_cases(cases_path)
    else:
        logger.warning("no labelled cases to try drafts on", extra={"path": str(cases_path)})
        cases = []
    out = [_Statement("case", c["text"], case_speaker(c), case=c) for c in cases]
    events = session.exec(select(GuardEvent).order_by(col(GuardEvent.id).desc()).limit(events_limit)).all()
    out += [_Statement("event", e.text, e.speaker or "agent", event_id=e.id) for e in events]
    return out, len(events)


def _guards(session: Session, rule: dict[str, Any] | None, delete_rule_id: str | None) -> tuple[Guard, Guard]:
    """The guard over the rules in force, and the one over the draft (`rule` added or replaced, or one deleted)."""
    disclosures = current_disclosures(session=session) or None
    in_force = current_rules(session=session)
    drop = {delete_rule_id, (rule or {}).get("id")}
    draft_rules = [r for r in in_force if r.get("id") not in drop] + ([rule] if rule is not None else [])
    return compile_guard(in_force, disclosures), compile_guard(draft_rules, disclosures)


def try_draft(
    *,
    session: Session,
    rule: dict[str, Any] | None = None,
    delete_rule_id: str | None = None,
    cases_path: Path = DEFAULT_CASES_PATH,
    events_limit: int = 500,
) -> DraftReport:
    """Compare the rules in force with a draft (a new or changed `rule`, or `delete_rule_id` removed).

    Runs both over the labelled statements and the most recent guard events; nothing is stored.
    """
    if rule is None and delete_rule_id is None:
        raise InvalidInputError("rule: give a draft rule, or delete_rule_id")
    if rule is not None:
        check_rule_id(rule.get("id"), where="rule")
    now_guard, draft_guard = _guards(session, rule, delete_rule_id)
    statements, events = _statements(session, cases_path, events_limit)

    newly: list[DraftChange] = []
    stops: list[DraftChange] = []
    labelled_before: list[tuple[dict[str, Any], str]] = []
    labelled_after: list[tuple[dict[str, Any], str]] = []
    for s in statements:
        with verdicts_not_counted():  # a rehearsal, not verdicts on anyone's words
            v0, v1 = now_guard.check(s.text, s.speaker), draft_guard.check(s.text, s.speaker)
        if s.case is not None:
            labelled_before.append((s.case, v0.action))
            labelled_after.append((s.case, v1.action))
        if v0.blocked == v1.blocked:
            continue
        change = DraftChange(
            source=s.source,
            text=s.text,
            speaker=s.speaker,
            before=v0.action,
            after=v1.action,
            rules_before=_rule_ids(v0),
            rules_after=_rule_ids(v1),
            expect=s.case["expect"] if s.case is not None else None,
            event_id=s.event_id,
        )
        (newly if v1.blocked else stops).append(change)
    return DraftReport(
        newly_blocked=newly,
        stops_blocking=stops,
        cases=len(labelled_before),
        events=events,
        before=_labelled_scores(labelled_before),
        after=_labelled_scores(labelled_after),
    )
