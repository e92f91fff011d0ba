"""Screenshots of every page into docs/screenshots/, from a real server with kb_docs ingested.

Run: `python -m tests.browser.make_screenshots [--out docs/screenshots] [--embedders minilm,e5]` (needs
/usr/bin/chromium and the playwright package; install fonts-noto-cjk for the Chinese glyphs). The default is
the fast hash embedder; the screenshots in docs/ were taken with the real models (`--embedders minilm,e5`),
which take a few minutes to ingest kb_docs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.browser.server import CHROMIUM, LAUNCH_ARGS, ROOT, LiveServer, browser_missing, running_server

PANEL = {"width": 380, "height": 900}
DESK = {"width": 1280, "height": 860}

CALL = [
    ("customer", "我的信用卡丢了怎么办？"),
    ("agent", "先帮您核实身份，请提供证件后四位。"),
    ("customer", "那补卡要钱吗？"),
    ("agent", "这款理财产品是保本的，您放心买。"),
]
FLAGGED_DOC = """# 稳健理财产品介绍（草稿）

## 产品亮点

本产品保本保息，稳赚不赔，适合追求稳健收益的客户。

## 风险提示

理财非存款、产品有风险、投资须谨慎。
"""


def _key(page: Any, key: str) -> None:
    page.locator("#key-input").fill(key)
    page.locator("#key-input").press("Enter")
    page.locator("#role-badge").wait_for(state="visible")


def _wait(locator: Any, timeout: float = 10_000) -> bool:
    """Wait for `locator` to show; False (and the screenshot is taken anyway) when it does not."""
    try:
        locator.wait_for(state="visible", timeout=timeout)
    except Exception as exc:  # playwright's TimeoutError; the page is photographed as it is
        print(f"warning: {exc}".splitlines()[0], file=sys.stderr)
        return False
    return True


def _say(page: Any, speaker: str, text: str) -> None:
    page.locator(f'#sim-form input[name="speaker"][value="{speaker}"]').check()
    page.locator("#sim-text").fill(text)
    page.locator("#sim-text").press("Enter")


def _seed_events(server: LiveServer) -> None:
    """A few guard events (some reviewed), rated suggestions and a flagged draft, so the pages show data."""
    lines = [
        "您放心，这个基金稳赚不赔。",
        "这只基金下个月肯定涨，现在买正合适。",
        "This fund has guaranteed returns.",
        "我们这款理财保本保收益。",
        "It's risk-free, you can put everything in.",
    ]
    ratings = ["used", "helpful", "used", "wrong", "helpful"]
    with server.api("agent") as client:
        for text, rating in zip(lines, ratings, strict=True):
            call_id = client.post("/v1/calls").json()["call_id"]
            turn = client.post(
                f"/v1/calls/{call_id}/utterances", json={"speaker": "customer", "text": "这个理财产品怎么样？"}
            ).json()
            if turn.get("suggestion"):
                client.post(f"/v1/suggestions/{turn['suggestion']['id']}/feedback", json={"rating": rating})
            client.post(f"/v1/calls/{call_id}/utterances", json={"speaker": "agent", "text": text})
    with server.api("compliance") as client:
        events = client.get("/v1/guard/events", params={"status": "pending"}).json()
        for event, decision in zip(events[-2:], ["false_positive", "confirmed"], strict=False):
            client.post(
                f"/v1/guard/events/{event['id']}/review",
                json={"decision": decision, "note": "reviewed for the screenshots"},
            )
    with server.api("editor") as client:
        client.post(
            "/v1/documents",
            files={"file": ("wealth_draft.md", FLAGGED_DOC.encode("utf-8"), "text/markdown")},
            data={"title": "稳健理财产品介绍（草稿）", "product": "wealth", "language": "zh-Hans"},
        )


def _panel(browser: Any, server: LiveServer, out: Path, lang: str, name: str, sample: str) -> None:
    """The panel after a sample call replayed in demo mode (or a short simulated call without samples)."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PANEL, locale="en-US")
    page = context.new_page()
    page.add_init_script(f"localStorage.setItem('assist.lang', '{lang}')")
    if (ROOT / "kb_docs" / "calls" / f"{sample}.jsonl").exists():
        page.goto(f"{server.base_url}/panel?demo={sample}&pace=150")
        _key(page, server.keys["agent"])
        _wait(page.locator('#demo-status[data-state="done"]'), timeout=120_000)
    else:
        page.goto(f"{server.base_url}/panel")
        _key(page, server.keys["agent"])
        for i, (speaker, text) in enumerate(CALL, start=1):
            _say(page, speaker, text)
            expect(page.locator("#transcript .turn")).to_have_count(i)
    _wait(page.locator(".alert-banner").first)
    _wait(page.locator("#sugg-body .cite-btn").first)
    page.locator("body").click(position={"x": 5, "y": 5})  # no focus ring on the input
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    if page.locator("#sugg-body .cite-btn").count():
        page.locator("#sugg-body .cite-btn").first.click()
        page.locator("dialog.modal").wait_for(state="visible")
        page.screenshot(path=str(out / f"{name}_citation.png"))
    context.close()


def _editor(browser: Any, server: LiveServer, out: Path) -> None:
    context = browser.new_context(viewport=DESK, locale="en-US")
    page = context.new_page()
    page.goto(f"{server.base_url}/editor")
    _key(page, server.keys["editor"])
    page.locator("#docs-body tr[data-id]").first.wait_for(state="visible")
    page.screenshot(path=str(out / "editor.png"))
    page.locator("#status-filter").select_option("needs_review")
    row = page.locator("#docs-body tr[data-id]").first
    if _wait(row):
        row.get_by_role("button", name="Details").first.click()
        page.locator("dialog.modal").wait_for(state="visible")
        page.screenshot(path=str(out / "editor_review.png"))
    context.close()


def _compliance(browser: Any, server: LiveServer, out: Path) -> None:
    context = browser.new_context(viewport=DESK, locale="en-US")
    page = context.new_page()
    page.goto(f"{server.base_url}/compliance")
    _key(page, server.keys["compliance"])
    _wait(page.locator("article.event").first)
    page.screenshot(path=str(out / "compliance.png"))

    page.locator("#tab-rules").click()
    if _wait(page.locator("#rules-body tr[data-rule-id]").first):
        page.locator("#rules-body tr[data-rule-id] button").first.click()
        page.locator("#rule-test").click()
        _wait(page.locator("#test-result h3"))
    page.screenshot(path=str(out / "compliance_rules.png"))

    page.locator("#tab-figures").click()
    _wait(page.locator("#figures .bar-row").first)
    page.screenshot(path=str(out / "compliance_figures.png"))
    context.close()


def _ended_call(server: LiveServer, turns: list[tuple[str, str]]) -> str:
    with server.api("agent") as client:
        call_id = str(client.post("/v1/calls").json()["call_id"])
        for speaker, text in turns:
            client.post(f"/v1/calls/{call_id}/utterances", json={"speaker": speaker, "text": text})
        client.post(f"/v1/calls/{call_id}/end")
        client.get(f"/v1/calls/{call_id}/scorecard")
    return call_id


def _aftercall(browser: Any, server: LiveServer, out: Path) -> None:
    """The panel's ticket form mid-call, the compliance page's QA part, the editor's gaps tab (issue #19)."""
    context = browser.new_context(viewport=PANEL, locale="en-US")
    page = context.new_page()
    page.goto(f"{server.base_url}/panel")
    _key(page, server.keys["agent"])
    _say(page, "customer", "我的信用卡有一笔不认识的交易，我要争议这笔交易")
    _wait(page.locator("#ticket-form"))
    _say(page, "customer", "昨天下午在京东扣了三百块")
    _wait(page.locator('.ticket-field[data-field="amount"] button.turn-link'))
    page.locator("#ticket").scroll_into_view_if_needed()
    page.screenshot(path=str(out / "panel_ticket.png"), full_page=True)
    context.close()

    _ended_call(
        server,
        [("agent", "您好，海港银行，请问有什么可以帮您？"), ("customer", "你们的理财产品收益怎么样？"),
         ("agent", "理财非存款、产品有风险、投资须谨慎。"), ("agent", "请问还有其他可以帮您的吗？再见。")],
    )  # fmt: skip
    bad = _ended_call(
        server,
        [("agent", "Hello."), ("customer", "Is the fund a good investment?"),
         ("agent", "这款理财产品是保本的，您放心买。"), ("customer", "ok")],
    )  # fmt: skip
    context = browser.new_context(viewport=DESK, locale="en-US")
    page = context.new_page()
    page.goto(f"{server.base_url}/compliance#qa")
    _key(page, server.keys["compliance"])
    if _wait(page.locator(f'#qa-cards tr[data-call-id="{bad}"] button')):
        page.locator("#qa-group").select_option("team")  # scores and first-contact resolution per team
        _wait(page.locator("#qa-summary tbody tr", has_text="Cards North"))
        page.locator(f'#qa-cards tr[data-call-id="{bad}"] button').click()
        _wait(page.locator("#qa-criteria"))
    page.screenshot(path=str(out / "compliance_qa.png"), full_page=True)
    context.close()

    with server.api("agent") as client:
        call_id = client.post("/v1/calls").json()["call_id"]
        for q in ("How do I open a gold savings account for my pet?", "Can my dog have a gold savings account?"):
            r = client.post(f"/v1/calls/{call_id}/utterances", json={"speaker": "customer", "text": q}).json()
            if r.get("suggestion"):
                client.post(f"/v1/suggestions/{r['suggestion']['id']}/feedback", json={"rating": "wrong"})
    context = browser.new_context(viewport=DESK, locale="en-US")
    page = context.new_page()
    page.goto(f"{server.base_url}/editor#gaps")
    _key(page, server.keys["editor"])
    _wait(page.locator("article.gap").first)
    page.screenshot(path=str(out / "editor_gaps.png"))
    context.close()


def main(argv: list[str] | None = None) -> int:
    """Start a server, drive each page and write the PNGs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--embedders", default="hash", help="ASSIST_EMBEDDERS for the server (default: hash)")
    parser.add_argument("--only", default="panel,editor,compliance,aftercall", help="which pages (comma-separated)")
    args = parser.parse_args(argv)
    missing = browser_missing()
    if missing:
        print(f"cannot take screenshots: {missing}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp) / "data", embedders=args.embedders, startup_s=600) as server,
    ):
        only = set(args.only.split(","))
        _seed_events(server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            try:
                if "panel" in only:
                    _panel(browser, server, args.out, "en", "panel", "zh_card_loss_and_wealth")
                    _panel(browser, server, args.out, "zh-Hans", "panel_zh", "en_zh_hant_mortgage_and_card")
                if "editor" in only:
                    _editor(browser, server, args.out)
                if "compliance" in only:
                    _compliance(browser, server, args.out)
                if "aftercall" in only:
                    _aftercall(browser, server, args.out)
            finally:
                browser.close()
    for png in sorted(args.out.glob("*.png")):
        print(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
