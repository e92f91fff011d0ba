"""Accessibility checks in a real browser: text contrast, keyboard use, visible focus, labelled controls."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PANEL_VIEWPORT, enter_key
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser

# WCAG 2.1 contrast of every visible text node against the first opaque background behind it:
# 4.5:1 for normal text, 3:1 for large text (24 px, or 18.66 px bold). Disabled controls are exempt.
CONTRAST_JS = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(",").map((x) => parseFloat(x));
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const blend = (fg, bg) => ({
    r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a), b: fg.b * fg.a + bg.b * (1 - fg.a), a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (const c of layers.reverse()) bg = blend(c, bg);
    return bg;
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el) continue;
    if (el.closest("[disabled], .visually-hidden, [hidden], dialog:not([open])")) continue;
    if (el.closest("option, select")) continue;
    const rect = el.getBoundingClientRect();
    if (!rect.width || !rect.height || getComputedStyle(el).visibility === "hidden") continue;
    const st = getComputedStyle(el);
    const bg = background(el);
    const fg = blend(parse(st.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(st.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${ratio.toFixed(2)} ${el.tagName}.${el.className}: ${n.textContent.trim().slice(0, 40)}`);
    }
  }
  return failures;
}
"""


def _assert_contrast(page: Any) -> None:
    failures = page.evaluate(CONTRAST_JS)
    assert not failures, "text below the WCAG AA contrast:\n" + "\n".join(failures)


def test_panel_contrast_keyboard_and_focus(page: Any, live_server: LiveServer) -> None:
    """The panel, with a suggestion and an alert on it, is readable and usable with the keyboard alone."""
    from playwright.sync_api import expect

    page.set_viewport_size(PANEL_VIEWPORT)
    page.goto(f"{live_server.base_url}/panel")
    enter_key(page, live_server.keys["agent"])

    # Keyboard only: focus the utterance box, type, Enter; then switch to the agent with the arrow keys.
    page.locator("#sim-text").focus()
    page.keyboard.type("我的信用卡丢了怎么办")
    page.keyboard.press("Enter")
    expect(page.locator("#sugg-body .cite-btn").first).to_be_visible()
    page.locator('#sim-form input[value="customer"]').focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator('#sim-form input[value="agent"]')).to_be_checked()
    page.locator("#sim-text").focus()
    page.keyboard.type("这款理财产品是保本的，您放心买。")
    page.keyboard.press("Enter")
    expect(page.locator('#alerts [role="alert"]').first).to_be_visible()

    # Tab reaches the feedback buttons; Space presses one; the focus ring is visible.
    used = page.locator('#sugg-body button[data-rating="used"]')
    for _ in range(40):
        page.keyboard.press("Tab")
        if used.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the 'Used' feedback button")
    outline = used.evaluate("el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
    page.keyboard.press("Space")
    expect(used).to_have_attribute("aria-pressed", "true")
    expect(used).to_be_focused()

    # A citation opens in a dialog that Escape closes, giving the focus back.
    cite = page.locator("#sugg-body .cite-btn").first
    cite.focus()
    page.keyboard.press("Enter")
    expect(page.locator("dialog.modal")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog.modal")).to_have_count(0)
    expect(cite).to_be_focused()

    page.locator("body").click(position={"x": 2, "y": 2})
    _assert_contrast(page)


def test_desk_pages_contrast_and_labels(page: Any, live_server: LiveServer) -> None:
    """The editor and compliance pages pass the contrast check; every form control has a label."""
    pages = [("/editor", "editor", "#docs-body tr[data-id]"), ("/compliance", "compliance", "#queue")]
    for path, role, ready in pages:
        page.goto(f"{live_server.base_url}{path}")
        enter_key(page, live_server.keys[role])
        page.locator(ready).first.wait_for(state="visible")
        _assert_contrast(page)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll("input, select, textarea")]
                 .filter((el) => el.type !== "hidden" && !el.closest("dialog:not([open])"))
                 .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
                 .map((el) => el.id || el.name || el.outerHTML.slice(0, 60))"""
        )
        assert not unlabelled, f"{path}: controls without a label: {unlabelled}"
        page.evaluate("sessionStorage.clear()")
