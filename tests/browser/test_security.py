"""The pages under their Content-Security-Policy in a real browser, Swagger UI served locally, and the
WebSocket Origin check against the real server (uvicorn answers a refused handshake with HTTP 403).

The `page` fixture fails any test whose page the policy refused something on, so the panel, editor and
compliance tests prove that the pages (and the panel's WebSocket, the editor's upload) work under it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.browser.conftest import enter_key
from tests.browser.server import LiveServer


def _ws_url(server: LiveServer, call_id: str, key: str) -> str:
    return f"{server.base_url.replace('http://', 'ws://')}/v1/calls/{call_id}/stream?token={key}"


def _start_call(server: LiveServer) -> str:
    with server.api("agent") as api:
        r = api.post("/v1/calls")
        assert r.status_code == 201, r.text
        return str(r.json()["call_id"])


def _ping(url: str, origin: str | None) -> dict[str, Any]:
    # the sync client: Playwright's sync API keeps an event loop running on this thread
    kwargs: dict[str, Any] = {"origin": origin} if origin else {}
    with connect(url, open_timeout=10, **kwargs) as ws:
        ws.send('{"type": "ping"}')
        return dict(json.loads(ws.recv(timeout=10)))


def test_a_foreign_origin_websocket_handshake_gets_403(live_server: LiveServer) -> None:
    url = _ws_url(live_server, _start_call(live_server), live_server.keys["agent"])
    with pytest.raises(InvalidStatus) as refused:
        _ping(url, "http://evil.example")
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", ["same", None], ids=["same-origin page", "no Origin (CLI, ASR connector)"])
def test_a_same_origin_or_originless_websocket_is_served(live_server: LiveServer, origin: str | None) -> None:
    url = _ws_url(live_server, _start_call(live_server), live_server.keys["agent"])
    assert _ping(url, live_server.base_url if origin == "same" else None) == {"type": "pong"}


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
