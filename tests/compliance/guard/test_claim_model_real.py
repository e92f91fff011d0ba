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


#: Third-party-style lines written for this test (round 5): none is from the dev set, the spent sets or
#: the corpus. (text, flagged?) for the combined guard with the shipped model; written before it was run on them.
THIRD_PARTY_STYLE = [
    ("Only three places are left at this rate, so I'd sign today before they're gone.", True),
    ("您的贷款已经审批通过了，先转一笔两千元的保证金过来，我们马上放款。", True),
    ("我們這檔基金每年保證有八趴，完全不會虧。", True),
    pytest.param(
        "Your account will be frozen tonight unless you move the balance to the account I give you.",
        True,
        marks=pytest.mark.xfail(
            strict=True,
            reason="round 6's per-script thresholds raised the English pressure warn threshold to 0.75 (the model "
            "reads this at 0.58); round 5's model caught it (docs/benchmarks.md, 'Sixth round, the model')",
        ),
    ),
    ("If a caller says your loan is approved but wants a fee first, hang up: that is a scam.", False),
    ("任何要求您先交保证金才能放款的，都是诈骗。", False),
    ("本基金過往績效不代表未來表現，投資人可能損失本金。", False),
]


@pytest.mark.slow
@pytest.mark.parametrize(("text", "flagged"), THIRD_PARTY_STYLE)
def test_shipped_model_on_third_party_style_lines(combined: Guard, text: str, flagged: bool) -> None:
    assert (combined.check(text).action != "allow") is flagged


#: Round 6: more third-party-style lines, written for this test before the round-6 model was run on them (none
#: is from the dev set, the spent sets or the corpus): a deposit comparison, advance-fee and "guaranteed
#: approval" loans and a deadline in Hong Kong Cantonese / Traditional Chinese, a warning and a true guarantee.
THIRD_PARTY_STYLE_6 = [
    ("這張儲蓄保單跟定存差不多，利息還比定存多一點，放著就好。", True),
    ("您的信貸已經批核咗，只要先過數三千蚊手續費，今日就可以放款。", True),
    ("呢個優惠今晚十二點就截止，錯過咗就冇㗎喇，你而家決定啦。", True),
    ("保證批核，唔理你信貸評分幾差都借到。", True),
    ("This annuity works just like a bank deposit, only it pays more.", True),
    ("任何人叫你喺批核前先俾手續費，都係騙案，請即收線。", False),
    ("定期存款受存款保障計劃保障，每名存款人最高八十萬港元。", False),
]


@pytest.mark.slow
@pytest.mark.parametrize(("text", "flagged"), THIRD_PARTY_STYLE_6)
def test_shipped_model_on_round_6_third_party_style_lines(combined: Guard, text: str, flagged: bool) -> None:
    assert (combined.check(text).action != "allow") is flagged


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "為了保障您的戶口安全，我需要先核實您的身份。",
        "为了保护您的账户安全，需要先核实一下您的身份。",
        "For the security of your account, I first need to verify your identity.",
    ],
)
def test_an_identity_check_is_never_blocked(combined: Guard, text: str) -> None:
    """Every call opens with one; round 5's model blocked the zh-Hant line (the ordinary-speech check)."""
    assert combined.check(text).action != "block"
