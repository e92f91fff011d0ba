"""Playbooks: topics, tags and guard categories → steps; the agent's words tick them."""

from __future__ import annotations

from assist.calls.state import CallState


def test_topics_in_three_scripts(playbooks) -> None:
    assert playbooks.topics_in("我的信用卡丢了") == ["card_loss"]
    assert playbooks.topics_in("我的信用卡遺失了") == ["card_loss"]
    assert "card_loss" in playbooks.topics_in("I lost my card yesterday")
    assert "mortgage" in playbooks.topics_in("I want to pay off my mortgage early")
    # an ATM that keeps the card is a question of its own, not a follow-up to the previous need
    assert playbooks.topics_in("ATM吞卡了怎么办？") == ["atm"]
    assert playbooks.topics_in("提款機吞咗張卡點算") == ["atm"]
    assert playbooks.topics_in("The cash machine swallowed my card") == ["atm"]
    assert playbooks.topics_in("my treatment plan") == []  # "atm" only as a word


def test_disclosure_ticks_when_all_three_parts_are_read_across_turns(playbooks) -> None:
    st = CallState(call_id="c", language="zh-Hans")
    playbooks.activate(st, playbooks.steps_for(tags=["wealth"]))
    assert playbooks.tick(st, "理财非存款，产品有风险") == []
    assert playbooks.tick(st, "投资须谨慎") == ["read_risk_disclosure"]
    items = {s.id: s for s in playbooks.checklist(st)}
    assert items["read_risk_disclosure"].done and not items["check_suitability"].done
    assert items["read_risk_disclosure"].label == "宣读风险提示"


def test_traditional_agent_and_labels(playbooks) -> None:
    st = CallState(call_id="c", language="zh-Hant")
    playbooks.activate(st, playbooks.steps_for(topics=["card_loss"]))
    playbooks.tick(st, "已核實您的身份，已經為您掛失")
    items = {s.id: s for s in playbooks.checklist(st)}
    assert items["verify_identity"].done and items["freeze_card"].done
    assert items["verify_identity"].label == "核驗客戶身份"


def test_guard_disclosures_tick_too(playbooks) -> None:
    st = CallState(call_id="c", language="en")
    assert playbooks.tick(st, "as required:", disclosures=["wealth_risk_disclosure"]) == ["read_risk_disclosure"]


def test_categories_and_order(playbooks) -> None:
    st = CallState(call_id="c", language="en")
    playbooks.activate(st, playbooks.steps_for(categories=["guaranteed_return"]))
    playbooks.activate(st, playbooks.steps_for(topics=["card_loss"]))
    ids = [s.id for s in playbooks.checklist(st)]
    assert ids[0] == "verify_identity" and ids[-1] == "escalate_supervisor"
    assert playbooks.checklist(st)[0].label == "Verify the caller's identity"
