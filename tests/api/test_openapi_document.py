"""The OpenAPI document tells the truth (assist/openapi.py): the real error bodies, the codes each operation
can answer, Bearer security where a key is needed; and /docs is Swagger UI from local files."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assist.openapi import EXTRA_CODES

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/demo/calls"),
    ("GET", "/v1/demo/calls/{name}"),
}


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json())


def _ops(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def _schema(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    ref = response["content"]["application/json"]["schema"]["$ref"]
    return dict(spec["components"]["schemas"][ref.rsplit("/", 1)[-1]])


def test_every_operation_that_needs_a_key_declares_bearer_security(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    for method, path, op in _ops(spec):
        if (method, path) in PUBLIC:
            assert "security" not in op, (method, path)
            assert "401" not in op["responses"], (method, path)
        else:
            assert path.startswith("/v1/"), path
            assert op["security"] == [{"bearerAuth": []}], (method, path)
            assert _schema(spec, op["responses"]["401"])["required"] == ["detail"], (method, path)


def test_the_422_schema_is_the_body_the_app_sends(client: TestClient, spec: dict[str, Any], agent: dict) -> None:
    real = client.post("/v1/guard/check", headers=agent, json={"speaker": "robot"})
    assert real.status_code == 422
    body = real.json()
    doc = _schema(spec, spec["paths"]["/v1/guard/check"]["post"]["responses"]["422"])
    assert set(doc["required"]) <= set(body) <= set(doc["properties"])
    item = spec["components"]["schemas"]["ValidationErrorItem"]
    assert body["errors"] and all(set(e) == set(item["required"]) == set(item["properties"]) for e in body["errors"])
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's own, which the app never sends


def test_error_codes_follow_what_each_route_can_do(spec: dict[str, Any]) -> None:
    def codes(method: str, path: str) -> set[str]:
        return {c for c in spec["paths"][path][method.lower()]["responses"] if c.startswith(("4", "5"))}

    assert codes("POST", "/v1/guard/check") == {"400", "401", "422", "429", "503"}  # any role: no 403
    assert "429" in codes("POST", "/v1/calls") and "429" not in codes("GET", "/healthz")
    assert {"401", "403", "404"} <= codes("GET", "/v1/rules/{rule_id}")
    assert "404" not in codes("GET", "/v1/rules")
    assert {"400", "413", "415", "409"} - codes("POST", "/v1/documents") == {"409"}
    assert "409" in codes("POST", "/v1/documents/{document_id}/retire")
    assert "409" in codes("POST", "/v1/calls/{call_id}/utterances")
    assert "409" not in codes("GET", "/v1/calls/{call_id}")
    assert "422" in codes("POST", "/v1/calls")  # no parameters, but an unknown query parameter is refused
    for method, path, op in _ops(spec):
        for code, resp in op["responses"].items():
            if code.startswith("4") and code != "422":
                detail = _schema(spec, resp)["properties"]
                assert detail == {"detail": {"title": "Detail", "type": "string"}}, (method, path, code)


def test_the_extra_codes_name_operations_that_exist(spec: dict[str, Any]) -> None:
    known = {(m, p) for m, p, _ in _ops(spec)}
    assert set(EXTRA_CODES) <= known


def test_docs_is_swagger_ui_from_this_server_only(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"(https?:)?//", page.text)  # no other host, not even protocol-relative
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/static/js/swagger-init.js"} <= set(
        assets
    )
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200 and r.content, asset
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline: the CSP allows none
    assert client.get("/docs/assets/../../config.py").status_code == 404
    assert client.get("/redoc").status_code == 404  # ReDoc needs inline styles; not served


# Fixes found by schemathesis (tests/api/test_schemathesis.py): the document and the code now agree.


@pytest.mark.parametrize(
    "bound",
    [
        "to=9999-12-31",  # its end of day was past datetime.max: a 500
        "to=9999-12-31T23:59:59-23:59",  # in UTC past year 9999: a 500
        "from=0001-01-01T00:00:00%2B23:59",  # in UTC before year 1: a 500
        "from=2024-01-01t10:00:00z",  # RFC 3339 allows lower-case t and z: was a 422
    ],
)
def test_date_bounds_take_every_documented_form(client: TestClient, keys: dict[str, str], bound: str) -> None:
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    for path in ("/v1/audit", "/v1/guard/events", "/v1/guard/stats", "/v1/guard/events/export.csv"):
        r = client.get(f"{path}?{bound}", headers=admin)
        assert r.status_code == 200, (path, bound, r.text)


def test_date_bounds_are_documented_as_dates_or_datetimes(spec: dict[str, Any]) -> None:
    params = {p["name"]: p for p in spec["paths"]["/v1/audit"]["get"]["parameters"]}
    formats = {s.get("format") for s in params["from"]["schema"]["anyOf"]}
    assert {"date", "date-time"} <= formats


def test_blank_utterance_text_is_documented_as_refused(
    client: TestClient, spec: dict[str, Any], agent: dict[str, str], call_id: str
) -> None:
    text = spec["components"]["schemas"]["UtteranceIn"]["properties"]["text"]
    assert text["pattern"] == r"\S"  # some non-space character
    r = client.post(f"/v1/calls/{call_id}/utterances", headers=agent, json={"speaker": "agent", "text": "  "})
    assert r.status_code == 422 and "empty" in r.json()["detail"]


def test_draft_test_and_pack_import_bodies_are_documented(spec: dict[str, Any]) -> None:
    draft = spec["components"]["schemas"]["DraftTest"]
    assert draft["anyOf"] == [{"required": ["rule"]}, {"required": ["delete_rule_id"]}]
    pack = spec["paths"]["/v1/rules/import"]["post"]["requestBody"]["content"]["application/yaml"]["schema"]
    assert {s["type"] for s in pack["anyOf"]} == {"object", "array"}  # a YAML mapping or list, not a string
