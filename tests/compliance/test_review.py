"""The review-queue service: filters, decisions, per-rule false-positive rates and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from assist.compliance import review
from assist.config import get_settings
from assist.db import make_engine
from assist.errors import InvalidInputError, NotFoundError
from assist.models.audit import AuditEntry
from assist.models.calls import Call, Feedback, Suggestion
from assist.models.common import utcnow
from assist.models.guard import GuardEvent
from assist.models.keys import ApiKey, Role


@pytest.fixture
def session():
    engine = make_engine(get_settings())
    with Session(engine, expire_on_commit=False) as s:
        yield s


REVIEWER = ApiKey(name="cathy", role=Role.compliance, key_hash="h", prefix="p")


def _event(session, **kw) -> GuardEvent:
    base = {
        "action": "block",
        "text": "这个产品保本",
        "rule_ids": ["guaranteed_return"],
        "categories": ["guarantee"],
        "agent_name": "amy",
        "speaker": "agent",
    }
    base.update(kw)
    e = GuardEvent(**base)
    session.add(e)
    session.commit()
    return e


def test_list_filters_by_status_rule_category_agent_and_date(session):
    old = _event(session, created_at=utcnow() - timedelta(days=3))
    e1 = _event(session)
    e2 = _event(session, rule_ids=["no_risk"], categories=["no_risk"], agent_name="bob", action="warn")
    e3 = _event(session, rule_ids=["guaranteed_return_extra"], categories=["guarantee"], status="confirmed")
    ids = lambda rows: [r.id for r in rows]  # noqa: E731
    assert ids(review.list_events(session=session, status="pending")) == [e2.id, e1.id, old.id]
    # a rule id that is a prefix of another must not match it
    assert ids(review.list_events(session=session, rule_id="guaranteed_return")) == [e1.id, old.id]
    assert ids(review.list_events(session=session, category="guarantee")) == [e3.id, e1.id, old.id]
    assert ids(review.list_events(session=session, agent="bob")) == [e2.id]
    assert ids(review.list_events(session=session, date_from=utcnow().date())) == [e3.id, e2.id, e1.id]
    assert ids(review.list_events(session=session, date_to=utcnow().date() - timedelta(days=1))) == [old.id]
    assert ids(review.list_events(session=session, rule_id="guaranteed_return", limit=1, offset=1)) == [old.id]


def test_review_records_decision_reviewer_and_audit(session):
    e = _event(session)
    out = review.review_event(
        session=session, event_id=e.id, decision="confirmed", note="clear claim", reviewer=REVIEWER
    )
    session.commit()
    assert out.rule is None
    got = session.get(GuardEvent, e.id)
    assert (got.status, got.reviewer, got.review_note) == ("confirmed", "cathy", "clear claim")
    assert got.reviewed_at is not None
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "guard_event.review")).one()
    assert entry.target_id == str(e.id) and entry.before["status"] == "pending"
    assert entry.after["status"] == "confirmed" and entry.actor == "cathy"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "confirmed", "add_exception": "保本基金"}, "only a false_positive"),
        ({"decision": "false_positive", "add_exception": "   "}, "empty"),
        ({"decision": "false_positive", "add_exception": "x", "rule_id": "other"}, "not one of"),
    ],
)
def test_review_rejects_bad_requests_without_changing_the_event(session, kwargs, message):
    e = _event(session)
    with pytest.raises(InvalidInputError, match=message):
        review.review_event(session=session, event_id=e.id, note=None, reviewer=REVIEWER, **kwargs)
    session.rollback()
    assert session.get(GuardEvent, e.id).status == "pending"


def test_exception_needs_a_rule_when_the_event_matched_several(session):
    e = _event(session, rule_ids=["a", "b"])
    with pytest.raises(InvalidInputError, match="say which rule"):
        review.review_event(
            session=session,
            event_id=e.id,
            decision="false_positive",
            note=None,
            reviewer=REVIEWER,
            add_exception="phrase",
        )


def test_unknown_event_is_not_found(session):
    with pytest.raises(NotFoundError):
        review.review_event(session=session, event_id=999, decision="confirmed", note=None, reviewer=None)


def test_stats_false_positive_rate_per_rule_alerts_per_day_and_acceptance(session):
    for status in ["false_positive", "false_positive", "confirmed", "pending"]:
        _event(session, rule_ids=["noisy"], status=status)
    _event(session, rule_ids=["precise"], status="confirmed", action="warn")
    call = Call()
    session.add(call)
    session.commit()
    sugs = [Suggestion(call_id=call.id, turn=i, query="q", answer="a") for i in range(3)]
    session.add_all(sugs)
    session.commit()
    session.add_all(
        [
            Feedback(suggestion_id=sugs[0].id, rating="used"),
            Feedback(suggestion_id=sugs[1].id, rating="helpful"),
            Feedback(suggestion_id=sugs[2].id, rating="wrong"),
        ]
    )
    session.commit()
    s = review.stats(session=session)
    by_rule = {r.rule_id: r for r in s.rules}
    assert s.rules[0].rule_id == "noisy"  # the noisiest rule first
    assert by_rule["noisy"].false_positive_rate == pytest.approx(2 / 3, abs=1e-3)
    assert (by_rule["noisy"].pending, by_rule["noisy"].reviewed) == (1, 3)
    assert by_rule["precise"].false_positive_rate == 0.0 and by_rule["precise"].warns == 1
    assert s.alerts_per_day == [{"day": utcnow().date().isoformat(), "block": 4, "warn": 1, "total": 5}]
    assert s.events == 5 and s.suggestions == 3
    assert s.feedback == {"used": 1, "helpful": 1, "wrong": 1}
    assert s.acceptance_rate == pytest.approx(2 / 3, abs=1e-3)


def test_csv_export_covers_the_range_and_defuses_formulas(session):
    _event(session, created_at=utcnow() - timedelta(days=10), text="old one")
    _event(session, text='=HYPERLINK("http://x")', agent_name="amy")
    _event(session, text="保本保息", rule_ids=["a", "b"])
    out = review.export_csv(session=session, date_from=utcnow().date() - timedelta(days=1), date_to=utcnow().date())
    assert out.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert [r["text"] for r in rows] == ['\'=HYPERLINK("http://x")', "保本保息"]
    assert rows[1]["rule_ids"] == "a;b"
    assert list(rows[0].keys()) == review.CSV_COLUMNS
