"""All sample calls of kb_docs/calls/ replayed with the real models (issue #19), as `assist serve` runs:
the index of kb_docs/, the turn model, the e5 vectors the after-call reads. Each gets the ticket a person
would fill and a scorecard failing what it should (the wealth sale missing a disclosure part scores 0)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import Session

from tests.aftercall.test_sample_calls import CALLS, EXPECTED, OLDER

pytestmark = pytest.mark.slow
DAY = "2026-12-05"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from assist.config import Settings
    from assist.services import build_services

    svc = build_services(Settings(data_dir=tmp_path_factory.mktemp("samples")), ingest_if_empty=True)
    if svc.aftercall.meaning is None:
        svc.close()
        pytest.skip("the turn model did not load (it needs the e5 embedder and its model file)")
    yield svc
    svc.close()  # stops the answer sentences warmed in the background: a model run at the exit aborts it


@pytest.mark.parametrize("name", sorted(EXPECTED | OLDER))
def test_replaying_a_sample_call_with_the_real_models(name: str, served: Any) -> None:
    from assist.aftercall.scorecards import get_card, public
    from assist.aftercall.tickets import draft_for_call
    from assist.errors import NotFoundError
    from assist.models.calls import Call

    template, fields, failing = (EXPECTED | OLDER)[name]
    engine, after = served.call_engine, served.aftercall
    call_id = engine.start_call()
    with Session(served.db_engine) as session:
        row = session.get(Call, call_id)
        assert row is not None
        row.created_at = datetime.combine(date.fromisoformat(DAY), datetime.min.time(), tzinfo=UTC)
        session.add(row)
        session.commit()
    for line in (CALLS / name).read_text(encoding="utf-8").splitlines():
        turn = json.loads(line)
        engine.handle_turn(call_id, speaker=turn["speaker"], text=turn["text"])
    with Session(served.db_engine) as session:
        try:
            draft = draft_for_call(
                session, call_id=call_id, templates=after.templates, topics_in=after.playbooks.topics_in,
                chooser=after.chooser,
            )  # fmt: skip
        except NotFoundError:
            draft = None
    assert (draft.template if draft else None) == template
    if draft is not None:
        got = {f.name: f.value for f in draft.fields}
        assert {k: got.get(k) for k in fields} == fields
    engine.end_call(call_id)
    engine.on_call_ended.drain()
    with Session(served.db_engine) as session:
        card = public(session, get_card(session, call_id))
    assert {v.id for v in card.criteria if v.passed is False} == failing, card.criteria
    if any(v.critical for v in card.criteria if v.id in failing):
        assert card.score == 0
