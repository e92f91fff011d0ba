"""Sixth round of the QA criteria (issue #19), in three scripts, none copied from the labelled calls: a
contact detail on file read back before verification is a disclosure, and a call-back arranged from someone
senior is an escalation offered (a refused call-back is not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assist.aftercall.qa import CallFacts, compile_phrases, load_rubric, score_call
from assist.aftercall.tickets import CallTurn

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = load_rubric(ROOT / "kb_docs" / "qa" / "rubric.yaml")


def _verdict(criterion: str, turns: list[tuple[str, str]]) -> Any:
    said = [CallTurn(i, speaker, text) for i, (speaker, text) in enumerate(turns, 1)]
    verdicts = {v.id: v for v in score_call(RUBRIC, CallFacts(turns=said, topics=set()))[1]}
    return verdicts[criterion]


@pytest.mark.parametrize(
    "read_back",
    [
        "好的，您登记的手机号是139开头那个，现在还在用吗？",
        "我見到你登記嘅電郵係 mandy dot ho at hotmail dot com，仲用唔用？",
        "The email we have on file is tom dot reyes at mail dot com, is that still right?",
        "OK, the mobile number registered with us is the one ending in five five, yes?",
    ],
)
def test_a_contact_detail_on_file_read_back_before_verification_fails_identity(read_back: str) -> None:
    turns = [
        ("agent", "您好，海港银行"),
        ("customer", "I want to change my contact details"),
        ("agent", read_back),
        ("customer", "no, that one is old"),
        ("agent", "Before I change it: your full name and date of birth?"),
        ("customer", "Tom Reyes, 4 June 1985"),
        ("agent", "Thank you, you're verified."),
    ]
    v = _verdict("identity_before_details", turns)
    assert v.passed is False and v.turns == [3]


def test_asking_which_contact_detail_to_change_is_no_disclosure() -> None:
    turns = [
        ("agent", "Hello, Harbor Bank"),
        ("customer", "I need to update my details"),
        ("agent", "Sure, is it the email or the mobile number registered with us that you want to change?"),
        ("customer", "the email"),
        ("agent", "Your full name and date of birth, please?"),
        ("customer", "Tom Reyes, 4 June 1985"),
        ("agent", "Thank you, you're verified."),
    ]
    assert _verdict("identity_before_details", turns).passed is True


ASKED_TWICE = {
    "zh-Hans": ["你这样处理我不满意 我要找你们领导", "我再说一遍 让你们经理来跟我说"],
    "zh-Hant": ["我要跟你們主管講", "我已經說兩次了 請你們主管來聽"],
    "en": ["I want to speak to a manager", "I'm asking you again, get me your supervisor"],
}


@pytest.mark.parametrize(
    ("script", "offer", "offered"),
    [
        ("zh-Hans", "我帮您约了值班经理，明天上午十点前给您回电，可以吗？", True),
        ("zh-Hant", "我幫您登記，請客服主管稍後致電給您，好嗎？", True),
        ("en", "I'll book a call back from the duty manager for you before six today.", True),
        ("zh-Hans", "经理今天不会给您回电的，您有意见可以写信。", False),
        ("en", "The manager can't call you back, I'm afraid.", False),
    ],
)
def test_a_call_back_from_someone_senior_is_an_escalation_offered(script: str, offer: str, offered: bool) -> None:
    first, second = ASKED_TWICE[script]
    turns = [
        ("agent", "Hello"),
        ("customer", first),
        ("agent", "我明白 / I understand"),
        ("customer", second),
        ("agent", offer),
    ]
    assert _verdict("escalation_offered", turns).passed is offered


def test_the_rubric_compiles_its_new_lists() -> None:
    assert compile_phrases(RUBRIC, []) > 0
