"""Training weights (issue #16, tenth round): other writers' lines can weigh more than the project's own."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assist.compliance.guard.model import CATEGORIES, ClaimModel
from assist.compliance.guard.training import train
from tests.compliance.guard.claim_fakes import FAST, FakeEncoder, rows
from tests.compliance.guard.test_train_cli import _corpus as _cli_corpus
from tests.compliance.guard.test_train_cli import _train, fake_training

__all__ = ["fake_training"]  # the fixture, used below

# The same words labelled both ways: a claim where a public page printed them, ordinary talk where we wrote them.
DISPUTED = ["Lock it in before the weekend", "周末前锁定这个价格", "週末前鎖定這個價格"]


def _corpus() -> list[dict[str, str]]:
    out = rows()
    for i, text in enumerate(DISPUTED * 3):
        src = f"https://example.org/page{i}"
        out.append({"text": text, "speaker": "agent", "category": "pressure", "id": f"tp-{i}", "source": src})
        out.append({"text": text, "speaker": "agent", "category": "none", "id": f"w-9{i}", "source": "written"})
    return out


def _pressure_probability(third_party_weight: float, text: str) -> float:
    enc = FakeEncoder()
    model, _ = train(_corpus(), encoder=enc, config=replace(FAST, third_party_weight=third_party_weight))
    got = enc.encode(text, [(0, len(text))])
    return float(model.clause_probabilities(got.utterance, got.clauses)[0, CATEGORIES.index("pressure")])


@pytest.mark.parametrize("text", DISPUTED)
def test_third_party_lines_outweigh_written_ones_when_weighted(text: str) -> None:
    heavy, light = _pressure_probability(4.0, text), _pressure_probability(0.25, text)
    assert heavy > 0.5 > light


def test_the_weight_is_in_the_header_only_when_set() -> None:
    plain, _ = train(_corpus(), encoder=FakeEncoder(), config=FAST)
    weighted, _ = train(_corpus(), encoder=FakeEncoder(), config=replace(FAST, third_party_weight=2.0))
    assert "third_party_weight" not in plain.meta["config"]
    assert weighted.meta["config"]["third_party_weight"] == 2.0


def test_train_command_takes_the_third_party_weight(fake_training: Path) -> None:
    tmp = fake_training
    ok = _train(tmp, _cli_corpus(tmp / "c.jsonl"), "--third-party-weight", "2.5", "--no-reviews", "--force")
    assert ok.exit_code == 0, ok.output
    assert ClaimModel.load(tmp / "m.npz").meta["config"]["third_party_weight"] == 2.5
    bad = _train(tmp, _cli_corpus(tmp / "c.jsonl"), "--third-party-weight", "-1")
    assert bad.exit_code == 2
