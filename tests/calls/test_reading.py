"""The reading stages in the engine: a need read by meaning gets its suggestion, and interim turns are read the
same way as final ones (a stub stage: the engine's wiring is the point; the real model is in
test_understanding.py)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from assist.config import Settings
from tests.calls.test_understanding import StubUnderstanding, fake_encoder
from tests.fakes import PASSAGES, FakeKnowledge, FakeRetriever

LOST = "信用卡丢了怎么挂失？"
AFTER = "挂失以后还能刷吗？"  # its only relevant passage is the one the first answer cited
ABROAD = "what happens to my mortgage if I move abroad next year"  # one term of a passage: weak evidence


def _only(*chunk_ids: str) -> FakeKnowledge:
    return FakeKnowledge(FakeRetriever([p for p in PASSAGES if p.chunk_id in chunk_ids]))


def test_a_need_read_by_meaning_is_answered_from_the_passage_shown_last(make_call_engine) -> None:
    stub = StubUnderstanding({LOST: (True, "card_loss"), AFTER: (True, None)}, {})
    engine = make_call_engine(understanding=stub, knowledge=_only("c1"))
    call = engine.start_call()
    first = engine.handle_turn(call, speaker="customer", text=LOST).suggestion
    assert first is not None and first.citations[0]["chunk_id"] == "c1"
    second = engine.handle_turn(call, speaker="customer", text=AFTER).suggestion
    assert second is not None and second.citations[0]["chunk_id"] == "c1"


def test_the_keyword_path_still_never_shows_the_same_passage_twice_in_a_row(make_call_engine) -> None:
    engine = make_call_engine(knowledge=_only("c1"))
    call = engine.start_call()
    assert engine.handle_turn(call, speaker="customer", text=LOST).suggestion is not None
    again = engine.handle_turn(call, speaker="customer", text=AFTER).suggestion
    assert again is None or not again.citations


def test_a_need_read_by_meaning_is_answered_from_weak_evidence(make_call_engine) -> None:
    engine = make_call_engine(understanding=StubUnderstanding({ABROAD: (True, "mortgage")}, {}))
    call = engine.start_call()
    s = engine.handle_turn(call, speaker="customer", text=ABROAD).suggestion
    assert s is not None and s.citations and s.citations[0]["title"] == "Mortgage Loans - Early Repayment"


def test_the_lower_gate_for_needs_is_a_setting(make_call_engine, settings) -> None:
    strict = settings.model_copy(update={"need_min_answer_score": 0.3})
    engine = make_call_engine(understanding=StubUnderstanding({ABROAD: (True, "mortgage")}, {}), settings=strict)
    call = engine.start_call()
    s = engine.handle_turn(call, speaker="customer", text=ABROAD).suggestion
    assert s is None or not s.citations  # "nothing approved was found", never a passage this weak


def test_a_social_turn_read_by_meaning_gets_nothing_even_when_it_names_a_passage(make_call_engine) -> None:
    said = "信用卡丢了那次是去年的事了"  # names the passage's words, asks for nothing
    engine = make_call_engine(understanding=StubUnderstanding({said: (False, None)}, {}), knowledge=_only("c1"))
    call = engine.start_call()
    assert engine.handle_turn(call, speaker="customer", text=said).suggestion is None


def test_interim_turns_are_read_by_meaning_like_final_ones(make_call_engine) -> None:
    gone = "卡没了"  # too short for the keywords, a need by meaning
    spent = "昨天下午在超市花了一百来块"  # long enough for the keywords, an answer to the agent by meaning
    stub = StubUnderstanding({gone: (True, "card_loss"), spent: (False, None)}, {})
    engine = make_call_engine(understanding=stub, knowledge=_only("c1", "c2"))
    call = engine.start_call()
    engine.handle_turn(call, speaker="customer", text=spent, final=False)
    assert engine.suggester.retrieval.pending() == 0
    engine.handle_turn(call, speaker="customer", text=gone, final=False)
    assert engine.suggester.retrieval.pending() == 1
    # an interim turn changes nothing the final one decides: no topic, no turn
    state = engine.store.load(call)
    assert state.topic is None and state.turn_count == 0


def test_interim_agent_turns_prefetch_nothing(make_call_engine) -> None:
    engine = make_call_engine(understanding=StubUnderstanding({LOST: (True, "card_loss")}, {}))
    call = engine.start_call()
    engine.handle_turn(call, speaker="agent", text=LOST, final=False)
    assert engine.suggester.retrieval.pending() == 0


def test_an_out_of_range_lower_gate_is_refused_at_start_up(monkeypatch) -> None:
    monkeypatch.setenv("ASSIST_NEED_MIN_ANSWER_SCORE", "1.5")
    with pytest.raises(ValidationError, match="need_min_answer_score"):
        Settings()


def test_a_line_the_guard_blocks_ticks_no_step_even_when_it_reads_as_done(make_call_engine) -> None:
    claim = "这款理财保本，风险我都跟您讲过了"  # "保本" is blocked; the model reads a disclosure as done
    fine = "风险提示我已经给您念完了"
    stub = StubUnderstanding({}, {claim: ["read_risk_disclosure"], fine: ["read_risk_disclosure"]})
    engine = make_call_engine(understanding=stub)
    call = engine.start_call()
    r = engine.handle_turn(call, speaker="agent", text=claim)
    assert [a.action for a in r.alerts] == ["block"]
    assert not any(s.done for s in r.next_steps)
    r = engine.handle_turn(call, speaker="agent", text=fine)
    assert [s.id for s in r.next_steps if s.done] == ["read_risk_disclosure"]


def test_the_agents_turn_read_by_meaning_is_the_routers_context_for_the_reply(make_call_engine) -> None:
    said = "您的卡已经挂失，补卡的话新卡七个工作日寄到"
    stub = StubUnderstanding({}, {said: ["freeze_card"]})
    engine = make_call_engine(understanding=stub, knowledge=_only("c1"))
    call = engine.start_call()
    engine.handle_turn(call, speaker="agent", text=said)
    kept = engine.suggester.previous.agent(call)
    assert kept is not None and np.array_equal(kept, fake_encoder(said)), "the vector the step reading computed"
    engine.end_call(call)
    assert engine.suggester.previous.agent(call) is None, "forgotten with the call"


def test_an_agent_turn_read_by_keywords_leaves_no_stale_context(make_call_engine) -> None:
    engine = make_call_engine()  # no turn model: keywords only
    call = engine.start_call()
    engine.suggester.heard_agent(call, np.ones(4, np.float32))
    engine.handle_turn(call, speaker="agent", text="您的卡已经挂失了")
    assert engine.suggester.previous.agent(call) is None
