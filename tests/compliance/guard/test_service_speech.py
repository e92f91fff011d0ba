"""The ordinary-speech check's shipped lines: everyday agent talk in three scripts that the guard must let
through (greetings, identity questions, hold and transfer, read-backs, fees and procedures, closings)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from assist.compliance.guard import Guard
from assist.compliance.guard.layer_eval import read_rows
from assist.compliance.guard.model import ClaimLayer
from assist.compliance.guard.retrain import SERVICE_MAX_FLAG_SHARE, service_speech_check, service_speech_reasons

ROOT = Path(__file__).resolve().parents[3]
SERVICE = ROOT / "kb_docs" / "guard" / "service_speech.jsonl"
KINDS = {"greeting", "identity", "hold_transfer", "read_back", "fees", "procedure", "closing"}


def test_the_shipped_lines_cover_three_scripts_and_every_kind_of_service_talk() -> None:
    rows = read_rows(SERVICE)
    assert len(rows) >= 150
    by_lang = Counter(r["lang"] for r in rows)
    assert set(by_lang) == {"en", "zh-Hans", "zh-Hant"} and min(by_lang.values()) >= 50
    for lang in by_lang:
        assert {r["kind"] for r in rows if r["lang"] == lang} == KINDS
    assert all(r["expect"] == "allow" and r["speaker"] == "agent" and r["source"] == "written" for r in rows)
    assert len({r["text"] for r in rows}) == len(rows)


def test_the_lines_are_not_training_data() -> None:
    corpus = ROOT / "kb_docs" / "guard" / "claims.jsonl"
    trained = {json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert not trained & {r["text"] for r in read_rows(SERVICE)}


def test_the_rules_alone_flag_none_of_them() -> None:
    guard = Guard.from_path(ROOT / "kb_docs" / "rules")
    flagged = [r["text"] for r in read_rows(SERVICE) if guard.check(r["text"]).action != "allow"]
    assert flagged == []


@pytest.mark.slow
def test_the_shipped_model_passes_the_ordinary_speech_check() -> None:
    """Round 6's model is the first that passes: 3 of the 192 warned, none blocked (round 5: 5 and 1)."""
    guard = Guard.from_path(ROOT / "kb_docs" / "rules")
    layer = ClaimLayer(ROOT / "kb_docs" / "guard" / "claim_model.npz")
    layer.warm_up()
    check = service_speech_check(guard, layer, read_rows(SERVICE))
    assert check["blocked"] == 0, check["examples"]
    assert check["share"] <= SERVICE_MAX_FLAG_SHARE, check["examples"]
    assert service_speech_reasons(check) == []


@pytest.mark.slow
def test_the_shipped_model_leaves_ordinary_service_speech_nearly_always_alone() -> None:
    """An agent greets, verifies and holds in every call: at most one such line in twenty may raise an alert."""
    guard = Guard.from_path(ROOT / "kb_docs" / "rules")
    layer = ClaimLayer(ROOT / "kb_docs" / "guard" / "claim_model.npz")
    layer.warm_up()
    check = service_speech_check(guard, layer, read_rows(SERVICE))
    assert check["share"] <= 0.05, check["examples"]
    assert check["blocked"] <= 2, check["examples"]


def test_the_ordinary_budget_raises_only_the_categories_that_flag_service_talk() -> None:
    import numpy as np

    from assist.compliance.guard.calibration import cap_ordinary

    grid = [round(0.05 * i, 2) for i in range(2, 20)]
    block = np.array([np.inf, 0.6, 0.6, 0.6])
    warn = np.array([np.inf, 0.3, 0.3, 0.3])
    # ten service lines: category 1 flags four of them (0.35-0.5), category 3 one (0.31); category 2 none
    cats = np.array([1, 1, 1, 1, 3, 2, 2, 2, 2, 2])
    scores = np.array([0.35, 0.4, 0.45, 0.5, 0.31, 0.1, 0.1, 0.1, 0.1, 0.1])
    new_block, new_warn = cap_ordinary(block, warn, cats, scores, 0.1, grid)
    assert int((scores >= new_warn[cats]).sum()) <= 1
    assert new_warn[1] > 0.5 and new_warn[2] == 0.3  # the quiet category keeps its threshold
    assert (new_block >= new_warn).all() and new_block[2] == 0.6
    # a budget already met changes nothing
    same_block, same_warn = cap_ordinary(block, warn, cats, scores, 0.5, grid)
    assert (same_warn == warn).all() and (same_block == block).all()


def _veto_model(margin: float | None, tmp: Path) -> Any:
    from assist.compliance.guard.model import ClaimModel
    from assist.compliance.guard.training import train
    from tests.compliance.guard.claim_fakes import FAST, FakeEncoder, rows

    ordinary = [
        {"text": t, "speaker": "agent", "category": "none", "kind": "ordinary", "id": f"w-o-{i}"}
        for i, t in enumerate(["请您稍等一下", "您好欢迎致电"] * 4)
    ]
    config = FAST.__class__(**{**FAST.__dict__, "ordinary_veto": margin})
    model, _ = train(rows() + ordinary, [], [], encoder=FakeEncoder(), config=config)
    tmp.mkdir()
    model.save(tmp / "m.npz")
    return ClaimModel.load(tmp / "m.npz")


def test_the_ordinary_veto_silences_the_model_on_ordinary_talk_only(tmp_path: Path) -> None:
    import numpy as np

    from tests.compliance.guard.claim_fakes import FakeEncoder

    vetoed, plain = _veto_model(0.0, tmp_path / "veto"), _veto_model(None, tmp_path / "plain")
    assert vetoed.meta["ordinary_veto"]["margin"] == 0.0 and vetoed.meta["ordinary_veto"]["examples"]
    assert "ordinary_veto" not in plain.meta and "ordinary_veto" not in plain.meta["config"]
    enc = FakeEncoder().encode("请您稍等一下", [(0, 6)])
    silenced = vetoed.clause_probabilities(enc.utterance, enc.clauses)
    assert silenced[0, 0] == 1.0 and not silenced[0, 1:].any()
    assert plain.clause_probabilities(enc.utterance, enc.clauses)[0, 1:].any()
    claim = FakeEncoder().encode("这款产品保本保息", [(0, 8)])  # nearer to a claim: the veto does not apply
    np.testing.assert_allclose(
        vetoed.clause_probabilities(claim.utterance, claim.clauses)[0, 0],
        plain.clause_probabilities(claim.utterance, claim.clauses)[0, 0],
        atol=0.2,
    )
    assert vetoed.predict("这款产品保本保息", encoder=FakeEncoder())
