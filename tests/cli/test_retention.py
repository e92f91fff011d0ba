"""`assist calls purge`: ended calls past the retention period go, with everything they left; open calls,
recent calls and the audit log stay."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, func, select
from typer.testing import CliRunner

from assist.cli import _register, app
from assist.config import get_settings
from assist.db import make_engine
from assist.models.audit import AuditEntry
from assist.models.calls import Call, Feedback, Suggestion, Turn
from assist.models.common import utcnow
from assist.models.guard import GuardEvent

runner = CliRunner()
_register()


def _call(s: Session, *, ended_days_ago: float | None, guard_days_ago: float = 0) -> str:
    now = utcnow()
    call = Call(status="ended" if ended_days_ago is not None else "active")
    if ended_days_ago is not None:
        call.ended_at = now - timedelta(days=ended_days_ago)
    s.add(call)
    s.flush()
    s.add(Turn(call_id=call.id, turn=1, speaker="customer", text="我的卡丢了"))
    sug = Suggestion(call_id=call.id, turn=1, query="我的卡丢了", answer="请立即挂失。")
    s.add(sug)
    s.flush()
    s.add(Feedback(suggestion_id=sug.id, rating="helpful"))
    when = now - timedelta(days=guard_days_ago)
    s.add(GuardEvent(call_id=call.id, action="block", text="保本保收益", created_at=when))
    s.commit()
    return call.id


def _count(s: Session, model: type) -> int:
    return int(s.exec(select(func.count()).select_from(model)).one())


def test_purge_deletes_only_ended_calls_past_the_period_and_audits_it() -> None:
    engine = make_engine(get_settings())
    with Session(engine) as s:
        old = _call(s, ended_days_ago=120, guard_days_ago=120)
        recent = _call(s, ended_days_ago=10)
        open_call = _call(s, ended_days_ago=None)

    dry = runner.invoke(app, ["calls", "purge", "--older-than", "90", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete: 1 calls, 1 turns, 1 suggestions, 1 feedback, 0 guard events" in dry.output
    with Session(engine) as s:
        assert _count(s, Call) == 3  # a dry run deletes nothing

    r = runner.invoke(app, ["calls", "purge", "--older-than", "90"])
    assert r.exit_code == 0, r.output
    with Session(engine) as s:
        assert s.get(Call, old) is None
        assert s.get(Call, recent) is not None and s.get(Call, open_call) is not None
        assert _count(s, Turn) == 2 and _count(s, Suggestion) == 2 and _count(s, Feedback) == 2
        assert _count(s, GuardEvent) == 3  # the compliance record stays unless asked for
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "retention.purge")).one()
        assert entry.after is not None and entry.after["calls"] == 1


def test_purge_of_guard_events_is_explicit() -> None:
    engine = make_engine(get_settings())
    with Session(engine) as s:
        _call(s, ended_days_ago=200, guard_days_ago=200)
        _call(s, ended_days_ago=1, guard_days_ago=1)
    r = runner.invoke(app, ["calls", "purge", "--older-than", "30", "--guard-events"])
    assert r.exit_code == 0, r.output
    assert "1 guard events" in r.output
    with Session(engine) as s:
        assert _count(s, GuardEvent) == 1 and _count(s, Call) == 1


def test_a_retention_period_under_one_day_is_refused() -> None:
    r = runner.invoke(app, ["calls", "purge", "--older-than", "0"])
    assert r.exit_code == 2
    assert "at least 1" in r.output
