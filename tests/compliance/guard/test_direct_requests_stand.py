"""A direct request for a secret stands whatever the claim model thinks (issue #16).

The claim model may read a request wrapped in a scam's story (a "confirmation SMS", "your account was hacked") as
ordinary talk and veto the rule's block. The rules' clause logic has already judged negations and mentions, so a
clause that asks the listener for the secret keeps its block; a third-person description can still be vetoed.
Plural secrets ("the passwords") are asked for as much as singular ones.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from assist.compliance.guard import Guard
from assist.compliance.guard.combine import Policy, veto_evidence
from assist.compliance.guard.model import CATEGORIES


def _veto(text: str, secret: str) -> float | None:
    """The veto on a credential_request block over ``secret`` in ``text`` when the model sees no claim at all."""
    start = text.index(secret)
    match = SimpleNamespace(
        severity="block", category="credential_request", start=start, end=start + len(secret), text=secret
    )
    probs = np.zeros((1, len(CATEGORIES)))
    probs[0, 0] = 1.0  # the model: nothing but ordinary talk
    return veto_evidence([match], [(0, len(text))], probs, Policy(), text, CATEGORIES)[0]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("等下您会收到一条短信，请将短信验证码报给我，我帮您退款", "验证码报给我"),
        ("一陣你會收到短訊，麻煩你把驗證碼讀給我聽", "驗證碼讀給我"),
        ("Your profile was flagged, so I need you to give the passwords for both logins", "give the passwords"),
    ],
)
def test_a_clause_that_asks_the_listener_keeps_its_block(text: str, secret: str) -> None:
    assert _veto(text, secret) is None


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("骗子通常会说验证码报给我就能退款，这是诈骗", "验证码报给我"),
        ("Fraudsters say things like give the passwords and the PIN", "give the passwords"),
    ],
)
def test_a_description_without_a_request_can_still_be_vetoed(text: str, secret: str) -> None:
    assert _veto(text, secret) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Could you give me the PINs for both cards?",
        "Please read me the codes we just texted you.",
        "I need the passwords for your online accounts.",
    ],
)
def test_plural_secrets_are_asked_for_too(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "block", guard.check(text).to_dict()


@pytest.mark.parametrize(
    "text",
    [
        "Never give anyone your PINs or passwords.",
        "We will never ask for the codes we send you.",
    ],
)
def test_warnings_about_plural_secrets_stay_allowed(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow", guard.check(text).to_dict()
