"""The guard with its claim model attached: combination, use vs mention, customers, failures (no weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assist.compliance.guard import Guard
from assist.compliance.guard.combine import Policy
from assist.compliance.guard.model import ClaimLayer, ClaimModel, ClaimReading
from assist.compliance.guard.model_text import prepare
from tests.compliance.guard.claim_fakes import FakeEncoder, train_fake

RULES = Path(__file__).resolve().parents[3] / "kb_docs" / "rules"
HOUSE_RULE = {
    "id": "house_bonus_promise",
    "category": "house_bonus",
    "severity": "block",
    "languages": ["en"],
    "phrases": ["house bonus"],
    "advice": "Do not promise the house bonus.",
    "source": "test",
}


@pytest.fixture(scope="module")
def model() -> ClaimModel:
    return train_fake()


@pytest.fixture(scope="module")
def rules_guard() -> Guard:
    return Guard.from_path(RULES)


class StubLayer:
    """A claim layer whose reading is fixed per clause: ``claims`` maps clause text to a category."""

    def __init__(
        self,
        model: ClaimModel,
        claims: dict[str, tuple[str, float]] | None = None,
        fail: bool = False,
        policy: Policy | None = None,
    ):
        self.model, self.claims, self.fail, self.texts = model, claims or {}, fail, []
        self.policy = policy or Policy()

    def run(self, text: str) -> ClaimReading:
        self.texts.append(text)
        if self.fail:
            raise RuntimeError("onnx runtime exploded")
        prep = prepare(text)
        probs = np.zeros((len(prep.spans), len(self.model.categories)))
        probs[:, 0] = 1.0
        for i, (a, b) in enumerate(prep.original_spans):
            if text[a:b] in self.claims:
                cat, p = self.claims[text[a:b]]
                probs[i] = (1 - p) / (len(probs[i]) - 1)
                probs[i, self.model.categories.index(cat)] = p
        vecs = np.zeros((len(prep.spans), self.model.dim), np.float32)
        return ClaimReading(self.model, self.policy, prep.original_spans, probs, vecs)


def _guard(rules_guard: Guard, layer: object) -> Guard:
    g = Guard(rules_guard.pack, check_examples=False)
    g.attach_claim_layer(layer)
    return g


def test_model_catches_a_claim_no_rule_was_written_for(rules_guard: Guard, model: ClaimModel) -> None:
    text = "Honestly I'd sort it this afternoon, the allocation is almost gone."
    assert rules_guard.check(text).action == "allow"
    g = _guard(rules_guard, StubLayer(model, {"Honestly I'd sort it this afternoon": ("pressure", 0.97)}))
    verdict = g.check(text)
    assert verdict.action == "block"
    (m,) = verdict.matches
    assert (m.layer, m.category, m.score, m.text) == ("model", "pressure", 0.97, "Honestly I'd sort it this afternoon")
    assert m.to_dict()["layer"] == "model" and m.to_dict()["score"] == 0.97
    assert verdict.advice  # no rule covers pressure: the model's match still says what to do instead


def test_model_vetoes_a_rule_block_on_a_warning(rules_guard: Guard, model: ClaimModel) -> None:
    # (凡是… and, since the seventh round, "…，一律是诈骗" are mentions to the rules; this warning's negation is
    # too far from its trigger for the clause logic)
    text = "No caller, and that includes our own staff, will ever ask for the verification code."
    assert rules_guard.check(text).action == "block"  # the rules see "ask for the verification code"
    assert _guard(rules_guard, StubLayer(model)).check(text).action == "allow"


def test_a_direct_request_for_a_secret_is_never_vetoed(rules_guard: Guard, model: ClaimModel) -> None:
    """Seventh round: 请/需要您提供…验证码 and "can you read that to me" keep their block even where the model
    reads the clause as `none`; a third-person description (索取…, "ask for the code") can still be vetoed."""
    g = _guard(rules_guard, StubLayer(model))  # the model reads every clause as `none`
    for text in (
        "退款需要核对，麻烦您提供银行卡号和短信验证码。",
        "請提供您的網銀密碼，我們幫您升級。",
        "OK, the code that just arrived, can you read that to me please?",
    ):
        assert rules_guard.check(text).action == "block", text
        assert g.check(text).action == "block", text
    assert g.check("No caller, and that includes our own staff, will ever ask for the verification code.").action == (
        "allow"
    )
    off = Guard(rules_guard.pack, check_examples=False)
    off.attach_claim_layer(StubLayer(model, policy=Policy(veto_spares_secrets=False)))
    assert off.check("退款需要核对，麻烦您提供银行卡号和短信验证码。").action == "allow"


def test_contrast_clause_is_never_vetoed(rules_guard: Guard, model: ClaimModel) -> None:
    verdict = _guard(rules_guard, StubLayer(model)).check("虽然不保本，但是稳赚不赔。")
    assert verdict.action == "block" and verdict.matches[0].layer == "phrase"


def test_rules_negation_silences_the_model(rules_guard: Guard, model: ClaimModel) -> None:
    text = "这款理财产品不保本"
    g = _guard(rules_guard, StubLayer(model, {text: ("guaranteed_return", 0.99)}))
    assert g.check(text).action == "allow"  # the rules read 不保本 as negated: the model may not add it back


def test_a_customer_never_reaches_the_model(rules_guard: Guard, model: ClaimModel) -> None:
    layer = StubLayer(model, {"稳赚不赔": ("guaranteed_return", 0.99)})
    assert _guard(rules_guard, layer).check("稳赚不赔", speaker="customer").action == "allow"
    assert layer.texts == []


def test_model_failure_keeps_the_rules_verdict(rules_guard: Guard, model: ClaimModel) -> None:
    g = _guard(rules_guard, StubLayer(model, fail=True))
    assert g.check("这款产品保本保息").action == "block"
    assert g.check("Thanks for calling").action == "allow"


def test_matches_carry_their_layer(rules_guard: Guard) -> None:
    for m in rules_guard.check("这款产品保本保息，稳赚不赔").matches:
        assert m.layer in ("phrase", "regex")
        assert m.to_dict()["layer"] == m.layer


def test_real_layer_with_fake_encoder_end_to_end(tmp_path: Path, model: ClaimModel) -> None:
    model.save(tmp_path / "m.npz")
    g = Guard.from_rules([HOUSE_RULE], check_examples=False)  # no rule about guaranteed returns
    g.attach_claim_layer(ClaimLayer(tmp_path / "m.npz", encoder=FakeEncoder()))
    verdict = g.check("您好，Guaranteed returns for you")
    assert verdict.action in ("block", "warn")
    assert any(m.layer == "model" and m.neighbours for m in verdict.matches)


def test_the_holder_keeps_the_model_on_every_guard_swapped_in(rules_guard: Guard, model: ClaimModel) -> None:
    from assist.compliance.holder import GuardHolder

    layer = StubLayer(model, {"Honestly I'd sort it this afternoon": ("pressure", 0.97)})
    holder = GuardHolder(Guard(rules_guard.pack, check_examples=False))
    holder.set_claim_layer(layer, status={"ready": True, "reason": None})
    assert holder.get().check("Honestly I'd sort it this afternoon").action == "block"
    holder.swap(Guard(rules_guard.pack, check_examples=False))  # compliance staff changed the rules
    assert holder.get().check("Honestly I'd sort it this afternoon").action == "block"
    assert holder.status()["model"] == {"ready": True, "reason": None}


def test_a_bare_claim_is_never_vetoed(rules_guard: Guard, model: ClaimModel) -> None:
    g = _guard(rules_guard, StubLayer(model))  # the model reads everything as `none`
    assert g.check("稳赚不赔").action == "block"  # no context: nothing makes it a mention
    assert g.check("凡是索要验证码的，一律是诈骗").action == "allow"


def test_a_rule_of_a_category_the_model_does_not_know_is_never_vetoed(model: ClaimModel) -> None:
    g = Guard.from_rules([HOUSE_RULE], check_examples=False)
    g.attach_claim_layer(StubLayer(model))
    assert g.check("You will get the house bonus if you sign up, as our staff tell everyone.").action == "block"


def test_no_duplicate_model_match_where_a_rule_already_fired(rules_guard: Guard, model: ClaimModel) -> None:
    text = "这款产品保本保息"
    g = _guard(rules_guard, StubLayer(model, {text: ("guaranteed_return", 0.99)}))
    assert [m.layer for m in g.check(text).matches] == ["phrase"]


def test_a_document_keeps_every_rule_block(rules_guard: Guard, model: ClaimModel) -> None:
    draft = (Path(__file__).resolve().parents[3] / "kb_docs" / "drafts" / "marketing_draft_flagged.md").read_text()
    g = _guard(rules_guard, StubLayer(model))  # the model reads every clause as `none`, as it did this draft
    assert g.check(draft, speaker="document").action == "block"
    assert g.check("凡是索要验证码的，一律是诈骗", speaker="agent").action == "allow"


def test_a_quoted_passage_is_checked_by_the_rules_without_the_model(rules_guard: Guard, model: ClaimModel) -> None:
    # an extractive suggestion quotes approved documents verbatim: the model read them at ingest
    layer = StubLayer(model, {"Honestly I'd sort it this afternoon": ("pressure", 0.97)})
    g = _guard(rules_guard, layer)
    assert g.check("Honestly I'd sort it this afternoon", speaker="passage").action == "allow"
    assert g.check("这款产品保本保息", speaker="passage").action == "block"  # the rules still run
    assert layer.texts == []
    # a chat model's words get every layer
    assert g.check("Honestly I'd sort it this afternoon", speaker="suggestion").action == "block"


@pytest.mark.parametrize(
    "text",
    [
        "為了保障您的戶口安全，我需要先核實您的身份",
        "为了保护您的账户安全，需要先核实一下您的身份",
        "For your security I need to verify your identity first",
        "Can you confirm the last four digits of your card number",
    ],
)
def test_an_identity_check_the_model_reads_as_a_credential_request_warns_at_most(
    rules_guard: Guard, model: ClaimModel, text: str
) -> None:
    """Every call opens with an identity check; without a secret asked for, the model may not block it."""
    spans = prepare(text).original_spans
    layer = StubLayer(model, {text[a:b]: ("credential_request", 0.99) for a, b in spans})
    verdict = _guard(rules_guard, layer).check(text)
    assert verdict.action == "warn"
    assert {m.category for m in verdict.matches} == {"credential_request"}


@pytest.mark.parametrize(
    "text",
    [
        "為了保障您的戶口安全，請把手機收到的驗證碼讀給我",
        "To verify you, turn your card over and read me the numbers by your signature",
        "为了排除嫌疑，必须提供网银密码",
        "Could you read me the three digits on the back, to confirm you hold the card",
        "請提供信用卡照片，以便核實身份",
        "你部電話啱啱收到個六位數，讀俾我聽吓",
        "Please download AnyDesk and share your screen so I can secure the account",
        "为了保护您的资金安全，需要把余额转到监管账户",
        "Your account will be frozen tonight unless you move the balance to the account I give you",
        "您要配合调查，把卡里所有的钱都转过来",
    ],
)
def test_a_credential_request_that_asks_for_a_secret_still_blocks(
    rules_guard: Guard, model: ClaimModel, text: str
) -> None:
    spans = prepare(text).original_spans
    layer = StubLayer(model, {text[a:b]: ("credential_request", 0.99) for a, b in spans})
    assert _guard(rules_guard, layer).check(text).action == "block"


def test_the_secret_gate_is_a_policy_switch() -> None:
    from assist.compliance.guard.combine import model_action, names_a_secret

    assert not names_a_secret("I need to ask you a few security questions")
    assert names_a_secret("What is the PIN on the card?") and names_a_secret("请说一下短信验证码")

    class Thresholds:
        categories = ("none", "credential_request")
        block = np.array([np.inf, 0.5])
        warn = np.array([np.inf, 0.3])

    probs = np.array([0.01, 0.99])
    identity = "我需要先核實您的身份"
    assert model_action(Thresholds(), probs, Policy(), identity)[2] == "warn"
    assert model_action(Thresholds(), probs, Policy(credential_without_secret="block"), identity)[2] == "block"
    assert model_action(Thresholds(), probs, Policy())[2] == "block"  # no text: the thresholds alone
    strict = Policy(credential_without_secret="warn_at_block")
    assert model_action(Thresholds(), probs, strict, identity)[2] == "warn"  # at the block threshold: a warn
    assert model_action(Thresholds(), np.array([0.6, 0.4]), strict, identity)[2] is None  # below it: nothing
    assert model_action(Thresholds(), np.array([0.6, 0.4]), strict, "请读一下验证码")[2] == "warn"  # a secret
    with pytest.raises(ValueError, match="credential_without_secret"):
        Policy(credential_without_secret="never")
