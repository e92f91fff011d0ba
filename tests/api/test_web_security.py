"""Browser hardening (assist/security/web.py): security headers on every response, the WebSocket Origin check at the
handshake, streamed bodies left unbuffered, and strict query parameters on /v1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect

from assist.config import Settings
from assist.security.web import CLOSE_FOREIGN_ORIGIN, SecurityHeaders


def stream_url(call_id: str, key: str) -> str:
    return f"/v1/calls/{call_id}/stream?token={key}"


@pytest.mark.parametrize("path", ["/", "/panel", "/editor", "/compliance", "/docs", "/healthz", "/v1/guard/check"])
def test_every_response_carries_the_browser_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    csp = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"  # no 'unsafe-inline' anywhere
    assert csp["connect-src"] == "'self' ws://testserver wss://testserver"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'" and csp["object-src"] == "'none'"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in r.headers["permissions-policy"] and "microphone=()" in r.headers["permissions-policy"]
    assert "strict-transport-security" not in r.headers  # only when the deployment says it is behind TLS


def test_api_responses_are_not_stored_but_pages_may_revalidate(client: TestClient, agent: dict[str, str]) -> None:
    assert client.post("/v1/calls", headers=agent).headers["cache-control"] == "no-store"
    assert client.get("/v1/calls/nope").headers["cache-control"] == "no-store"  # errors too (401 here)
    assert client.get("/panel").headers["cache-control"] == "no-cache"


def test_hsts_and_wss_only_when_behind_tls(make_app: Callable[..., FastAPI], tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path / "d", embedders=["hash"], behind_tls=True)
    with TestClient(make_app(settings=settings), base_url="https://assist.bank.example") as c:
        r = c.get("/healthz")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "connect-src 'self' wss://assist.bank.example;" in r.headers["content-security-policy"]


def test_a_foreign_origin_is_refused_before_the_socket_is_accepted(
    client: TestClient, keys: dict[str, str], call_id: str
) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(stream_url(call_id, keys["agent"]), headers={"Origin": "http://evil.example"}):
            pass
    assert refused.value.code == CLOSE_FOREIGN_ORIGIN == 1008


@pytest.mark.parametrize("origin", ["http://testserver", "https://testserver", None])
def test_same_origin_or_no_origin_streams(
    client: TestClient, keys: dict[str, str], call_id: str, origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else {}
    with client.websocket_connect(stream_url(call_id, keys["agent"]), headers=headers) as ws:
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_allowed_origins_setting_replaces_the_same_origin_default(
    make_app: Callable[..., FastAPI], tmp_path: Any
) -> None:
    from assist.models.keys import Role
    from tests.utils.api import new_key

    settings = Settings(data_dir=tmp_path / "d", embedders=["hash"], allowed_origins="https://panel.bank.example")
    with TestClient(make_app(settings=settings)) as c:
        key = new_key(c.app, Role.agent)  # type: ignore[arg-type]
        call_id = c.post("/v1/calls", headers={"Authorization": f"Bearer {key}"}).json()["call_id"]
        with c.websocket_connect(stream_url(call_id, key), headers={"Origin": "https://panel.bank.example"}) as ws:
            ws.send_json({"type": "ping"})
            assert ws.receive_json() == {"type": "pong"}
        with pytest.raises(WebSocketDisconnect):
            with c.websocket_connect(stream_url(call_id, key), headers={"Origin": "http://testserver"}):
                pass


@pytest.mark.parametrize("bad", ["*", "https://a.example/", "https://a.example/path", "ftp://a.example", "a.example"])
def test_allowed_origins_refuses_wildcards_and_paths(bad: str, tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="allowed origin"):
        Settings(data_dir=tmp_path, allowed_origins=bad)


def test_streamed_bodies_pass_through_chunk_by_chunk() -> None:
    """The middleware edits the response start only: each chunk is sent on as the app yields it."""

    async def chunks() -> Any:
        for part in (b"one\n", b"two\n", b"three\n"):
            yield part

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await StreamingResponse(chunks(), media_type="text/plain")(scope, receive, send)

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        await anyio.sleep_forever()
        return {}

    scope = {"type": "http", "method": "GET", "path": "/v1/x", "headers": [(b"host", b"h")], "query_string": b""}
    anyio.run(SecurityHeaders(app, settings=Settings())._http, scope, receive, send)
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert bodies == [b"one\n", b"two\n", b"three\n"]
    start = dict(sent[0]["headers"])
    assert start[b"cache-control"] == b"no-store" and b"content-security-policy" in start


def test_unknown_query_parameter_is_refused_by_name(client: TestClient, agent: dict[str, str], call_id: str) -> None:
    r = client.get(f"/v1/calls/{call_id}?verbose=1", headers=agent)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "verbose"
    assert "unknown query parameter" in r.json()["detail"]


def test_repeated_query_parameter_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    assert client.get("/v1/documents?status=retired", headers=admin).status_code == 200
    r = client.get("/v1/documents?status=retired&status=published", headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "status", "msg": "given more than once", "type": "multiple_values"}]


def test_token_is_not_an_unknown_query_parameter(client: TestClient, keys: dict[str, str]) -> None:
    # ?token= belongs to the WebSocket handshake; on HTTP the key check refuses it with its own reason
    # (assist/security/gate.py), not the query check with "unknown query parameter"
    r = client.post(f"/v1/calls?token={keys['agent']}")
    assert r.status_code == 401
    assert "unknown query parameter" not in r.json()["detail"]
