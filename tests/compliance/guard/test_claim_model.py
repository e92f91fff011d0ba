"""The claim model: text preparation, training, the model file and its errors (fake encoder, no weights)."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from assist.compliance.guard.calibration import calibrate
from assist.compliance.guard.model import CATEGORIES, ClaimLayer, ClaimModel
from assist.compliance.guard.model_text import clean_for_model, prepare, split_clauses
from assist.compliance.guard.training import ReviewDecision
from assist.errors import EncoderMismatch, ModelFileCorrupt, ModelFileMissing
from tests.compliance.guard.claim_fakes import FakeEncoder, train_fake


@pytest.fixture(scope="module")
def model() -> ClaimModel:
    return train_fake([ReviewDecision("包你赚钱", "confirmed", "guaranteed_return")])


def test_split_clauses_punctuation_contrast_quotes_numbers() -> None:
    t = "虽然不保本，但稳赚不赔。"
    assert [t[a:b] for a, b in split_clauses(t)] == ["虽然不保本", "但稳赚不赔"]
    t = "凡是跟您说“保本保息、稳赚不赔”的，基本都是非法集资。"
    assert [t[a:b] for a, b in split_clauses(t)] == ["凡是跟您说“保本保息、稳赚不赔”的", "基本都是非法集资"]
    t = "It yields 2.5% on 800,000, but not always."
    assert [t[a:b] for a, b in split_clauses(t)] == ["It yields 2.5% on 800,000", "but not always"]
    assert split_clauses("") == []


def test_clean_for_model_undoes_evasion_and_maps_offsets_back() -> None:
    for raw, want in [
        ("稳-赚-不-赔", "稳赚不赔"),
        ("It's r i s k - f r e e.", "It's risk - free."),
        ("保\u200b本", "保本"),
    ]:
        assert clean_for_model(raw)[0] == want
    p = prepare("零 風 險，高報酬。")
    assert p.clean == "零風險，高報酬。"
    assert [p.text[a:b] for a, b in p.original_spans] == ["零 風 險", "高報酬"]


def test_trained_model_flags_a_claim_with_neighbours(model: ClaimModel) -> None:
    got = model.predict("这款产品保本保息", encoder=FakeEncoder(), all_clauses=True)
    assert got and got[0].category == "guaranteed_return" and 0 <= got[0].score <= 1
    assert len(got[0].neighbours) == 3 and all(n.category in CATEGORIES for n in got[0].neighbours)
    assert model.meta["n_reviews"] == 1


def test_review_decisions_change_what_the_model_learns() -> None:
    base = train_fake()
    taught = train_fake([ReviewDecision("包你赚钱翻倍", "confirmed", "guaranteed_return")] * 6)
    enc = FakeEncoder().encode("包你赚钱翻倍", [(0, 6)])
    p0 = base.clause_probabilities(enc.utterance, enc.clauses)[0, 1]
    p1 = taught.clause_probabilities(enc.utterance, enc.clauses)[0, 1]
    assert p1 > p0
    assert "包你赚钱翻倍" in taught.example_texts


def test_review_decision_from_event() -> None:
    assert ReviewDecision.from_event({"status": "pending", "text": "x"}) is None
    ok = ReviewDecision.from_event({"status": "confirmed", "text": "保本", "categories": ["guaranteed_return"]})
    assert ok == ReviewDecision("保本", "confirmed", "guaranteed_return", "agent")
    fp = ReviewDecision.from_event({"status": "false_positive", "text": "不保本", "categories": ["guaranteed_return"]})
    assert fp is not None and fp.category == "none"
    customer = {"status": "confirmed", "text": "x", "categories": ["no_risk"], "speaker": "customer"}
    assert ReviewDecision.from_event(customer) is None


def test_save_load_roundtrip_is_byte_identical(tmp_path: Path, model: ClaimModel) -> None:
    assert model.save(tmp_path / "a.npz") == model.save(tmp_path / "b.npz")
    back = ClaimModel.load(tmp_path / "a.npz", encoder_id="fake-bag-of-chars", dim=16)
    enc = FakeEncoder().encode("保本", [(0, 2)])
    a = back.clause_probabilities(enc.utterance, enc.clauses)
    assert np.allclose(a, model.clause_probabilities(enc.utterance, enc.clauses))
    assert back.thresholds() == model.thresholds()


def _middle_of_member(path: Path, name: str) -> int:
    """The offset of a byte in the middle of one stored array's data (the local header's own fields, such as
    its time stamp, are not read back, so a flip there corrupts nothing)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    raw = path.read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 : info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len + info.compress_size // 2


def test_model_file_errors_are_clear(tmp_path: Path, model: ClaimModel) -> None:
    with pytest.raises(ModelFileMissing, match="not found"):
        ClaimModel.load(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileCorrupt, match="unreadable"):
        ClaimModel.load(tmp_path / "bad.npz")
    model.save(tmp_path / "good.npz")
    data = bytearray((tmp_path / "good.npz").read_bytes())
    data[_middle_of_member(tmp_path / "good.npz", "weights.npy")] ^= 0xFF  # the head's weights, not zip metadata
    (tmp_path / "flip.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileCorrupt):
        ClaimModel.load(tmp_path / "flip.npz")
    with pytest.raises(EncoderMismatch, match="trained on encoder"):
        ClaimModel.load(tmp_path / "good.npz", encoder_id="multilingual-e5-small/other")


def test_claim_layer_validates_and_loads_lazily(tmp_path: Path, model: ClaimModel) -> None:
    with pytest.raises(ValueError, match="encoder needs"):
        ClaimLayer(tmp_path / "m.npz", encoder=object())  # type: ignore[arg-type]
    layer = ClaimLayer(tmp_path / "m.npz", encoder=FakeEncoder())  # no file yet: nothing read in __init__
    with pytest.raises(ModelFileMissing):
        layer.run("保本")
    model.save(tmp_path / "m.npz")
    reading = layer.run("您好，这款产品保本保息")
    assert reading.probabilities.shape == (2, len(CATEGORIES))
    assert [("您好，这款产品保本保息")[a:b] for a, b in reading.spans] == ["您好", "这款产品保本保息"]


def test_long_documents_are_read_piece_by_piece(tmp_path: Path, model: ClaimModel) -> None:
    model.save(tmp_path / "m.npz")
    enc = FakeEncoder()
    text = ("本产品的说明如下。" * 30 + "\n") * 4
    reading = ClaimLayer(tmp_path / "m.npz", encoder=enc).run(text)
    assert enc.calls > 1  # one e5 window holds 512 tokens: a long passage is not truncated
    assert reading.spans[-1][1] > len(text) - 20


def test_calibrate_respects_the_budget_and_what_the_rules_spent() -> None:
    rng = np.random.default_rng(0)
    n = 400
    pos = rng.random(n) < 0.5
    scores = np.clip(np.where(pos, rng.normal(0.7, 0.2, n), rng.normal(0.3, 0.2, n)), 0, 1)
    cats = rng.integers(1, 4, n)
    grid = [round(0.05 * i, 2) for i in range(2, 20)]
    thr = calibrate(cats, scores, pos, n_categories=4, target_fpr=0.05, grid=grid, slack=0.2)
    assert ((scores >= thr[cats]) & ~pos).sum() <= 0.05 * (~pos).sum()
    spent = ~pos & (rng.random(n) < 0.2)
    assert np.isinf(
        calibrate(cats, scores, pos, n_categories=4, target_fpr=0.05, grid=grid, slack=0.2, already=spent)
    ).all()


def test_the_shipped_model_and_corpus_are_not_ingested_as_documents() -> None:
    from assist.knowledge.base import document_paths

    kb = Path(__file__).resolve().parents[3] / "kb_docs"
    assert (kb / "guard" / "claim_model.npz").is_file()
    found = {f.relative_to(kb).as_posix() for f, _ in document_paths([kb])}
    assert found and not any(p.startswith("guard/") for p in found)
