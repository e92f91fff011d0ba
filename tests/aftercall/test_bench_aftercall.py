"""benchmarks/bench_aftercall.py: the labelled-call format is checked with the line at fault, a field is judged
by its type, and a replay through the engine reports tickets, QA agreement and timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.models.aftercall import FieldDraft, TicketDraft
from benchmarks import bench_aftercall as bench
from tests.fakes import FakeGuard, FakeKnowledge, fake_redact

DISPUTE = {
    "id": "t-1",
    "call_date": "2026-03-10",
    "turns": [
        {"speaker": "agent", "text": "您好，海港银行，请问有什么可以帮您？"},
        {"speaker": "customer", "text": "我的信用卡有一笔不认识的交易，我要争议这笔交易"},
        {"speaker": "customer", "text": "昨天下午在京东扣了三百块，卡尾号1234"},
        {"speaker": "agent", "text": "好的，已为您登记争议，请问还有其他可以帮您的吗？再见。"},
    ],
    "expected_ticket": {
        "template": "card_dispute",
        "fields": {
            "card_last4": "1234",
            "amount": "300.00",
            "currency": "CNY",
            "date": "2026-03-09",
            "time": "afternoon",
            "merchant": "京东",
            "description": "不认识的交易",
        },
    },
    "expected_qa": {"greeting": True, "closing": True, "escalation_offered": None},
}


def test_a_malformed_line_is_refused_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(DISPUTE, ensure_ascii=False) + "\n" + json.dumps({"turns": []}) + "\n", "utf-8")
    with pytest.raises(SystemExit, match=r"calls.jsonl:2: 'turns' must be a non-empty list"):
        bench.read_calls(path)
    path.write_text(json.dumps({**DISPUTE, "call_date": "10/03/2026"}) + "\n", "utf-8")
    with pytest.raises(SystemExit, match="call_date"):
        bench.read_calls(path)


def test_fields_are_judged_by_type_and_a_wrong_template_gets_no_field_right() -> None:
    def draft(template: str, **values: str | None) -> TicketDraft:
        fields = [FieldDraft(name=k, label=k, type=k, value=v) for k, v in values.items()]
        return TicketDraft(
            call_id="c", template=template, template_label=template, language="en", fields=fields, missing=[]
        )

    expected = {"template": "t", "fields": {"amount": "300", "currency": "cny", "merchant": None, "description": "x"}}
    types = {"amount": "amount", "currency": "currency", "merchant": "merchant", "description": "text"}
    judged = bench.judge_ticket(
        expected, draft("t", amount="300.00", currency="CNY", merchant="", description="y"), types
    )
    assert [f["ok"] for f in judged["fields"]] == [True, True, True, True]  # text: present, as labelled
    judged = bench.judge_ticket(expected, draft("t", amount="30", currency=None, merchant="ACME"), types)
    assert [f["ok"] for f in judged["fields"]] == [False, False, False, False]
    judged = bench.judge_ticket(expected, draft("other", amount="300", currency="CNY"), types)
    assert not judged["template_ok"] and not any(f["ok"] for f in judged["fields"])
    assert bench.judge_ticket(None, None, {})["template_ok"] is True


def test_a_labelled_call_replayed_through_the_engine(tmp_path: Path) -> None:
    from assist.config import Settings
    from assist.services import Overrides, build_services

    overrides = Overrides(knowledge=FakeKnowledge(), guard=FakeGuard(), redactor=fake_redact)
    svc = build_services(Settings(data_dir=tmp_path), overrides=overrides)
    result = bench.replay(svc, DISPUTE)
    assert result["ticket"]["template"] == "card_dispute"
    got = {f["field"]: f["got"] for f in result["ticket"]["fields"]}
    assert got["amount"] == "300" and got["date"] == "2026-03-09"  # 昨天, resolved against call_date
    assert all(f["ok"] for f in result["ticket"]["fields"]), result["ticket"]["fields"]
    assert all(q["ok"] for q in result["qa"]), result["qa"]
    assert len(result["draft_ms"]) == 4 and result["score_ms"] is not None
    report = bench.summarise([result])
    assert report["ticket"]["field_accuracy"] == 1.0 and report["qa"]["agreement"] == 1.0
    assert report["timings_ms"]["draft_per_turn"]["n"] == 4


def test_no_ticket_is_submitted_on_a_call_labelled_as_one_where_none_was(monkeypatch: pytest.MonkeyPatch) -> None:
    none_opened = {**DISPUTE, "expected_qa": {**DISPUTE["expected_qa"], "ticket_submitted": False}}  # type: ignore[dict-item]
    opened = {**DISPUTE, "expected_qa": {**DISPUTE["expected_qa"], "ticket_submitted": True}}  # type: ignore[dict-item]
    no_ticket = {**DISPUTE, "expected_ticket": None}
    monkeypatch.setattr(bench, "SUBMIT", "labelled")  # the default
    assert [bench.submits(r) for r in (none_opened, opened, DISPUTE, no_ticket)] == [False, True, True, False]
    monkeypatch.setattr(bench, "SUBMIT", "always")
    assert [bench.submits(r) for r in (none_opened, opened, DISPUTE, no_ticket)] == [True, True, True, False]
    monkeypatch.setattr(bench, "SUBMIT", "never")
    assert [bench.submits(r) for r in (none_opened, opened, DISPUTE, no_ticket)] == [False, False, False, False]
