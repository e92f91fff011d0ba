"""Scoring adds little after the call ends (issue #19): agent turns are read by meaning while the call goes
on, on the scoring thread (a line the guard blocked has no live vector: it is embedded then, not after the
end), and the turn model's steps are kept per text; phrase lists are compiled once, not per turn."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from assist.aftercall.hooks import EndOfCallScoring, TurnHooks
from assist.aftercall.meaning import CallMeaning, VectorCache
from assist.aftercall.qa import phrases
from assist.aftercall.qa_meaning import TurnJudge
from tests.fakes import fake_embedder


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


def _scoring(judge: TurnJudge) -> EndOfCallScoring:
    rubric = SimpleNamespace(criteria=[SimpleNamespace(id="c", examples={"ok": ["thanks, you are verified"]})])
    aftercall = SimpleNamespace(meaning=judge.meaning, judge=judge, rubric=rubric)
    return EndOfCallScoring(db_engine=None, aftercall=aftercall)  # type: ignore[arg-type]


def test_an_agent_turn_is_read_during_the_call_not_after_it_ends() -> None:
    judge, embedded, model = _judge()
    scoring = _scoring(judge)
    try:
        line = "this fund is guaranteed, you are verified"  # say the guard blocked it: no live vector
        scoring.turn_said("call-1", 3, "agent", line)
        scoring.turn_said("call-1", 4, "customer", "ok then")  # customer turns: the live engine embeds them
        assert scoring.drain(timeout_s=30)
        assert line in embedded and "ok then" not in embedded
        assert judge.meaning.vectors.cached(line) is not None
        before, steps_before = len(embedded), model.calls
        # what scoring the ended call asks: nothing is embedded or read by the model again
        assert judge.steps_done(line) == ["verify_identity"]
        assert judge.group(SimpleNamespace(id="c", examples={"ok": ["thanks, you are verified"]},
                                           min_similarity=-1.0, min_margin=0.0), line) == "ok"  # fmt: skip
        assert (len(embedded), model.calls) == (before, steps_before)
        # a turn the live engine embedded is not read again beside the next turns
        judge.meaning.vectors("thank you, one moment")
        reads = model.calls
        scoring.turn_said("call-1", 5, "agent", "thank you, one moment")
        assert scoring.drain(timeout_s=30) and model.calls == reads
    finally:
        scoring.close()


def test_the_need_head_reads_a_customer_text_once() -> None:
    class NeedModel:
        calls = 0

        def need(self, vec: Any, text: str) -> tuple[float, float]:
            NeedModel.calls += 1
            return 0.2, 0.8

    meaning = CallMeaning(vectors=VectorCache(fake_embedder(64).embed_query), model=NeedModel())
    vec = meaning.customer_vector("my card was charged twice")
    assert vec is not None
    assert meaning.need(vec, "my card was charged twice") == meaning.need(vec, "my card was charged twice") == 0.8
    assert NeedModel.calls == 1


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


def test_turn_hooks_call_each_hook_in_order_and_skip_none() -> None:
    seen: list[tuple[str, int]] = []
    hooks = TurnHooks(lambda c, n, s, t: seen.append(("first", n)), None, lambda c, n, s, t: seen.append(("2nd", n)))
    hooks("call", 7, "agent", "text")
    assert seen == [("first", 7), ("2nd", 7)]


def test_a_phrase_list_is_compiled_once() -> None:
    first = phrases(["reference number", "编号"])
    assert phrases(["reference number", "编号"]) is first
    assert first.hit("Your Reference  Number is GS-1") and first.hit("您的工单编号是123")
    assert not first.hit("no reference here") and phrases(["x"]) is not first
