"""The shipped templates' rules know Taiwan and Hong Kong wordings and the agent registering the change (issue 19,
ninth round): an e-mail (電子郵件, 信箱) change, a scam case (詐騙案件), a complaint case (投訴個案), and an agent
who registers a contact change names it. Sentences are written here, not copied from any call."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.aftercall.templates import TemplateSet, load_templates

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped() -> TemplateSet:
    return load_templates(ROOT / "kb_docs" / "tickets")


def _strength(templates: TemplateSet, tid: str, *, customer: str = "", agent: str = "") -> int:
    return templates.templates[tid].evidence(
        topics=set(), steps=set(), tags=set(), customer_text=customer, agent_text=agent
    )


@pytest.mark.parametrize(
    "customer",
    [
        "麻煩幫我更改電子郵件，之前那個信箱收不到對帳單了",  # Taiwan: 電子郵件
        "我想改信箱，以後通知都寄到新的",  # Taiwan: 信箱
        "你好，我想变更电子邮件，原来的不用了",  # mainland wording of the same request
    ],
)
def test_an_email_change_in_taiwan_wording_calls_for_the_contact_change(shipped: TemplateSet, customer: str) -> None:
    assert _strength(shipped, "contact_change", customer=customer) >= 2


@pytest.mark.parametrize(
    ("tid", "agent"),
    [
        ("fraud_report", "我這邊已經為您登記詐騙案件，請記下編號"),  # Taiwan
        ("fraud_report", "我已经帮您登记诈骗案件了"),  # mainland
        ("complaint", "我而家幫你開咗一個投訴個案跟進"),  # Hong Kong
        ("contact_change", "您的地址變更已經受理，下個月起生效"),  # Taiwan
        ("contact_change", "好的，手机号变更我已经帮您提交了"),  # mainland
        ("contact_change", "All done, I've updated your email on the account"),  # English
    ],
)
def test_the_agent_registering_the_case_names_its_template(shipped: TemplateSet, tid: str, agent: str) -> None:
    assert _strength(shipped, tid, agent=agent) == 3


def test_a_mention_of_email_alone_does_not_call_for_a_contact_change(shipped: TemplateSet) -> None:
    # a scam e-mail is not a request to change one's e-mail
    said = "我收到一封電子郵件，說我的帳戶被凍結，要我點連結"
    assert _strength(shipped, "contact_change", customer=said) == 0
