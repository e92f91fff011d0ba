"""Two fixes of the lead's eighth-round check: the veto spares acts, and a negated list of channels.

Sentences written for these tests (none from the corpus, the dev set or a spent set), three scripts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.compliance.guard import Guard
from assist.compliance.guard.combine import Policy
from assist.compliance.guard.model import ClaimModel
from tests.compliance.guard.claim_fakes import train_fake
from tests.compliance.guard.test_guard_with_model import StubLayer

RULES = Path(__file__).resolve().parents[3] / "kb_docs" / "rules"


@pytest.fixture(scope="module")
def rules_guard() -> Guard:
    return Guard.from_path(RULES)


@pytest.fixture(scope="module")
def model() -> ClaimModel:
    return train_fake()


def _with(rules_guard: Guard, model: ClaimModel, policy: Policy | None = None) -> Guard:
    g = Guard(rules_guard.pack, check_examples=False)
    g.attach_claim_layer(StubLayer(model, policy=policy))  # the model reads every clause as `none`
    return g


PRESSURE = "这个名额今天就截止了，您现在不下单就没有了。"


def test_a_pressure_block_is_not_vetoed_where_the_model_reads_nothing(rules_guard: Guard, model: ClaimModel) -> None:
    assert rules_guard.check(PRESSURE).action == "block"
    verdict = _with(rules_guard, model).check(PRESSURE)
    assert verdict.action == "block" and {m.category for m in verdict.matches} == {"pressure"}
    # the same reading under the old policy threw the correct block away
    assert _with(rules_guard, model, Policy(veto_spares_categories=())).check(PRESSURE).action == "allow"


def test_a_mention_of_a_return_claim_is_still_vetoed(rules_guard: Guard, model: ClaimModel) -> None:
    text = "No caller, and that includes our own staff, will ever ask for the verification code."
    assert rules_guard.check(text).action == "block"
    assert _with(rules_guard, model).check(text).action == "allow"  # credential mentions keep the veto


def test_the_policy_field_is_checked_and_read_from_a_model_header() -> None:
    with pytest.raises(ValueError, match="veto_spares_categories"):
        Policy(veto_spares_categories="pressure")  # type: ignore[arg-type]
    policy = Policy.from_meta({"veto_spares_categories": ["pressure"]})
    assert policy.veto_spares_categories == ("pressure",)
    assert Policy.from_meta(policy.to_dict()) == policy
    assert "pressure" in Policy().veto_spares_categories  # a model file written before the field gets the default


@pytest.mark.parametrize(
    "text",
    [
        "本行绝不会通过电话、短信等方式向您索取银行卡密码和验证码。",
        "我们不会经由电话、邮件、微信等渠道向您索要动态验证码。",
        "本行人員不會透過電話、電郵或簡訊向您索取網銀密碼。",
        "銀行唔會透過電話、短訊同WhatsApp問你攞一次性密碼。",
    ],
)
def test_a_negated_list_of_channels_negates_the_request_after_it(rules_guard: Guard, text: str) -> None:
    assert rules_guard.check(text).action == "allow", text


@pytest.mark.parametrize(
    "text",
    [
        "请通过短信、微信把验证码发给我。",
        "您可以透過電話、簡訊把驗證碼告訴我。",
        "我们不收手续费、保本保息。",  # the first item is a claim of its own: its 不 stays there
    ],
)
def test_a_list_without_a_negator_over_it_still_blocks(rules_guard: Guard, text: str) -> None:
    assert rules_guard.check(text).action == "block", text
