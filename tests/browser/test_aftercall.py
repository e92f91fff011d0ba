"""After the call, in a real browser (issue #19): the panel's live ticket form, the compliance page's QA part,
and the editor page's gaps tab."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import PANEL_VIEWPORT, enter_key
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser

DISPUTE_NEED = "我的信用卡有一笔不认识的交易，我要争议这笔交易"
DISPUTE_FACTS = "昨天下午在京东扣了三百块，卡尾号1234"


def _say(page: Any, speaker: str, text: str) -> None:
    page.locator(f'#sim-form input[name="speaker"][value="{speaker}"]').check()
    page.locator("#sim-text").fill(text)
    page.locator("#sim-text").press("Enter")


def _ended_call(server: LiveServer, turns: list[tuple[str, str]]) -> str:
    with server.api("agent") as client:
        call_id = str(client.post("/v1/calls").json()["call_id"])
        for speaker, text in turns:
            r = client.post(f"/v1/calls/{call_id}/utterances", json={"speaker": speaker, "text": text})
            assert r.status_code == 200, r.text
        assert client.post(f"/v1/calls/{call_id}/end").status_code == 200
        assert client.get(f"/v1/calls/{call_id}/scorecard").status_code == 200
    return call_id


def test_the_panel_fills_the_ticket_form_as_the_customer_speaks(page: Any, live_server: LiveServer) -> None:
    """The draft appears when the call calls for a ticket, values show their turn, missing fields are
    highlighted until said or typed, labels are in the call's script, and the agent submits it."""
    from playwright.sync_api import expect

    page.set_viewport_size(PANEL_VIEWPORT)
    page.goto(f"{live_server.base_url}/panel")
    enter_key(page, live_server.keys["agent"])
    expect(page.locator("#ticket")).to_be_hidden()

    _say(page, "customer", DISPUTE_NEED)
    form = page.locator("#ticket-form")
    expect(form).to_be_visible()
    expect(form).to_have_attribute("data-template", "card_dispute")
    amount = form.locator('.ticket-field[data-field="amount"]')
    expect(amount).to_have_class(re.compile(r"\bmissing\b"))
    expect(amount.locator("label")).to_contain_text("金额")  # the call's script, though the page is in English
    expect(amount.locator("input")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#ticket-missing")).not_to_have_attribute("data-missing", "0")

    _say(page, "customer", DISPUTE_FACTS)
    expect(amount.locator("input")).to_have_value("300")
    expect(amount).not_to_have_class(re.compile(r"\bmissing\b"))
    expect(amount.locator("button.turn-link")).to_have_attribute("data-turn", "2")
    expect(form.locator('.ticket-field[data-field="card_last4"] input')).to_have_value("1234")
    expect(form.locator('.ticket-field[data-field="merchant"] input')).to_have_value("京东")
    amount.locator("button.turn-link").click()
    expect(page.locator('#transcript li[data-turn="2"]')).to_have_class(re.compile(r"\bsource\b"))

    # The agent clears a value (it turns missing) and types it back; then submits.
    card = form.locator('.ticket-field[data-field="card_last4"]')
    card.locator("input").fill("")
    expect(card).to_have_class(re.compile(r"\bmissing\b"))
    card.locator("input").fill("5678")
    expect(card).not_to_have_class(re.compile(r"\bmissing\b"))
    expect(page.locator("#ticket-missing")).to_have_attribute("data-missing", "0")
    page.locator("#ticket-submit").click()
    expect(page.locator("#ticket-status")).to_contain_text("已提交")  # in the call's script

    call_id = page.evaluate("window.assistPanel.state.callId")
    with live_server.api("agent") as client:
        tickets = client.get("/v1/tickets", params={"call_id": call_id}).json()
    assert len(tickets) == 1 and tickets[0]["template"] == "card_dispute"
    assert tickets[0]["fields"]["card_last4"] == "5678" and tickets[0]["fields"]["amount"] == "300"


def test_a_refused_ticket_says_which_fields_are_missing(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(PANEL_VIEWPORT)
    page.goto(f"{live_server.base_url}/panel")
    enter_key(page, live_server.keys["agent"])
    _say(page, "customer", DISPUTE_NEED)
    expect(page.locator("#ticket-form")).to_be_visible()
    page.locator("#ticket-submit").click()
    expect(page.locator("#ticket-error")).to_contain_text("missing required fields")
    expect(page.locator("#ticket-form")).to_be_visible()  # nothing lost: the agent fills and submits again


def test_compliance_sees_scores_worst_first_and_overrides_a_criterion_beside_the_transcript(
    page: Any, live_server: LiveServer
) -> None:
    from playwright.sync_api import expect

    bad = _ended_call(
        live_server,
        [
            ("agent", "Hello, Harbor Bank."),
            ("customer", "Is the fund a good investment?"),
            ("agent", "这款理财产品是保本的，您放心买。"),
            ("customer", "ok"),
        ],
    )
    page.goto(f"{live_server.base_url}/compliance#qa")
    enter_key(page, live_server.keys["compliance"])
    expect(page.locator("#tab-qa")).to_have_attribute("aria-selected", "true")
    rows = page.locator("#qa-cards tr[data-call-id]")
    expect(rows.first).to_be_visible()
    scores = [float(x) for x in page.locator("#qa-cards tr[data-call-id] .score").all_inner_texts()]
    assert scores == sorted(scores), f"not worst first: {scores}"
    expect(page.locator("#qa-summary table").first).to_be_visible()
    expect(page.locator("#qa-agreement")).to_be_visible()

    page.locator(f'#qa-cards tr[data-call-id="{bad}"] button').click()
    crit = page.locator('#qa-criteria li[data-criterion="forbidden_claim_corrected"]')
    expect(crit.locator(".verdict")).to_have_text("failed")
    expect(page.locator("#qa-transcript li")).to_have_count(4)
    expect(page.locator("#qa-transcript")).to_contain_text("保本")
    crit.locator("button.turn-link").first.click()
    expect(page.locator("#qa-transcript li.source").first).to_be_visible()

    # An override needs a note; with one it is saved and shown.
    crit.locator("select").select_option("true")
    crit.get_by_role("button", name="Override").click()
    expect(page.locator("#toasts")).to_contain_text("needs a note")
    crit.get_by_label("Note").fill("Training call: the claim was read from the script of what not to say.")
    crit.get_by_role("button", name="Override").click()
    crit = page.locator('#qa-criteria li[data-criterion="forbidden_claim_corrected"]')
    expect(crit.locator(".verdict")).to_have_text("passed")
    expect(crit.locator(".badge.overridden")).to_contain_text("automatic: failed")
    with live_server.api("compliance") as client:
        card = client.get(f"/v1/calls/{bad}/scorecard").json()
    verdict = next(c for c in card["criteria"] if c["id"] == "forbidden_claim_corrected")
    assert verdict["passed"] is True and verdict["auto_passed"] is False


def test_the_quality_tab_groups_scores_by_team(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    from tests.browser.server import AGENT_TEAM

    call_id = _ended_call(live_server, [("agent", "Hello, Harbor Bank."), ("customer", "My card is lost.")])
    page.goto(f"{live_server.base_url}/compliance#qa")
    enter_key(page, live_server.keys["compliance"])
    row = page.locator(f'#qa-cards tr[data-call-id="{call_id}"]')
    expect(row).to_contain_text(AGENT_TEAM)  # the team the agent's key is in, beside the agent
    expect(page.locator('#panel-qa th[data-i18n="qa.team"]')).to_have_text("Team")
    page.locator("#qa-group").select_option("team")
    scores = page.locator("#qa-summary table").first
    expect(scores.locator("th").first).to_have_text("team")
    expect(scores.locator("tbody tr", has_text=AGENT_TEAM)).to_have_count(1)


def test_the_editor_gaps_tab_lists_questions_to_answer_and_links_to_upload(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    question = "How do I open a gold savings account for my pet?"
    with live_server.api("agent") as client:
        call_id = client.post("/v1/calls").json()["call_id"]
        result = client.post(f"/v1/calls/{call_id}/utterances", json={"speaker": "customer", "text": question}).json()
        suggestion = result.get("suggestion")
        if suggestion:  # an answer came: the agent marks it wrong, which makes it a gap as well
            r = client.post(f"/v1/suggestions/{suggestion['id']}/feedback", json={"rating": "wrong"})
            assert r.status_code in (200, 201), r.text
    page.goto(f"{live_server.base_url}/editor")
    enter_key(page, live_server.keys["editor"])
    expect(page.locator("#upload-section")).to_be_visible()
    page.get_by_role("tab", name="Gaps").click()
    expect(page.locator("#epanel-gaps")).to_be_visible()
    expect(page.locator("#upload-section")).to_be_hidden()
    group = page.locator("article.gap", has_text=question)
    expect(group).to_be_visible()
    expect(group.locator("h3")).to_contain_text("similar question")
    group.get_by_role("link", name="Upload a document that answers it").click()
    expect(page.locator("#upload-section")).to_be_visible()
    expect(page.locator("#f-title")).to_have_value(question)
