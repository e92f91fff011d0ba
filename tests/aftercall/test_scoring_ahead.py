"""Scoring adds little after the call ends (issue #19): an agent line the guard blocked is read by its phrases
only, as on the live path (which computes no vector for it, so reading it by meaning would run the model
after the end); the turn model's steps and need are kept per text; phrase lists are compiled once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assist.aftercall.meaning import CallMeaning, VectorCache
from assist.aftercall.qa import CallFacts, load_rubric, phrases, score_call
from assist.aftercall.qa_meaning import TurnJudge
from assist.aftercall.tickets import CallTurn
from tests.fakes import fake_embedder

ROOT = Path(__file__).resolve().parents[2]


class CountingModel:
    """The turn model's step heads, counted: a turn 'verifies' when it says 'verified'."""

    def __init__(self) -> None:
        self.calls = 0

    def steps_done(self, vec: Any, text: str, *, eligible: Any, already: Any) -> list[tuple[str, float]]:
        self.calls += 1
        return [("verify_identity", 0.9)] if "verified" in text else []


def _judge() -> tuple[TurnJudge, list[str], CountingModel]:
    embedded: list[str] = []
    embed = fake_embedder(64).embed_query

    def encoder(text: str) -> np.ndarray:
        embedded.append(text)
        return np.asarray(embed(text), dtype=np.float32)

    model = CountingModel()
    return TurnJudge(CallMeaning(vectors=VectorCache(encoder), model=model)), embedded, model


def test_a_blocked_agent_line_is_not_read_by_meaning_when_the_call_is_scored() -> None:
    judge, embedded, _model = _judge()
    rubric = load_rubric(ROOT / "kb_docs" / "qa" / "rubric.yaml")
    blocked = "this fund is guaranteed, you cannot lose money on it"
    plain = "please hold while I check your card"
    turns = [CallTurn(1, "agent", blocked), CallTurn(2, "customer", "ok"), CallTurn(3, "agent", plain)]
    alerts = [{"turn": 1, "speaker": "agent", "action": "block", "categories": ["guaranteed_return"]}]
    facts = CallFacts(turns=turns, topics=set(), alerts=alerts, judge=judge)
    score_call(rubric, facts)
    assert blocked not in embedded  # no model run after the end for a line the live engine did not embed
    assert plain in embedded  # other agent turns are read by meaning as before
    assert facts.judge_for(turns[0]) is None and facts.judge_for(turns[2]) is judge


def test_steps_kept_per_text_stay_bounded() -> None:
    judge, _embedded, model = _judge()
    judge.max_texts = 2
    for text in ("a verified", "b", "c", "a verified"):
        judge.steps_done(text)
    assert model.calls == 4  # "a verified" went (the oldest of three), so it was read again
    judge.steps_done("a verified")
    assert model.calls == 4
    with pytest.raises(ValueError, match="max_texts"):
        TurnJudge(judge.meaning, max_texts=0)


def test_a_phrase_list_is_compiled_once() -> None:
    first = phrases(["reference number", "编号"])
    assert phrases(["reference number", "编号"]) is first
    assert first.hit("Your Reference  Number is GS-1") and first.hit("您的工单编号是123")
    assert not first.hit("no reference here") and phrases(["x"]) is not first


class _Encoded:
    def __init__(self, utterance: np.ndarray, clauses: np.ndarray) -> None:
        self.utterance, self.clauses = utterance, clauses


class _ClauseEncoder:
    """The live engine's clause encoder: one run gives a turn's vector and its clauses'."""

    def __init__(self) -> None:
        self.warmed = False

    def encode(self, text: str, spans: list[tuple[int, int]]) -> _Encoded:
        embed = fake_embedder(64).embed_query
        vecs = np.asarray([embed(text[a:b]) for a, b in spans], dtype=np.float32).reshape(len(spans), 64)
        return _Encoded(np.asarray(embed(text), dtype=np.float32), vecs)

    def warm_up(self) -> None:
        self.warmed = True


def test_an_agent_turn_read_with_its_clauses_is_not_embedded_again_when_the_call_is_scored() -> None:
    from types import SimpleNamespace

    from assist.services import _turn_meaning

    embedded: list[str] = []

    def encoder(text: str) -> np.ndarray:
        embedded.append(text)
        return np.asarray(fake_embedder(64).embed_query(text), dtype=np.float32)

    clause_encoder = _ClauseEncoder()
    understanding = SimpleNamespace(ready=True, encoder=encoder, clause_encoder=clause_encoder, model=None)
    meaning = _turn_meaning(understanding)  # type: ignore[arg-type]
    assert meaning is not None
    turn = "thanks, you're verified. I can see a payment of two hundred dollars"
    # the live engine reads a turn of several clauses in one run of the clause encoder (assist/calls/…/stage.py)
    encoded = understanding.clause_encoder.encode(turn, [(0, 24), (25, len(turn))])
    understanding.clause_encoder.warm_up()
    assert clause_encoder.warmed and len(encoded.clauses) == 2
    vec = meaning.agent_vector(turn)  # the scorecard's read of the same turn after the end
    assert embedded == []  # no model run after the call ended
    assert vec is not None and np.allclose(vec, encoded.utterance)


def test_the_rubric_phrases_are_compiled_at_start_up_not_when_the_first_call_is_scored(tmp_path: Path) -> None:
    from assist.aftercall.qa import _compiled
    from assist.aftercall.scorecards import verify_phrases
    from assist.aftercall.service import AfterCall
    from assist.config import Settings

    after = AfterCall(Settings(data_dir=tmp_path))
    _compiled.cache_clear()
    after.warm_up()
    compiled = _compiled.cache_info().misses
    assert compiled >= 10
    turns = [
        CallTurn(1, "agent", "Good morning, Harbor Bank, how can I help?"),
        CallTurn(2, "customer", "I want a manager, get me your supervisor. I said a manager!"),
        CallTurn(3, "agent", "Thanks, you're verified. I can transfer you to my supervisor. Anything else? Goodbye"),
    ]
    facts = CallFacts(
        turns=turns,
        topics={"wealth", "insurance", "complaint"},
        verify_phrases=verify_phrases(after.playbooks),
    )
    score_call(after.rubric, facts)
    assert _compiled.cache_info().misses == compiled  # every list the checks read was compiled already


def test_the_live_engines_checklist_says_when_the_caller_was_verified_no_heads_run_after_the_end() -> None:
    from assist.aftercall.scorecards import live_steps

    judge, _embedded, model = _judge()
    rubric = load_rubric(ROOT / "kb_docs" / "qa" / "rubric.yaml")
    turns = [
        CallTurn(1, "agent", "Harbor Bank, good morning"),
        CallTurn(2, "customer", "hi, there is a charge I don't know"),
        CallTurn(3, "agent", "right, all good on my side, you're through"),  # the live model ticked the step here
        CallTurn(4, "customer", "ok"),
        CallTurn(5, "agent", "I can see a pending charge of fifty dollars from yesterday"),
    ]
    # Call.state as the live engine stores it: each ticked step with the turn that completed it
    state = {"steps": {"verify_identity": {"done": True, "via": ["agent"], "done_at_turn": 3}, "x": {"done": False}}}
    assert live_steps(state) == {"verify_identity": 3}
    assert live_steps({}) is None and live_steps(None) is None
    facts = CallFacts(turns=turns, topics=set(), judge=judge, live_steps=live_steps(state))
    _score, verdicts = score_call(rubric, facts)
    identity = next(v for v in verdicts if v.id == "identity_before_details")
    assert identity.passed is True and identity.turns == [3]
    assert model.calls == 0  # the step heads did not run again after the call ended
    # a call whose state holds no checklist (stored without the engine): the heads read the turns, as before
    score_call(rubric, CallFacts(turns=turns, topics=set(), judge=judge))
    assert model.calls > 0


def test_the_template_choice_made_on_the_same_turns_is_not_made_again() -> None:
    from assist.aftercall.choice import TemplateChooser
    from assist.aftercall.templates import load_templates

    embedded: list[str] = []
    embed = fake_embedder(64).embed_query

    def encoder(text: str) -> np.ndarray:
        embedded.append(text)
        return np.asarray(embed(text), dtype=np.float32)

    meaning = CallMeaning(vectors=VectorCache(encoder))  # every customer turn a need (no model)
    chooser = TemplateChooser(load_templates(ROOT / "kb_docs" / "tickets"), meaning)
    customer = [(2, "someone used my card at a shop I have never been to, two hundred dollars")]
    first = chooser.choose(topics={"card_dispute"}, steps=set(), tags=set(), customer=customer, agent=[])
    seen = len(embedded)
    again = chooser.choose(topics={"card_dispute"}, steps=set(), tags=set(), customer=list(customer), agent=[])
    assert again is first and seen > 0  # the panel's draft after the last turn made it already
    assert len(embedded) == seen
    more = [*customer, (4, "and my card is gone too")]
    other = chooser.choose(topics={"card_dispute"}, steps=set(), tags=set(), customer=more, agent=[])
    assert other is not first  # another turn: chosen again
