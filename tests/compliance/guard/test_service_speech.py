"""The ordinary-speech check's shipped lines: everyday agent talk in three scripts that the guard must let
through (greetings, identity questions, hold and transfer, read-backs, fees and procedures, closings)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

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
    guard = Guard.from_path(ROOT / "kb_docs" / "rules")
    layer = ClaimLayer(ROOT / "kb_docs" / "guard" / "claim_model.npz")
    layer.warm_up()
    check = service_speech_check(guard, layer, read_rows(SERVICE))
    assert check["blocked"] == 0, check["examples"]
    assert check["share"] <= SERVICE_MAX_FLAG_SHARE, check["examples"]
    assert service_speech_reasons(check) == []


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
