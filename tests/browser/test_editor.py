"""The knowledge editor's page in a real browser: drag-and-drop upload with metadata, the list, retirement."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.browser.conftest import enter_key
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser

DROP_FILE_JS = """
([name, text]) => {
  const dt = new DataTransfer();
  dt.items.add(new File([text], name, { type: "text/markdown" }));
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }
}
"""


def _open_editor(page: Any, server: LiveServer, role: str = "editor") -> None:
    page.goto(f"{server.base_url}/editor")
    enter_key(page, server.keys[role])


def _doc_text(title: str) -> str:
    return (
        f"# {title}\n\n"
        "## Who can claim\n\n"
        "A policyholder can claim for a cancelled trip within 30 days of the cancellation, "
        "with the booking receipt and the airline's notice.\n\n"
        "## How long it takes\n\n"
        "Claims are settled within 10 working days once the documents are complete.\n"
    )


def test_editor_uploads_a_document_and_finds_it(page: Any, live_server: LiveServer) -> None:
    """Drop a file, fill the metadata, upload: the document is listed with version, status and dates."""
    from playwright.sync_api import expect

    title = f"Travel insurance claims {uuid.uuid4().hex[:6]}"
    _open_editor(page, live_server)
    expect(page.locator("#docs-body tr[data-id]").first).to_be_visible()  # kb_docs is listed

    page.evaluate(DROP_FILE_JS, ["travel_claims.md", _doc_text(title)])
    expect(page.locator("#file-name")).to_contain_text("travel_claims.md")
    page.locator("#f-title").fill(title)
    page.locator("#f-product").fill("travel insurance")
    page.locator("#f-language").select_option("en")
    page.locator("#f-from").fill("2026-01-01")
    page.locator("#f-to").fill("2027-12-31")
    page.locator("#upload-btn").click()

    expect(page.locator("#upload-result")).to_contain_text(re.compile(r"Uploaded .*version 1"))
    page.locator("#doc-filter").fill(title)
    row = page.locator("#docs-body tr[data-id]", has_text=title)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("published")
    expect(row).to_contain_text("2026-01-01 → 2027-12-31")
    expect(row).to_contain_text("travel insurance")

    # Its detail shows the versions.
    row.get_by_role("button", name=re.compile("^Details")).click()
    dialog = page.locator("dialog.modal")
    expect(dialog).to_contain_text(title)
    expect(dialog.locator("table")).to_contain_text("v1")
    dialog.get_by_role("button", name="Close").click()

    # Retire it: the list shows it retired.
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name=re.compile("^Retire")).click()
    expect(page.locator("#docs-body tr[data-id]", has_text=title)).to_contain_text("retired")

    with live_server.api("editor") as client:
        docs = client.get("/v1/documents").json()
    mine = [d for d in docs if d["title"] == title]
    assert mine and mine[0]["status"] == "retired" and mine[0]["product"] == "travel insurance"


def test_a_compliance_key_sees_the_documents_but_cannot_upload(page: Any, live_server: LiveServer) -> None:
    """Each page shows only what the key's role allows."""
    from playwright.sync_api import expect

    _open_editor(page, live_server, role="compliance")
    expect(page.locator("#docs-body tr[data-id]").first).to_be_visible()
    expect(page.locator("#upload-section")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("^Retire"))).to_have_count(0)
    expect(page.get_by_role("link", name="Compliance")).to_be_visible()
    expect(page.get_by_role("link", name="Side panel")).to_be_hidden()  # not for this role


def test_an_agent_key_is_told_it_may_not_edit(page: Any, live_server: LiveServer) -> None:
    """An agent's key gets a plain message instead of the editor."""
    from playwright.sync_api import expect

    _open_editor(page, live_server, role="agent")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#forbidden")).to_contain_text("agent")


def test_a_refused_upload_says_why(page: Any, live_server: LiveServer) -> None:
    """A file of a type no loader handles is refused with the server's reason, and nothing is listed."""
    from playwright.sync_api import expect

    _open_editor(page, live_server)
    page.evaluate(DROP_FILE_JS, ["notes.xyz", "just some bytes"])
    page.locator("#upload-btn").click()
    expect(page.locator("#upload-error")).to_contain_text("Error")
    expect(page.locator("#upload-error")).to_contain_text("notes.xyz")
    expect(page.locator("#docs-body tr[data-id]", has_text="notes.xyz")).to_have_count(0)


def test_a_flagged_document_shows_why_and_compliance_approves_it(page: Any, live_server: LiveServer) -> None:
    """A draft the guard flags waits in review with its flags; compliance approves it from its details."""
    from playwright.sync_api import expect

    title = f"稳健理财推介（草稿）{uuid.uuid4().hex[:6]}"
    text = f"# {title}\n\n## 卖点\n\n本产品保本保息，稳赚不赔。\n"
    with live_server.api("editor") as client:
        res = client.post(
            "/v1/documents",
            files={"file": (f"{title}.md", text.encode("utf-8"), "text/markdown")},
            data={"title": title, "product": "wealth", "language": "zh-Hans"},
        )
    assert res.status_code == 201 and res.json()["status"] == "needs_review", res.text

    _open_editor(page, live_server, role="compliance")
    page.locator("#status-filter").select_option("needs_review")
    row = page.locator("#docs-body tr[data-id]", has_text=title)
    expect(row).to_contain_text("needs review")
    why = row.locator("xpath=following-sibling::tr[1]")
    expect(why).to_contain_text("Why it waits in review")
    expect(why.locator("mark").first).to_be_visible()

    row.get_by_role("button", name=re.compile("^Details")).click()
    dialog = page.locator("dialog.modal")
    expect(dialog).to_contain_text("Why it waits in review")
    dialog.get_by_label("Note").fill("Checked with the product team: approved wording.")
    dialog.get_by_role("button", name="Approve and publish").click()
    expect(dialog).to_have_count(0)
    page.locator("#status-filter").select_option("")
    page.locator("#doc-filter").fill(title)
    expect(page.locator("#docs-body tr[data-id]", has_text=title)).to_contain_text("published")


def test_a_large_upload_is_ingested_in_the_background(page: Any, live_server: LiveServer) -> None:
    """Over the background threshold the server answers 202 with a job; the page polls it to the end."""
    from playwright.sync_api import expect

    title = f"Branch operations handbook {uuid.uuid4().hex[:6]}"
    # An HTML page made large by its style sheet, which the loader drops: big upload, quick ingest.
    style = "".join(f".rule-{i} {{ margin: {i % 40}px; padding: {i % 17}px; color: #333; }}\n" for i in range(22000))
    text = (
        f"<html><head><title>{title}</title><style>{style}</style></head><body><h1>{title}</h1>"
        "<h2>Closing the branch</h2><p>Staff check the cash drawer against the ledger and report any "
        "difference of more than 100 dollars to the branch manager before closing.</p></body></html>"
    )
    assert len(text.encode("utf-8")) > 1_000_000
    _open_editor(page, live_server)
    page.evaluate(DROP_FILE_JS, ["branch_handbook.html", text])
    page.locator("#f-title").fill(title)
    page.locator("#upload-btn").click()
    expect(page.locator("#upload-result")).to_contain_text(re.compile(r"Uploaded .*version 1"), timeout=60_000)
    page.locator("#doc-filter").fill(title)
    expect(page.locator("#docs-body tr[data-id]", has_text=title)).to_contain_text("published")
