"""The shipped claim model on the real e5 int8 encoder (slow: builds the ONNX graph once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.compliance.guard import Guard
from assist.compliance.guard.model import ClaimLayer

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def combined() -> Guard:
    guard = Guard.from_path(ROOT / "kb_docs" / "rules")
    layer = ClaimLayer(ROOT / "kb_docs" / "guard" / "claim_model.npz")
    layer.warm_up()
    guard.attach_claim_layer(layer)
    return guard


@pytest.mark.slow
def test_shipped_model_judges_meaning_not_wording(combined: Guard) -> None:
    # no rule has this wording ("you need to decide today" is a rule's now): the model judges the meaning
    pressure = combined.check("I'd decide by tonight if I were you, the allocation is almost gone.")
    assert pressure.action == "block"
    assert all(m.layer == "model" for m in pressure.matches)
    assert any(m.category == "pressure" and m.neighbours for m in pressure.matches)
    assert combined.check("有人向您索要验证码的，一律是诈骗，请直接挂断").action == "allow"  # a warning
    assert combined.check("这款理财产品不保本").action == "allow"
    assert combined.check("这个产品不保本不保息的").action == "allow"  # a negated list
    assert combined.check("If anyone promises you guaranteed returns, it is a scam.").action == "allow"
    assert combined.check("Stocks may go up, but there's no guarantee.").action == "allow"  # a hedge
    assert combined.check("Thanks for calling, how can I help you today?").action == "allow"
    assert combined.check("虽然不保本，但是稳赚不赔。").action == "block"
    assert combined.check("稳赚不赔，今天就定下来吧", speaker="customer").action == "allow"
