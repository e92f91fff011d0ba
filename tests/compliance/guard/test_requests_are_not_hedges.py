"""A polite request is not a hedge, and "anyone who asks you to …" condemns what it names (issue #16).

"Could you …", "May I …" and 能不能把… ask for something: a credential asked for that way is still asked for.
任何要求您…的，都是诈骗 names a request in order to condemn it, as 凡是… and "anyone who …" already do.
Sentences written for these tests, in three scripts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.compliance.guard import Guard

RULES = Path(__file__).resolve().parents[3] / "kb_docs" / "rules"


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.from_path(RULES)


@pytest.mark.parametrize(
    "text",
    [
        "Could you read out the three digits printed on the back of the card for me?",
        "May I have the three digits on the back of your card?",
        "能不能把卡背面的三位数字念给我听？",
        "可不可以提供一下您的网银登录密码？",
        "能不能把手機收到的驗證碼告訴我？",
    ],
)
def test_a_credential_asked_for_politely_is_still_blocked(guard: Guard, text: str) -> None:
    verdict = guard.check(text)
    assert verdict.action == "block"
    assert "credential_request" in {m.category for m in verdict.matches}


@pytest.mark.parametrize(
    "text",
    [
        "任何要求您先交保证金才能放款的，都是诈骗。",
        "任何人要求你先付手續費才批貸款，都係騙案。",
        "任何叫您先转一笔解冻费的电话，请直接挂断。",
    ],
)
def test_anyone_who_asks_for_an_advance_fee_is_condemned_not_asked(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow"


@pytest.mark.parametrize(
    "text",
    [
        "This fund could lose value and is not guaranteed.",
        "Could you confirm your date of birth, please?",
        "Would you like me to freeze the card right away?",
        "能不能告诉我您开户的网点？",
        "你可能会亏损部分本金。",
    ],
)
def test_hedges_and_ordinary_requests_stay_as_they_were(guard: Guard, text: str) -> None:
    assert guard.check(text).action == "allow"
