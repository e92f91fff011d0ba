"""Malformed input to every HTTP route of the app never gets a 500: garbage JSON, wrong types, missing
fields, odd path and query values. Routes come from `app.routes`, so new ones are covered too."""

from __future__ import annotations

import re

import pytest

WEIRD_IDS = ["999999", "9" * 40, "-1", "0", "a" * 300, "..%2F..%2Fetc", "%00", "😀保本", "1e309", "null"]
BAD_QUERY = ["", "-1", "abc", "9" * 40, "x" * 5000, "2025-13-45", "\u0000", "[]", "true"]
BAD_JSON = [b"{not json", b"", b"[]", b'"text"', b"123", b"null", b"{}", b'{"a":', b"\xff\xfe", b"[" * 500]


def wrong_typed(schema: dict, components: dict) -> list[dict]:
    """Bodies with every declared field set to values of the wrong type (or absurd size)."""
    ref = schema.get("$ref")
    if ref:
        schema = components[ref.rsplit("/", 1)[-1]]
    props = list(schema.get("properties", {}))
    if not props:
        return [{"x": [[]]}]
    bads: list[object] = [[[]], {"$": {"$": None}}, 10**30, -1, True, None, "x" * 100_000, "", 1.5]
    return [dict.fromkeys(props, bad) for bad in bads] + [{p: [1, 2]} for p in props]


@pytest.fixture
def real_ids(client, headers) -> dict[str, str]:
    """Ids of real objects, so the malformed requests also reach handlers past the 404s."""
    doc = client.post(
        "/v1/documents", headers=headers["editor"], files={"file": ("fees.md", "# 年费\n\n金卡年费三百元。\n".encode())}
    ).json()
    call_id = client.post("/v1/calls", headers=headers["agent"]).json()["call_id"]
    client.post(
        f"/v1/calls/{call_id}/utterances", headers=headers["agent"], json={"speaker": "agent", "text": "这款产品零风险"}
    )
    events = client.get("/v1/guard/events", headers=headers["compliance"]).json()
    return {"document_id": doc["id"], "call_id": call_id, "event_id": str(events[0]["id"]), "rule_id": "no_risk"}


def fill(path: str, ids: dict[str, str], default: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: ids.get(m.group(1), default), path)


def assert_sane(r, what) -> None:
    assert r.status_code < 500, (what, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert "detail" in r.json(), (what, r.text[:300])


def test_garbage_bodies_to_every_route(client, headers, http_routes, real_ids, app):
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    admin = headers["admin"]
    n = 0
    for method, path, _route in http_routes:
        if method not in {"POST", "PATCH", "PUT"}:
            continue
        url = fill(path, real_ids, "999999")
        for raw in BAD_JSON:
            for ctype in ("application/json", "text/plain", "multipart/form-data; boundary=zz"):
                r = client.request(method, url, headers={**admin, "Content-Type": ctype}, content=raw)
                assert_sane(r, (method, url, ctype, raw[:20]))
                n += 1
        op = spec["paths"].get(path, {}).get(method.lower(), {})
        content = op.get("requestBody", {}).get("content", {})
        schema = (content.get("application/json") or {}).get("schema")
        if schema:
            for body in wrong_typed(schema, components):
                r = client.request(method, url, headers=admin, json=body)
                assert_sane(r, (method, url, str(body)[:80]))
                n += 1
        if "multipart/form-data" in content:
            for files in (
                {"file": ("x", b"")},
                {"file": ("", b"abc")},
                {"nofile": ("a.md", b"# a")},
                {"file": ("a.md", b"# a\n\ntext"), "replaces": ("r", b"\xff")},
            ):
                r = client.request(
                    method,
                    url,
                    headers=admin,
                    files=files,
                    data={"effective_from": "x", "language": "klingon", "tags": "a" * 5000},
                )
                assert_sane(r, (method, url, "multipart", list(files)))
                n += 1
    assert n > 100


def test_odd_path_and_query_values_to_every_route(client, headers, http_routes, real_ids):
    admin = headers["admin"]
    for method, path, route in http_routes:
        if not path.startswith("/v1/"):
            continue
        if "{" in path:
            for weird in WEIRD_IDS:
                url = fill(path, {}, weird)
                body = {} if method in {"POST", "PATCH", "PUT"} else None
                assert_sane(client.request(method, url, headers=admin, json=body), (method, url))
        if method != "GET":
            continue
        url = fill(path, real_ids, "999999")
        params = [p.alias or p.name for p in route.dependant.query_params]
        for name in params:
            for bad in BAD_QUERY:
                assert_sane(client.get(url, headers=admin, params={name: bad}), (url, name, bad[:20]))
