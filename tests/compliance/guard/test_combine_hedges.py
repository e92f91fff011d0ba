"""The combination rule honours hedges as the clause logic does (issue #16): "may go up" is not a claim."""

from __future__ import annotations

import numpy as np
import pytest

from assist.compliance.guard.combine import Policy, model_allowed
from assist.compliance.guard.model import CATEGORIES


def _probs(category: str, n: int = 1) -> np.ndarray:
    p = np.full((n, len(CATEGORIES)), 0.01)
    p[:, CATEGORIES.index(category)] = 0.9
    return p


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Stocks may go up", "performance_prediction"),
        ("这只基金可能会涨", "performance_prediction"),
        ("這檔或許是最好的", "superlative"),
        ("Your loan could be approved quickly", "loan_approval"),
    ],
)
def test_a_hedged_clause_keeps_the_model_quiet(text: str, category: str) -> None:
    allowed = model_allowed([], [(0, len(text))], _probs(category), CATEGORIES, Policy(), text)
    assert not allowed[0]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("这个产品不可能亏", "guaranteed_return"),  # 不可能 negates the loss: a claim, not a hedge
        ("Your account may be frozen if you hang up", "pressure"),  # a hedged threat is still a threat
        ("You might want to read me the code", "credential_request"),
        ("Stocks will go up", "performance_prediction"),
    ],
)
def test_negators_threats_and_requests_are_not_taken_back_by_a_hedge(text: str, category: str) -> None:
    allowed = model_allowed([], [(0, len(text))], _probs(category), CATEGORIES, Policy(), text)
    assert allowed[0]


def test_only_the_hedged_clause_is_silenced_and_the_switch_turns_it_off() -> None:
    text = "Stocks may go up, this fund will double"
    spans = [(0, 16), (18, len(text))]
    probs = _probs("performance_prediction", 2)
    assert list(model_allowed([], spans, probs, CATEGORIES, Policy(), text)) == [False, True]
    off = Policy(hedges_silence=False)
    assert list(model_allowed([], spans, probs, CATEGORIES, off, text)) == [True, True]


@pytest.mark.parametrize(
    "text",
    [
        "这款理财不保证收益，请您知悉",
        "本計劃並不保證派息，派息率或會調整",
        "We can't guarantee the return on this fund",
        "The payout is not fully guaranteed",
        "此為非保本浮動收益型產品",
    ],
)
def test_a_negated_guarantee_cannot_promise_one(text: str) -> None:
    for category in ("guaranteed_return", "performance_prediction", "loan_approval"):
        allowed = model_allowed([], [(0, len(text))], _probs(category), CATEGORIES, Policy(), text)
        assert not allowed[0], category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("这个产品不仅保本，收益还高", "guaranteed_return"),  # 不仅 (not only) negates nothing
        ("It's not only guaranteed, it pays eight percent", "guaranteed_return"),
        ("我保證你一定賺錢", "guaranteed_return"),
        ("不保证的话我就不收您的钱，先把验证码报给我", "credential_request"),  # a request is not taken back
    ],
)
def test_guarantees_that_are_not_negated_stay_open_to_the_model(text: str, category: str) -> None:
    allowed = model_allowed([], [(0, len(text))], _probs(category), CATEGORIES, Policy(), text)
    assert allowed[0]
