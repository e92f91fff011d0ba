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


def test_a_not_when_phrase_keeps_its_step_from_ticking_on_every_path(playbooks) -> None:
    """The shipped cooling-off step is the insurance one: a private placement's 24-hour cooling-off, said with the
    step's own phrase (冷靜期) or read out as the guard's cooling-off disclosure, ticks nothing; the insurance
    cooling-off still does, in three scripts."""
    for text in (
        "私人配售的產品有24小時冷靜期，冷靜期內可以無條件取消",
        "私募理财有二十四小时冷静期",
        "A private placement has a 24-hour cooling-off period, within the cooling-off you can cancel",
    ):
        st = CallState(call_id="c", language="zh-Hant")
        assert playbooks.tick(st, text, disclosures=["insurance_cooling_off"]) == [], text
    insurance = (
        "保單有21日冷靜期，冷靜期內取消可取回全部保費",
        "您的保单犹豫期为15天",
        "The cooling-off period is 21 days",
    )
    for text in insurance:
        st = CallState(call_id="c", language="zh-Hans")
        assert playbooks.tick(st, text) == ["explain_cooling_off"], text
