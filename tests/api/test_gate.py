"""The gate in front of the routes: the key is checked before a byte of the body is read, and bodies are cut
off at their limit while they stream (assist/security/gate.py).

These drive the app at the ASGI level with a `receive` that counts the body bytes the app pulls, as a
server would hand them over: nothing is read that the app does not ask for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from assist.models.keys import Role
from tests.utils.api import bearer, new_key

CHUNK = 64 * 1024
MB = 1024 * 1024


def chunks(total: int) -> Iterator[bytes]:
    """`total` bytes in 64 KiB pieces, produced only as they are asked for."""
    block = b"x" * CHUNK
    sent = 0
    while sent < total:
        piece = block[: min(CHUNK, total - sent)]
        sent += len(piece)
        yield piece


def drive(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: Iterator[bytes] = iter(()),
    query: str = "",
) -> tuple[int, dict[str, str], bytes, int]:
    """One request straight into the ASGI app: (status, response headers, response body, body bytes pulled)."""
    pulled = 0
    done = False
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if done:
            return {"type": "http.disconnect"}
        piece = next(body, None)
        if piece is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal done
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done = True

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    out_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], out_headers, content, pulled


@pytest.fixture
def running(make_app):
    """An app whose lifespan has run (services built), for driving at the ASGI level."""
    app = make_app()
    with TestClient(app):
        yield app


UPLOAD = {"content-type": "multipart/form-data; boundary=zzz"}
FILE_PART = b'--zzz\r\nContent-Disposition: form-data; name="file"; filename="big.md"\r\n\r\n'


def upload_body(total: int) -> Iterator[bytes]:
    """A well-formed multipart upload of one file, `total` bytes long, that never ends before `total`."""
    yield FILE_PART
    yield from chunks(total - len(FILE_PART))


def test_no_key_is_refused_before_a_byte_of_a_200_mb_upload_is_read(running) -> None:
    # the reproducer: a 200 MB chunked upload with no key was spooled to disk (>= 173 MB) before the 401
    big = upload_body(200 * MB)
    status, headers, content, pulled = drive(running, "POST", "/v1/documents", headers=UPLOAD, body=big)
    assert status == 401
    assert pulled == 0
    assert headers["www-authenticate"].startswith("Bearer")
    assert b"missing API key" in content
    # a wrong key: the same, and nothing read either
    status, _, content, pulled = drive(
        running, "POST", "/v1/documents", headers={**UPLOAD, **bearer("ak_editor_wrong")}, body=upload_body(200 * MB)
    )
    assert (status, pulled) == (401, 0)
    assert b"unknown or revoked" in content


def test_a_declared_length_over_the_limit_is_413_at_once(running) -> None:
    key = new_key(running, Role.editor)
    declared = {**UPLOAD, **bearer(key), "content-length": str(200 * MB)}
    status, headers, content, pulled = drive(running, "POST", "/v1/documents", headers=declared, body=chunks(200 * MB))
    assert (status, pulled) == (413, 0)
    assert headers["content-type"] == "application/json"
    assert b"the limit for this route is 20" in content  # ASSIST_MAX_UPLOAD_MB's default, plus the form's overhead
    json_route = {**bearer(key), "content-type": "application/json", "content-length": str(2 * MB)}
    status, _, content, pulled = drive(running, "POST", "/v1/guard/check", headers=json_route, body=chunks(2 * MB))
    assert (status, pulled) == (413, 0)
    assert b"1 MB" in content


def test_a_chunked_upload_is_cut_off_at_the_limit(running, monkeypatch) -> None:
    # the reproducer: with a key, 100 MB were read before the 413
    monkeypatch.setattr(running.state.settings, "max_upload_mb", 2.0)
    key = new_key(running, Role.editor)
    status, _, content, pulled = drive(
        running, "POST", "/v1/documents", headers={**UPLOAD, **bearer(key)}, body=upload_body(100 * MB)
    )
    limit = 2 * MB + 64 * 1024  # the upload limit and the multipart overhead allowed around the file
    assert status == 413, content
    assert limit < pulled <= limit + CHUNK + len(FILE_PART)
    assert b"request body too large" in content


def test_a_chunked_json_body_is_cut_off_at_the_small_limit(running) -> None:
    key = new_key(running, Role.agent)
    headers = {**bearer(key), "content-type": "application/json"}
    status, _, content, pulled = drive(running, "POST", "/v1/guard/check", headers=headers, body=chunks(100 * MB))
    assert status == 413, content
    assert 1 * MB < pulled <= 1 * MB + CHUNK  # ASSIST_MAX_BODY_KB = 1024
    assert b'"detail"' in content


def test_the_small_limit_is_a_setting(make_app, monkeypatch) -> None:
    monkeypatch.setenv("ASSIST_MAX_BODY_KB", "4")
    from assist.config import get_settings

    get_settings.cache_clear()
    app = make_app()
    with TestClient(app) as client:
        key = bearer(new_key(app, Role.agent))
        r = client.post("/v1/guard/check", headers=key, json={"text": "好" * 3000, "speaker": "agent"})
        assert r.status_code == 413 and "4 KB" in r.json()["detail"]
        r = client.post("/v1/guard/check", headers=key, json={"text": "好" * 100, "speaker": "agent"})
        assert r.status_code == 200


def test_bodies_within_the_limits_still_reach_the_routes(running) -> None:
    key = new_key(running, Role.agent)
    payload = b'{"text": "this product is risk-free", "speaker": "agent"}'
    headers = {**bearer(key), "content-type": "application/json", "content-length": str(len(payload))}
    status, _, content, pulled = drive(running, "POST", "/v1/guard/check", headers=headers, body=iter([payload]))
    assert status == 200, content
    assert pulled == len(payload)


def test_routes_outside_v1_and_the_demo_calls_need_no_key(running) -> None:
    for path in ("/healthz", "/v1/demo/calls"):
        status, _, _, _ = drive(running, "GET", path)
        assert status == 200, path
    status, _, _, _ = drive(running, "GET", "/v1/nothing-here")
    assert status == 401  # the rest of /v1, even an unknown path, needs a key


def test_the_gate_answers_503_for_protected_routes_before_the_services_are_loaded(make_app) -> None:
    app = make_app()  # lifespan not run: no key store yet
    status, _, content, pulled = drive(app, "POST", "/v1/documents", headers=UPLOAD, body=chunks(10 * MB))
    assert (status, pulled) == (503, 0)
    assert b"not ready" in content
