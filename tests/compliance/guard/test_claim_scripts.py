"""Thresholds per script (issue #16, round 6): the model's scores are not on one scale across scripts, so a model
may keep block/warn thresholds for en, zh-Hans and zh-Hant, calibrated on each script's own statements."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assist.compliance.guard.combine import Policy, model_action
from assist.compliance.guard.model import CATEGORIES, ClaimModel
from assist.compliance.guard.model_text import script_of
from assist.compliance.guard.training import train
from assist.errors import ModelFileCorrupt
from tests.compliance.guard.claim_fakes import FAST, FakeEncoder, rows

K = len(CATEGORIES)
GUARANTEED = CATEGORIES.index("guaranteed_return")


def _model(script_thresholds: dict | None) -> ClaimModel:
    dim = FakeEncoder.dim
    return ClaimModel(
        categories=CATEGORIES,
        weights=np.zeros((2 * dim, K), np.float32),
        bias=np.zeros(K, np.float32),
        block=np.array([np.inf] + [0.9] * (K - 1)),
        warn=np.array([np.inf] + [0.8] * (K - 1)),
        example_vectors=np.zeros((0, dim), np.float32),
        example_texts=[],
        example_categories=np.zeros(0, np.int16),
        meta={"encoder_id": FakeEncoder.encoder_id, "dim": dim}
        | ({"script_thresholds": script_thresholds} if script_thresholds else {}),
    )


def test_the_script_of_a_text() -> None:
    assert script_of("It's guaranteed") == "en"
    assert script_of("这个产品保本") == "zh-Hans"
    assert script_of("這個產品保本") == "zh-Hant"
    assert script_of("這檔 fund 保證 return") == "zh-Hant"


def test_a_clause_is_judged_by_its_own_scripts_thresholds() -> None:
    hant = {"block": [None] + [0.5] * (K - 1), "warn": [None] + [0.4] * (K - 1)}
    model = _model({"zh-Hant": hant})
    probs = np.full(K, 0.3 / (K - 1))
    probs[GUARANTEED] = 0.7
    assert model_action(model, probs, Policy(), "這個產品穩賺")[2] == "block"  # zh-Hant: its own thresholds
    assert model_action(model, probs, Policy(), "这个产品稳赚")[2] is None  # zh-Hans: the shared ones
    assert model_action(model, probs, Policy(), "It cannot lose")[2] is None
    assert model_action(_model(None), probs, Policy(), "這個產品穩賺")[2] is None  # an older file: shared only


def test_training_per_script_writes_thresholds_for_each_script_it_saw(tmp_path: Path) -> None:
    model, report = train(rows(), [], [], encoder=FakeEncoder(), config=replace(FAST, per_script=True))
    kept = model.meta["script_thresholds"]
    assert set(kept) <= {"en", "zh-Hans", "zh-Hant"} and {"en", "zh-Hans"} <= set(kept)
    assert all(len(t["block"]) == K and len(t["warn"]) == K for t in kept.values())
    assert report.config["per_script"] is True and model.meta["config"]["per_script"] is True
    model.save(tmp_path / "m.npz")
    again = ClaimModel.load(tmp_path / "m.npz")
    assert again.script_thresholds is not None and set(again.script_thresholds) == set(kept)
    plain, _ = train(rows(), [], [], encoder=FakeEncoder(), config=FAST)
    assert "script_thresholds" not in plain.meta and "per_script" not in plain.meta["config"]


def test_a_model_file_with_bad_script_thresholds_is_refused(tmp_path: Path) -> None:
    _model(None).save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        files = {n: z.read(n) for n in z.namelist()}
    header = json.loads(files["header.json"])
    header["script_thresholds"] = {"klingon": {"block": [0.5] * K, "warn": [0.4] * K}}
    files["header.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(tmp_path / "bad.npz", "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    with pytest.raises(ModelFileCorrupt, match="script"):
        ClaimModel.load(tmp_path / "bad.npz")


def test_the_ordinary_talk_budget_holds_in_each_script() -> None:
    from dataclasses import dataclass

    from assist.compliance.guard.calibration import calibrate_items

    @dataclass(frozen=True)
    class Item:
        text: str
        label: int
        tag: str = ""
        kind: str = "corpus"
        group: str = "w"

    def probs(p: float) -> np.ndarray:
        row = np.full((1, K), (1 - p) / (K - 1))
        row[0, GUARANTEED] = p
        return row

    items, oof = [], []
    for script_text, ordinary_score in (("这个产品", 0.5), ("This product", 0.05)):
        for i in range(10):
            items.append(Item(f"{script_text} claim {i}", GUARANTEED))
            oof.append(probs(0.9))
            items.append(Item(f"{script_text} negative {i}", 0))
            oof.append(probs(0.05))
            items.append(Item(f"{script_text} ordinary {i}", 0, "ordinary"))
            oof.append(probs(ordinary_score))
    config = replace(FAST, per_script=True, ordinary_flag_fpr=0.0)
    _, _, figures = calibrate_items(items, oof, config, K)
    kept = figures["by_script"]
    # zh-Hans ordinary talk scores 0.5: its warn threshold must rise above it; English ordinary talk is quiet
    assert kept["zh-Hans"]["warn"][GUARANTEED] > 0.5
    assert kept["en"]["warn"][GUARANTEED] <= 0.5
