"""The pages under their Content-Security-Policy in a real browser, Swagger UI served locally, and the
WebSocket Origin check against the real server (uvicorn answers a refused handshake with HTTP 403).

The `page` fixture fails any test whose page the policy refused something on, so the panel, editor and
compliance tests prove that the pages (and the panel's WebSocket, the editor's upload) work under it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from assist.calls.messages import PongMessage
from assist.client import ApiError, AssistClient
from tests.browser.conftest import enter_key
from tests.browser.server import LiveServer


def _ping(server: LiveServer, origin: str | None) -> PongMessage:
    # the sync client: Playwright's sync API keeps an event loop running on this thread
    with AssistClient(server.base_url, server.keys["agent"], timeout=10) as api:
        call_id = api.create_call()
        with api.stream(call_id, origin=origin) as stream:
            return stream.ping(timeout=10)


def test_a_foreign_origin_websocket_handshake_gets_403(live_server: LiveServer) -> None:
    with pytest.raises(ApiError) as refused:
        _ping(live_server, "http://evil.example")
    assert refused.value.status_code == 403 and refused.value.close_code is None  # refused at the handshake


@pytest.mark.parametrize("origin", ["same", None], ids=["same-origin page", "no Origin (CLI, ASR connector)"])
def test_a_same_origin_or_originless_websocket_is_served(live_server: LiveServer, origin: str | None) -> None:
    pong = _ping(live_server, live_server.base_url if origin == "same" else None)
    assert isinstance(pong, PongMessage)


@pytest.mark.parametrize("path", ["/panel", "/editor", "/compliance", "/docs", "/v1/guard/check"])
def test_responses_carry_the_security_headers(live_server: LiveServer, path: str) -> None:
    r = httpx.get(f"{live_server.base_url}{path}")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_swagger_ui_runs_from_local_files_under_the_policy(page: Any, live_server: LiveServer) -> None:
    """/docs lists the operations with an Authorize button, fetching nothing from another host."""
    from playwright.sync_api import expect

    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlsplit(req.url).netloc) if req.url.startswith("http") else None)
    page.goto(f"{live_server.base_url}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/v1/calls/{call_id}/utterances").first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert hosts == {urlsplit(live_server.base_url).netloc}


def test_the_panel_streams_under_the_policy(page: Any, live_server: LiveServer) -> None:
    """The panel's own WebSocket (same origin) connects under connect-src and the Origin check."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.base_url}/panel")
    enter_key(page, live_server.keys["agent"])
    page.locator("#sim-text").fill("我的信用卡丢了怎么办")
    page.locator("#sim-text").press("Enter")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
