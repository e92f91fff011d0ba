"""The compliance page in a real browser: the review queue, rules with a test run, and the figures."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import enter_key
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser


def _make_event(server: LiveServer, text: str) -> int:
    """An agent line the guard blocks, sent on a real call: it enters the review queue."""
    with server.api("agent") as client:
        call_id = client.post("/v1/calls").json()["call_id"]
        client.post(f"/v1/calls/{call_id}/utterances", json={"speaker": "customer", "text": "这个理财产品怎么样？"})
        result = client.post(f"/v1/calls/{call_id}/utterances", json={"speaker": "agent", "text": text}).json()
    assert result["alerts"], f"the guard did not flag {text!r}: {result}"
    with server.api("compliance") as client:
        events = client.get("/v1/guard/events", params={"status": "pending", "call_id": call_id}).json()
    assert events, "the alert did not enter the review queue"
    return int(events[0]["id"])


def _open(page: Any, server: LiveServer, fragment: str = "") -> None:
    page.goto(f"{server.base_url}/compliance{fragment}")
    enter_key(page, server.keys["compliance"])


def test_compliance_reviews_an_event_as_a_false_positive(page: Any, live_server: LiveServer) -> None:
    """The queue shows the event with its context; a reviewer marks it a false positive with a note."""
    from playwright.sync_api import expect

    event_id = _make_event(live_server, "您放心，这个基金稳赚不赔。")
    _open(page, live_server)
    card = page.locator(f'article.event[data-event-id="{event_id}"]')
    expect(card).to_be_visible()
    expect(card.locator(".quote")).to_contain_text("稳赚不赔")
    expect(card.locator(".quote mark").first).to_be_visible()
    expect(card.locator(".ctx")).to_contain_text("这个理财产品怎么样")

    card.get_by_label("Note").fill("Quoting the customer's words back; not a claim.")
    card.get_by_role("button", name="False positive").click()
    expect(card).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text(f"Event {event_id} marked false positive")

    with live_server.api("compliance") as client:
        event = client.get(f"/v1/guard/events/{event_id}").json()
    assert event["status"] == "false_positive"
    assert event["review_note"] == "Quoting the customer's words back; not a claim."


def test_a_false_positive_can_add_an_exception_to_the_rule(page: Any, live_server: LiveServer) -> None:
    """One step: mark false positive and add the matched phrase as an exception; the rule gets a version."""
    from playwright.sync_api import expect

    event_id = _make_event(live_server, "这只基金下个月肯定涨，现在买正合适。")
    with live_server.api("compliance") as client:
        rule_id = client.get(f"/v1/guard/events/{event_id}").json()["rule_ids"][0]
        before = client.get(f"/v1/rules/{rule_id}").json()["current"]["version"]
    _open(page, live_server)
    card = page.locator(f'article.event[data-event-id="{event_id}"]')
    card.get_by_label("Add the matched phrase as an exception to the rule").check()
    phrase = card.get_by_label("Exception phrase")
    expect(phrase).to_be_enabled()
    phrase.fill("下个月肯定涨，现在买正合适")
    card.get_by_role("button", name="False positive").click()
    expect(card).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text(f"{rule_id} → v{before + 1}")


def test_compliance_edits_a_rule_after_a_test_run(page: Any, live_server: LiveServer) -> None:
    """A draft is tested before it can be published; publishing makes a new version."""
    from playwright.sync_api import expect

    _open(page, live_server, "#rules")
    first = page.locator("#rules-body tr[data-rule-id]").first
    expect(first).to_be_visible()
    rule_id = first.get_attribute("data-rule-id")
    first.get_by_role("button", name=re.compile("^Open")).click()
    expect(page.locator("#rule-f-phrases")).to_be_visible()
    version = int(re.search(r"v(\d+)", page.locator("#rule-editor h2").inner_text()).group(1))

    # Edit with the form: one more phrase and a description. The JSON follows.
    phrases = page.get_by_label("Phrases (one per line)")
    phrases.fill(phrases.input_value() + "\n包赚不赔")
    page.get_by_label("Description").fill("tightened after review")
    draft = json.loads(page.locator("#rule-draft").input_value())
    assert "包赚不赔" in draft["phrases"] and draft["description"] == "tightened after review"

    publish = page.locator("#rule-publish")
    expect(publish).to_be_disabled()  # not before a test run
    page.locator("#rule-test").click()
    expect(page.locator("#test-result")).to_contain_text("Would newly block")
    expect(publish).to_be_enabled()
    page.get_by_label("Description").fill("tightened after review, again")
    expect(publish).to_be_disabled()  # a changed draft needs a new test run
    page.locator("#rule-test").click()
    expect(publish).to_be_enabled()
    publish.click()
    expect(page.locator("#rule-editor h2")).to_contain_text(f"v{version + 1}")

    with live_server.api("compliance") as client:
        detail = client.get(f"/v1/rules/{rule_id}").json()
    assert detail["current"]["version"] == version + 1
    assert detail["current"]["body"]["description"] == "tightened after review, again"
    assert "包赚不赔" in detail["current"]["body"]["phrases"]


def test_compliance_figures(page: Any, live_server: LiveServer) -> None:
    """False-positive rate per rule, alerts per day and suggestion acceptance are drawn."""
    from playwright.sync_api import expect

    _make_event(live_server, "这个产品完全没有风险，您可以全部投进去。")
    _open(page, live_server, "#figures")
    figures = page.locator("#figures")
    expect(figures.get_by_role("heading", name="False-positive rate per rule")).to_be_visible()
    expect(figures.get_by_role("heading", name="Alerts per day")).to_be_visible()
    expect(figures.get_by_role("heading", name="Suggestion acceptance")).to_be_visible()
    expect(figures.locator(".columns .col").first).to_be_visible()
    expect(figures.locator(".bar-row").first).to_be_visible()
    expect(figures.locator(".fp-table tr[data-rule-id]").first).to_be_visible()


def test_queue_filters_and_csv_export(page: Any, live_server: LiveServer) -> None:
    """The queue filters by rule; the events export as CSV, fetched with the key."""
    from playwright.sync_api import expect

    event_id = _make_event(live_server, "您放心，这个基金稳赚不赔。")
    with live_server.api("compliance") as client:
        rule_id = client.get(f"/v1/guard/events/{event_id}").json()["rule_ids"][0]
    _open(page, live_server)
    expect(page.locator(f'article.event[data-event-id="{event_id}"]')).to_be_visible()
    expect(page.locator(f'#qf-rule option[value="{rule_id}"]')).to_have_count(1)
    page.locator("#qf-rule").select_option(rule_id)
    cards = page.locator("article.event")
    expect(cards.first).to_be_visible()
    for i in range(cards.count()):
        expect(cards.nth(i).locator("h3")).to_contain_text(rule_id)

    with page.expect_download() as info:
        page.locator("#export-csv").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    assert "稳赚不赔" in Path(download.path()).read_text(encoding="utf-8")
