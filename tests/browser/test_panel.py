"""The agent side panel in a real browser, against the real engine, at the width of a side column."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import PANEL_VIEWPORT, enter_key
from tests.browser.server import ROOT, LiveServer

pytestmark = pytest.mark.browser

CUSTOMER_QUESTION = "我的信用卡丢了怎么办"
FORBIDDEN_AGENT_LINE = "这款理财产品是保本的，您放心买。"


def _open_panel(page: Any, server: LiveServer, query: str = "?pace=30") -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(PANEL_VIEWPORT)
    page.goto(f"{server.base_url}/panel{query}")
    enter_key(page, server.keys["agent"])
    expect(page.locator("#role-badge")).to_contain_text("agent")


def _say(page: Any, speaker: str, text: str) -> None:
    page.locator(f'#sim-form input[name="speaker"][value="{speaker}"]').check()
    page.locator("#sim-text").fill(text)
    page.locator("#sim-text").press("Enter")


def test_panel_shows_a_cited_suggestion_then_a_compliance_alert(page: Any, live_server: LiveServer) -> None:
    """Simulated call: a customer question brings a cited answer; a forbidden agent line an alert banner."""
    from playwright.sync_api import expect

    _open_panel(page, live_server)
    _say(page, "customer", CUSTOMER_QUESTION)

    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#transcript .turn.customer")).to_contain_text(CUSTOMER_QUESTION)
    answer = page.locator("#sugg-answer")
    expect(answer).to_be_visible()
    expect(answer).not_to_be_empty()
    citations = page.locator("#sugg-body .cite-btn")
    expect(citations.first).to_be_visible()
    expect(citations.first).to_contain_text(re.compile(r"v\d+|第\d+版"))
    expect(page.locator("#checklist li[data-step]").first).to_be_visible()

    # A citation opens its passage: document, section, version and the snippet.
    citations.first.click()
    dialog = page.locator("dialog.modal")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#cite-snippet")).not_to_be_empty()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)

    # One-click feedback.
    page.locator('#sugg-body button[data-rating="used"]').click()
    expect(page.locator('#sugg-body button[data-rating="used"]')).to_have_attribute("aria-pressed", "true")

    # The agent says something forbidden: an unmistakable, announced banner with the advice.
    _say(page, "agent", FORBIDDEN_AGENT_LINE)
    banner = page.locator('#alerts .alert-banner[role="alert"]')
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("data-action", re.compile("block|warn"))
    expect(banner.locator(".alert-advice")).not_to_be_empty()
    expect(banner).to_have_attribute("aria-live", "assertive")
    expect(page.locator("#transcript .turn.agent.flagged")).to_contain_text("保本")
    # Everything fits the 380 px column: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PANEL_VIEWPORT["width"]

    # Acknowledged, it folds away; after a reload the call's alert is restored from the server.
    banner.get_by_role("button", name="Got it").click()
    expect(page.locator('#alerts .alert-banner[role="alert"]')).to_have_count(0)
    expect(page.locator("#alerts details.earlier")).to_contain_text("Earlier alerts (1)")
    page.reload()
    expect(page.locator('#alerts .alert-banner[role="alert"]')).to_have_count(1)
    expect(page.locator("#transcript .turn.agent.flagged")).to_contain_text("保本")


def test_demo_replays_a_sample_call_from_kb_docs(page: Any, live_server: LiveServer) -> None:
    """Demo mode replays kb_docs/calls/*.jsonl against the engine: suggestions, alerts, steps done."""
    from playwright.sync_api import expect

    # the mixed-script sample: a forbidden agent line, steps carried out, zh-Hant and English turns
    sample = ROOT / "kb_docs" / "calls" / "en_zh_hant_mortgage_and_card.jsonl"
    samples = [sample]
    name = sample.stem
    _open_panel(page, live_server)
    expect(page.locator(f'#demo-select option[value="{name}"]')).to_have_count(1)
    page.locator("#demo-select").select_option(name)
    page.locator("#demo-play").click()
    expect(page.locator("#sugg-body .cite-btn").first).to_be_visible()
    expect(page.locator("#demo-status")).to_contain_text(re.compile("Replay finished"), timeout=60_000)
    turns = [line for line in samples[0].read_text(encoding="utf-8").splitlines() if line.strip()]
    expect(page.locator("#transcript .turn")).to_have_count(len(turns))
    # The sample calls contain a forbidden agent line, and steps the agent carries out.
    expect(page.locator('#alerts .alert-banner[role="alert"]').first).to_be_visible()
    expect(page.locator("#checklist li.done").first).to_be_visible()
    # Content keeps its own script, tagged so that the right glyphs are used.
    expect(page.locator('#transcript .turn span[lang="zh-Hant"]', has_text="遺失").first).to_be_visible()
    expect(page.locator('#transcript .turn span[lang="en"]', has_text="mortgage").first).to_be_visible()


def test_panel_reconnects_and_picks_the_call_back_up(page: Any, live_server: LiveServer) -> None:
    """A dropped socket reconnects by itself; a reload restores the transcript and suggestion from the server."""
    from playwright.sync_api import expect

    _open_panel(page, live_server)
    _say(page, "customer", CUSTOMER_QUESTION)
    expect(page.locator("#sugg-body .cite-btn").first).to_be_visible()

    page.evaluate("window.assistPanel.dropSocket()")
    # a function, not an expression string: Playwright evals a string, which the page's CSP refuses
    page.wait_for_function("() => window.assistPanel.state.reconnects === 1")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#toasts")).to_contain_text("Reconnected")
    _say(page, "customer", "那补卡要钱吗？")
    expect(page.locator("#transcript .turn.customer")).to_have_count(2)

    page.reload()  # the key and the call id live in sessionStorage
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#transcript .turn.customer")).to_have_count(2)
    expect(page.locator("#sugg-body .cite-btn").first).to_be_visible()


def test_labels_switch_between_english_and_chinese(page: Any, live_server: LiveServer) -> None:
    """The label switch changes the interface, not the content."""
    from playwright.sync_api import expect

    _open_panel(page, live_server)
    expect(page.locator("#sugg-h")).to_have_text("Suggested answer")
    page.locator('[data-lang-choice="zh-Hans"]').click()
    expect(page.locator("#sugg-h")).to_have_text("建议回答")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.locator('[data-lang-choice="zh-Hant"]').click()
    expect(page.locator("#sugg-h")).to_have_text("建議回答")
    page.locator('[data-lang-choice="en"]').click()
    expect(page.locator("#sugg-h")).to_have_text("Suggested answer")


def test_a_wrong_key_is_refused_and_asked_again(page: Any, live_server: LiveServer) -> None:
    """A bad key keeps the dialog open with the reason."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.base_url}/panel")
    page.locator("#key-input").fill("not-a-key")
    page.locator("#key-input").press("Enter")
    expect(page.locator("#key-error")).to_contain_text("refused")
    expect(page.locator("#key-dialog")).to_be_visible()


def test_end_call_shows_the_summary(page: Any, live_server: LiveServer) -> None:
    """Ending the call closes the stream and shows the after-call summary; the next line starts a new call."""
    from playwright.sync_api import expect

    _open_panel(page, live_server)
    _say(page, "customer", CUSTOMER_QUESTION)
    expect(page.locator("#sugg-body .cite-btn").first).to_be_visible()
    first_call = page.locator("#call-id").inner_text()
    page.locator("#end-call").click()
    expect(page.locator("#summary")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("Call ended")
    expect(page.locator("#conn")).to_have_attribute("data-state", "closed")
    expect(page.locator("#end-call")).to_be_disabled()

    _say(page, "customer", "What about the fee?")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#call-id")).not_to_have_text(first_call)
    expect(page.locator("#transcript .turn")).to_have_count(1)


ENDED_SUGGESTION = {
    "id": "s-ended",
    "call_id": "c-ended",
    "turn": 1,
    "query": "前年那个境外刷卡返现 现在还能补吗",
    "answer": "【已结束：有效期至 2024-12-31，非现行规定，勿向客户推介】\n"
    "本活动已于 2024 年 12 月 31 日结束。[1] 不再受理补报名。[2]",
    "citations": [
        {
            "document_id": "d1",
            "title": "2024年返现活动（已结束）",
            "section": "",
            "version": 1,
            "chunk_id": "1",
            "score": 0.5,
            "snippet": "本活动已于 2024 年 12 月 31 日结束",
            "ended": "2024-12-31",
        },
        {
            "document_id": "d1",
            "title": "2024年返现活动（已结束）",
            "section": "咨询口径",
            "version": 1,
            "chunk_id": "2",
            "score": 0.5,
            "snippet": "不再受理补报名",
            "ended": "2024-12-31",
        },
    ],
    "next_steps": [],
    "sentences": [],
    "language": "zh-Hans",
}


def test_an_answer_from_a_document_that_has_ended_shows_its_last_day_and_copies_without_the_notice(
    page: Any, live_server: LiveServer
) -> None:
    """The citation says the document ended and when; what the agent pastes to the customer leaves the notice out."""
    from playwright.sync_api import expect

    _open_panel(page, live_server)
    page.evaluate(
        "s => { window.assistPanel.state.suggestion = s; window.assistPanel.renderSuggestion(); }", ENDED_SUGGESTION
    )
    expect(page.locator("#sugg-answer")).to_contain_text("已结束")
    expect(page.locator("#sugg-body .cite-sec").first).to_contain_text("ended 2024-12-31")
    pasted = page.evaluate("s => window.assistPanel.plainAnswer(s)", ENDED_SUGGESTION)
    assert pasted == "本活动已于 2024 年 12 月 31 日结束。 不再受理补报名。"
    in_force = {
        **ENDED_SUGGESTION,
        "answer": "挂失本身不收取手续费。[1]",
        "citations": [{"title": "Card", "version": 2}],
    }
    assert page.evaluate("s => window.assistPanel.plainAnswer(s)", in_force) == "挂失本身不收取手续费。"
