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
