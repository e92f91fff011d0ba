"""Ticket values extracted on the live path (issue #19): each final turn once, as it arrives; the panel's
draft reads them, and is the same as a draft that extracts every stored turn again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from assist.aftercall.live import LiveTicketValues
from assist.aftercall.tickets import draft_for_call

TURNS = [
    ("agent", "您好，海港银行"),
    ("customer", "我的信用卡昨天下午被盗刷了三百块，尾号1234"),
    ("agent", "好的，我来帮您登记争议。"),
]


def test_values_are_kept_per_turn_and_refused_when_incomplete() -> None:
    live = LiveTicketValues(max_calls=1)
    live("c1", 1, "customer", "三百块")
    day = live._calls["c1"][0]
    assert [v.value for v in live.values("c1", turns=[1], ref_date=day) or []] == ["300", "CNY"]
    assert live.values("c1", turns=[1, 2], ref_date=day) is None  # turn 2 not seen here
    assert live.values("c1", turns=[1], ref_date=date(2001, 1, 1)) is None  # another day: extract again
    live("c2", 1, "customer", "x")
    assert live.values("c1", turns=[1], ref_date=day) is None  # bounded: c1 went
    with pytest.raises(ValueError, match="max_calls"):
        LiveTicketValues(max_calls=0)


def test_the_engine_extracts_each_turn_and_the_draft_reads_it(client: TestClient, play: Callable[..., str]) -> None:
    after = client.app.state.aftercall  # type: ignore[attr-defined]
    assert after.live is not None and client.app.state.services.call_engine.on_turn is after.live  # type: ignore[attr-defined]
    call_id = play(TURNS)
    with Session(client.app.state.services.db_engine) as session:  # type: ignore[attr-defined]
        kw = {"call_id": call_id, "templates": after.templates, "topics_in": after.playbooks.topics_in}
        day = draft_for_call(session, **kw).call_id and after.live._calls[call_id][0]
        assert after.live.values(call_id, turns=[1, 2, 3], ref_date=day) is not None
        with_live = draft_for_call(session, **kw, live=after.live)
        without = draft_for_call(session, **kw)
    assert with_live == without
    assert {f.name: f.value for f in with_live.fields}["amount"] == "300"


def test_live_extraction_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from assist.app import create_app
    from tests.fakes import FakeGuard, FakeKnowledge, fake_redact

    monkeypatch.setenv("ASSIST_TICKET_LIVE_EXTRACTION", "false")
    app = create_app(knowledge=FakeKnowledge(), guard=FakeGuard(), redactor=fake_redact)
    with TestClient(app):
        assert app.state.services.call_engine.on_turn is None
        assert app.state.aftercall.live is None
