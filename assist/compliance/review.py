"""The compliance review queue: guard events listed with filters, reviewed, counted per rule and exported.

A reviewer marks an event `confirmed` or `false_positive`. A false positive can add the offending phrase as
an exception to the rule in the same step; that creates a new rule version (see assist.compliance.store), and
the caller swaps the running guard.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, func
from sqlmodel import Session, col, select

from assist import audit
from assist.compliance import store
from assist.errors import InvalidInputError, NotFoundError
from assist.models.calls import Feedback, Suggestion
from assist.models.common import utcnow
from assist.models.guard import EventStatus, GuardEvent, RuleRecord
from assist.models.keys import ApiKey

logger = logging.getLogger(__name__)

MAX_EXCEPTION_CHARS = 200
CSV_COLUMNS = [
    "id",
    "created_at",
    "kind",
    "call_id",
    "turn",
    "speaker",
    "agent_name",
    "action",
    "rule_ids",
    "categories",
    "rule_versions",
    "text",
    "status",
    "reviewer",
    "review_note",
    "reviewed_at",
]


def as_utc(value: datetime | date | None, *, end_of_day: bool = False) -> datetime | None:
    """A filter bound as an aware UTC datetime; a bare date means its start (as upper bound: its end)."""
    if value is None:
        return None
    try:
        if not isinstance(value, datetime):
            day = value + timedelta(days=1) if end_of_day else value
            return datetime.combine(day, time.min, tzinfo=UTC)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # the end of 9999-12-31, or an offset past year 1 or 9999: the ends of time
        return datetime.max.replace(tzinfo=UTC) if value.year > 1 else datetime.min.replace(tzinfo=UTC)


def parse_bound(value: str | None, *, field: str) -> datetime | date | None:
    """A date range bound from a query string: `YYYY-MM-DD` (a whole day) or an ISO datetime."""
    if value is None or not value.strip():
        return None
    text = value.strip().upper()  # RFC 3339 allows a lower-case 't' and 'z'
    try:
        bound: datetime | date = (
            date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    except ValueError as exc:
        raise InvalidInputError(f"{field}: {value!r} is not a date (YYYY-MM-DD) or an ISO datetime") from exc
    return bound


def _json_contains(column: Any, value: str) -> Any:
    """A portable pre-filter for 'this JSON list holds value' (exact check happens in Python)."""
    return cast(column, String).contains(value, autoescape=True)


def list_events(
    *,
    session: Session,
    status: EventStatus | str | None = None,
    rule_id: str | None = None,
    category: str | None = None,
    agent: str | None = None,
    kind: str | None = None,
    call_id: str | None = None,
    date_from: datetime | date | None = None,
    date_to: datetime | date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[GuardEvent]:
    """Guard events, newest first, filtered by status, rule, category, agent, kind, call and date range.

    `date_to` is exclusive for a datetime and inclusive for a date (the whole day).
    """
    stmt = select(GuardEvent)
    if status:
        stmt = stmt.where(GuardEvent.status == str(status))
    if agent:
        stmt = stmt.where(GuardEvent.agent_name == agent)
    if kind:
        stmt = stmt.where(GuardEvent.kind == kind)
    if call_id:
        stmt = stmt.where(GuardEvent.call_id == call_id)
    lo, hi = as_utc(date_from), as_utc(date_to, end_of_day=True)
    if lo:
        stmt = stmt.where(col(GuardEvent.created_at) >= lo)
    if hi:
        stmt = stmt.where(col(GuardEvent.created_at) < hi)
    if rule_id:
        stmt = stmt.where(_json_contains(GuardEvent.rule_ids, rule_id))
    if category:
        stmt = stmt.where(_json_contains(GuardEvent.categories, category))
    stmt = stmt.order_by(col(GuardEvent.id).desc())
    if not rule_id and not category:
        return list(session.exec(stmt.offset(offset).limit(limit)).all())
    rows = [
        e
        for e in session.exec(stmt).all()
        if (not rule_id or rule_id in e.rule_ids) and (not category or category in e.categories)
    ]
    return rows[offset : offset + limit]


def get_event(*, session: Session, event_id: int) -> GuardEvent:
    """One guard event, or NotFoundError."""
    event = session.get(GuardEvent, event_id)
    if event is None:
        raise NotFoundError("guard event", event_id)
    return event


@dataclass
class ReviewOutcome:
    """What a review changed: the event, and the new rule version when an exception was added."""

    event: GuardEvent
    rule: RuleRecord | None = None


def _exception_target(
    event: GuardEvent, decision: str, add_exception: str | None, rule_id: str | None
) -> tuple[str | None, str | None]:
    """The exception phrase a review adds and the rule it goes to (both None when it adds none).

    Raises:
        InvalidInputError: an empty or over-long phrase, an exception on a confirmed event, or a rule that is
            not the event's (or none named when the event matched several).
    """
    phrase = add_exception.strip() if add_exception else None
    if add_exception is not None and not phrase:
        raise InvalidInputError("add_exception: the phrase is empty")
    if not phrase:
        return None, None
    if decision != EventStatus.false_positive:
        raise InvalidInputError("add_exception: only a false_positive review can add an exception")
    if len(phrase) > MAX_EXCEPTION_CHARS:
        raise InvalidInputError(f"add_exception: the phrase is over {MAX_EXCEPTION_CHARS} characters")
    if rule_id is not None:
        if rule_id not in event.rule_ids:
            raise InvalidInputError(f"rule_id: {rule_id!r} is not one of this event's rules {event.rule_ids}")
        return phrase, rule_id
    if len(event.rule_ids) == 1:
        return phrase, event.rule_ids[0]
    raise InvalidInputError(f"rule_id: the event matched {event.rule_ids}; say which rule gets the exception")


def review_event(
    *,
    session: Session,
    event_id: int,
    decision: EventStatus | str,
    note: str | None,
    reviewer: ApiKey | None,
    add_exception: str | None = None,
    rule_id: str | None = None,
) -> ReviewOutcome:
    """Mark an event confirmed or false_positive, optionally adding `add_exception` to its rule.

    The exception goes to `rule_id`, which must be one of the event's rules; it may be omitted when the
    event has exactly one rule. Does not commit; the caller commits and then swaps the guard if
    `outcome.rule` is set.
    """
    decision = str(decision)
    if decision not in (EventStatus.confirmed, EventStatus.false_positive):
        raise InvalidInputError(f"decision must be 'confirmed' or 'false_positive', got {decision!r}")
    event = get_event(session=session, event_id=event_id)
    phrase, target_rule = _exception_target(event, decision, add_exception, rule_id)
    before = {"status": event.status, "reviewer": event.reviewer}
    event.status = decision
    event.review_note = note
    event.reviewer = reviewer.name if reviewer is not None else None
    event.reviewed_at = utcnow()
    session.add(event)
    outcome = ReviewOutcome(event=event)
    if phrase and target_rule:
        outcome.rule = store.add_exception(
            session=session,
            rule_id=target_rule,
            phrase=phrase,
            actor=reviewer,
            note=f"false positive in guard event {event.id}",
        )
    audit.record(
        session,
        actor=reviewer,
        action="guard_event.review",
        target_type="guard_event",
        target_id=event.id,
        before=before,
        after={
            "status": decision,
            "note": note,
            "exception": phrase,
            "rule_id": outcome.rule.rule_id if outcome.rule else None,
            "rule_version": outcome.rule.version if outcome.rule else None,
        },
    )
    session.flush()
    return outcome


@dataclass
class RuleStat:
    """Review counts of one rule and its false-positive rate (false positives / reviewed)."""

    rule_id: str
    events: int = 0
    pending: int = 0
    confirmed: int = 0
    false_positive: int = 0
    blocks: int = 0
    warns: int = 0

    @property
    def reviewed(self) -> int:
        return self.confirmed + self.false_positive

    @property
    def false_positive_rate(self) -> float | None:
        return round(self.false_positive / self.reviewed, 4) if self.reviewed else None


@dataclass
class GuardStats:
    """The numbers behind the review dashboard."""

    rules: list[RuleStat]
    alerts_per_day: list[dict[str, Any]]
    events: int
    suggestions: int
    feedback: dict[str, int] = field(default_factory=dict)
    acceptance_rate: float | None = None


def stats(
    *, session: Session, date_from: datetime | date | None = None, date_to: datetime | date | None = None
) -> GuardStats:
    """Per-rule false-positive rates, alerts per day, and suggestion acceptance from agents' feedback.

    Rules are sorted by false-positive rate (highest first), so a noisy rule shows at the top.
    Acceptance is the share of rated suggestions rated `used` or `helpful`.
    """
    events = list_events(session=session, date_from=date_from, date_to=date_to, limit=10**9)
    per_rule: dict[str, RuleStat] = {}
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        for rid in e.rule_ids or ["(none)"]:
            s = per_rule.setdefault(rid, RuleStat(rule_id=rid))
            s.events += 1
            if e.status == EventStatus.confirmed:
                s.confirmed += 1
            elif e.status == EventStatus.false_positive:
                s.false_positive += 1
            else:
                s.pending += 1
            if e.action == "block":
                s.blocks += 1
            else:
                s.warns += 1
        day = as_utc(e.created_at).date().isoformat()  # type: ignore[union-attr]
        per_day[day][e.action] += 1
        per_day[day]["total"] += 1
    rules = sorted(per_rule.values(), key=lambda s: (-(s.false_positive_rate or 0.0), -s.events, s.rule_id))
    days = [{"day": d, **dict(c)} for d, c in sorted(per_day.items())]

    lo, hi = as_utc(date_from), as_utc(date_to, end_of_day=True)
    fb = select(Feedback.rating)
    sg = select(func.count(col(Suggestion.id)))
    if lo:
        fb = fb.where(col(Feedback.created_at) >= lo)
        sg = sg.where(col(Suggestion.created_at) >= lo)
    if hi:
        fb = fb.where(col(Feedback.created_at) < hi)
        sg = sg.where(col(Suggestion.created_at) < hi)
    ratings = Counter(session.exec(fb).all())
    rated = sum(ratings.values())
    accepted = ratings.get("used", 0) + ratings.get("helpful", 0)
    return GuardStats(
        rules=rules,
        alerts_per_day=days,
        events=len(events),
        suggestions=int(session.exec(sg).one()),
        feedback=dict(ratings),
        acceptance_rate=round(accepted / rated, 4) if rated else None,
    )


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, list):
        text = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = ";".join(f"{k}={v}" for k, v in value.items())
    elif isinstance(value, datetime):
        text = as_utc(value).isoformat()  # type: ignore[union-attr]
    else:
        text = str(value)
    if text and text[0] in "=+-@\t\r":
        text = "'" + text
    return text


def export_csv(
    *, session: Session, date_from: datetime | date | None = None, date_to: datetime | date | None = None
) -> str:
    """The events of a date range as CSV (UTF-8 with BOM, so spreadsheets show Chinese correctly)."""
    events = list_events(session=session, date_from=date_from, date_to=date_to, limit=10**9)
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for e in sorted(events, key=lambda e: e.id or 0):
        writer.writerow([_cell(getattr(e, c)) for c in CSV_COLUMNS])
    return buf.getvalue()
