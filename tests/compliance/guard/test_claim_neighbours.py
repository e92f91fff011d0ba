"""The claim model's neighbour vote and Traditional → Simplified folding (issue #16, fourth round)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assist.compliance.guard.model import CATEGORIES, ClaimLayer, ClaimModel
from assist.compliance.guard.neighbours import blend_vote, neighbour_vote
from assist.compliance.guard.training import TrainConfig, train
from assist.errors import InvalidInputError
from tests.compliance.guard.claim_fakes import FAST, FakeEncoded, FakeEncoder, rows

K = len(CATEGORIES)
GR = CATEGORIES.index("guaranteed_return")
PRESSURE = CATEGORIES.index("pressure")


def _unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, np.float32)
    return v / np.linalg.norm(v)


class RecordingEncoder(FakeEncoder):
    """The fake encoder, remembering the texts it was asked to read."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, text: str, spans: Sequence[tuple[int, int]]) -> FakeEncoded:
        self.texts.append(text)
        return super().encode(text, spans)


def _flat_model(meta: dict[str, object]) -> ClaimModel:
    """A head with no opinion (uniform probabilities) and three labelled examples in 2-d."""
    return ClaimModel(
        categories=CATEGORIES,
        weights=np.zeros((4, K), np.float32),
        bias=np.zeros(K, np.float32),
        block=np.full(K, 0.9),
        warn=np.full(K, 0.5),
        example_vectors=np.stack([_unit(1, 0), _unit(0.95, 0.05), _unit(0, 1)]),
        example_texts=["保本保息", "稳赚不赔", "今天就截止"],
        example_categories=np.array([GR, GR, PRESSURE]),
        meta={"encoder_id": "fake", "dim": 2, "features": "cu", **meta},
    )


def test_neighbour_vote_follows_the_nearest_labelled_examples_and_respects_the_mask() -> None:
    examples = np.stack([_unit(1, 0), _unit(0.9, 0.1), _unit(0, 1)])
    labels = np.array([GR, GR, PRESSURE])
    vote = neighbour_vote(np.stack([_unit(1, 0.02)]), examples, labels, k=2, tau=0.05, n_classes=K)
    assert vote.shape == (1, K) and vote[0, GR] == pytest.approx(1.0)
    # The two guaranteed-return examples are in another fold: only the pressure line may vote.
    masked = neighbour_vote(
        np.stack([_unit(1, 0.02)]), examples, labels, k=2, tau=0.05, n_classes=K, mask=np.array([[False, False, True]])
    )
    assert masked[0, PRESSURE] == pytest.approx(1.0)
    # Nothing may vote: an empty vote, and the head's probabilities are kept as they are.
    empty = neighbour_vote(
        np.stack([_unit(1, 0)]), examples, labels, k=2, tau=0.05, n_classes=K, mask=np.zeros((1, 3), bool)
    )
    head = np.full((1, K), 1.0 / K)
    assert not empty.any() and np.array_equal(blend_vote(head, empty, 0.5), head)


def test_a_model_file_with_a_neighbour_vote_blends_it_into_the_clause_probabilities() -> None:
    clause = np.stack([_unit(1, 0.01)])
    plain = _flat_model({}).clause_probabilities(_unit(1, 0), clause)
    voted = _flat_model({"knn": {"alpha": 0.4, "k": 2, "tau": 0.05}}).clause_probabilities(_unit(1, 0), clause)
    assert plain[0, GR] == pytest.approx(1.0 / K)
    assert voted[0, GR] == pytest.approx(0.6 / K + 0.4)
    assert voted.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="neighbour vote"):
        _flat_model({"knn": {"alpha": 1.5}})


def test_a_simplifying_model_reads_traditional_text_as_simplified(tmp_path: Path) -> None:
    enc = RecordingEncoder()
    model = _flat_model({"simplify": True, "encoder_id": enc.encoder_id, "dim": enc.dim})
    model.weights = np.zeros((2 * enc.dim, K), np.float32)
    model.example_vectors = np.zeros((0, enc.dim), np.float32)
    model.example_texts, model.example_categories = (), np.zeros(0, np.int16)
    model.predict("這檔基金穩賺不賠，保證獲利。", encoder=enc)
    assert enc.texts == ["这档基金稳赚不赔，保证获利。"]
    # The guard's layer reads the same folded text; offsets still point into what the agent said.
    path = tmp_path / "m.npz"
    model.save(path)
    layer = ClaimLayer(path, encoder=enc)
    reading = layer.run("這檔基金穩賺不賠")
    assert enc.texts[-1] == "这档基金稳赚不赔" and reading.spans == ((0, 8),)


def test_training_with_the_switches_writes_them_and_reads_folded_text() -> None:
    enc = RecordingEncoder()
    corpus = [*rows(), {"text": "這款產品保本保息", "speaker": "agent", "category": "guaranteed_return", "id": "w-t"}]
    cfg = TrainConfig(**{**FAST.__dict__, "knn_alpha": 0.3, "knn_k": 3, "simplify": True})
    model, report = train(corpus, [], [], encoder=enc, config=cfg)
    assert "这款产品保本保息" in enc.texts and "這款產品保本保息" not in enc.texts
    assert model.simplify and model.knn_alpha == pytest.approx(0.3) and model.knn_k == 3
    # The out-of-fold probabilities include the vote: they differ from a head-only training's.
    _, plain = train(corpus, [], [], encoder=FakeEncoder(), config=TrainConfig(**{**FAST.__dict__, "simplify": True}))
    assert any(not np.allclose(a, b) for a, b in zip(report.oof_probabilities, plain.oof_probabilities, strict=True))
    # An older file (no switches in its header) still reads text as it is and uses the head alone.
    assert not _flat_model({}).simplify and _flat_model({}).knn_alpha == 0.0


def test_the_budget_can_be_a_rate_over_third_party_negatives_only() -> None:
    from assist.compliance.guard.calibration import budget_rows

    class It:
        def __init__(self, group: str) -> None:
            self.group = group

    items = [It("https://a.example/1"), It("w-12"), It("https://b.example/2"), It("w-13")]
    pos = np.array([True, True, False, False])
    assert budget_rows(items, pos, "all").all()
    # Every claim stays in; of the negatives only the one from a public page counts.
    assert budget_rows(items, pos, "third_party").tolist() == [True, True, True, False]
    with pytest.raises(InvalidInputError, match="calibrate_negatives"):
        budget_rows(items, pos, "written")
    with pytest.raises(InvalidInputError, match="no negative"):
        budget_rows(items[:2] + items[3:], np.array([True, True, False]), "third_party")


def test_calibrating_on_third_party_negatives_loosens_thresholds_the_written_ones_held_tight() -> None:
    from types import SimpleNamespace

    from assist.compliance.guard.calibration import calibrate_items

    def item(label: int, group: str) -> SimpleNamespace:
        return SimpleNamespace(kind="corpus", label=label, group=group, text="x", spans=((0, 1),))

    def probs(p: float) -> np.ndarray:
        row = np.full((1, K), (1 - p) / (K - 1))
        row[0, GR] = p
        return row

    # Claims score 0.5-0.8; the written near-misses score 0.7, the third-party negatives 0.2.
    items = [item(GR, f"w-{i}") for i in range(10)]
    items += [item(0, f"w-{10 + i}") for i in range(10)]
    items += [item(0, f"https://x.example/{i}") for i in range(10)]
    oof = [probs(0.5 + 0.03 * i) for i in range(10)] + [probs(0.7)] * 10 + [probs(0.2)] * 10
    cfg = TrainConfig(**{**FAST.__dict__, "target_block_fpr": 0.05, "target_flag_fpr": 0.1})
    _, warn_all, figs_all = calibrate_items(items, oof, cfg, K)
    cfg3 = TrainConfig(**{**cfg.__dict__, "calibrate_negatives": "third_party"})
    _, warn_3, figs_3 = calibrate_items(items, oof, cfg3, K)
    assert warn_3[GR] < warn_all[GR]
    assert figs_3["recall_flag"] > figs_all["recall_flag"]
    # The written near-misses pay for it: that is the trade this switch makes.
    assert figs_3["fpr_flag"] > figs_all["fpr_flag"]


def test_the_budget_can_count_third_party_statements_only_claims_too() -> None:
    from assist.compliance.guard.calibration import budget_rows

    class It:
        def __init__(self, group: str) -> None:
            self.group = group

    items = [It("https://a.example/1"), It("w-12"), It("https://b.example/2"), It("w-13")]
    pos = np.array([True, True, False, False])
    # The written claim leaves the pool as well: only the statements of other writers count.
    assert budget_rows(items, pos, "third_party_all").tolist() == [True, False, True, False]
    with pytest.raises(InvalidInputError, match="no claim"):
        budget_rows(items[1:], np.array([True, False, False]), "third_party_all")


def test_calibrating_on_third_party_claims_spends_the_budget_where_other_writers_claims_are() -> None:
    from types import SimpleNamespace

    from assist.compliance.guard.calibration import calibrate_items

    def item(label: int, group: str) -> SimpleNamespace:
        return SimpleNamespace(kind="corpus", label=label, group=group, text="x", spans=((0, 1),))

    def probs(cat: int, p: float) -> np.ndarray:
        row = np.full((1, K), (1 - p) / (K - 1))
        row[0, cat] = p
        return row

    # The budget (2 flagged negatives) opens one category at 0.5: the written claims are guaranteed returns,
    # the other writers' claims pressure, and each category has two negatives at 0.5.
    items = [item(GR, f"w-{i}") for i in range(20)] + [item(PRESSURE, f"https://c.example/{i}") for i in range(5)]
    items += [item(0, f"https://x.example/{i}") for i in range(20)]
    oof = [probs(GR, 0.5)] * 20 + [probs(PRESSURE, 0.5)] * 5
    oof += [probs(GR, 0.5)] * 2 + [probs(PRESSURE, 0.5)] * 2 + [probs(GR, 0.2)] * 16
    cfg = TrainConfig(**{**FAST.__dict__, "target_block_fpr": 0.0, "target_flag_fpr": 0.1})
    _, warn_3, _ = calibrate_items(items, oof, TrainConfig(**{**cfg.__dict__, "calibrate_negatives": "third_party"}), K)
    _, warn_a, _ = calibrate_items(
        items, oof, TrainConfig(**{**cfg.__dict__, "calibrate_negatives": "third_party_all"}), K
    )
    assert warn_3[GR] <= 0.5 < warn_3[PRESSURE]  # the written claims win the budget
    assert warn_a[PRESSURE] <= 0.5 < warn_a[GR]  # the other writers' claims win it
