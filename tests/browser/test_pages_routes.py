"""The routes that serve the pages and the sample calls (no browser needed: a bare app with the router)."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assist.routes.pages import router
from tests.browser.server import ROOT


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


@pytest.mark.parametrize("path", ["/", "/panel", "/editor", "/compliance"])
def test_pages_are_html_that_load_only_local_files(client: TestClient, path: str) -> None:
    res = client.get(path)
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert "http://" not in res.text and "https://" not in res.text  # nothing fetched from the internet


def test_static_files_are_served_with_their_types(client: TestClient) -> None:
    js = client.get("/static/js/panel.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    css = client.get("/static/css/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("path", ["/static/../routes/pages.py", "/static/%2e%2e/config.py", "/static/nope.js"])
def test_static_refuses_paths_outside_the_folder(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_demo_calls_list_and_serve_kb_docs_calls(client: TestClient) -> None:
    files = sorted((ROOT / "kb_docs" / "calls").glob("*.jsonl"))
    listed = client.get("/v1/demo/calls").json()
    assert [c["name"] for c in listed] == [f.stem for f in files]
    for f in files:
        turns = client.get(f"/v1/demo/calls/{f.stem}").json()
        expected = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert [(t["speaker"], t["text"]) for t in turns] == [(t["speaker"], t["text"]) for t in expected]


@pytest.mark.parametrize("name", ["nope", "..%2Fsecret", "a b"])
def test_unknown_demo_call_is_404(client: TestClient, name: str) -> None:
    res = client.get(f"/v1/demo/calls/{name}")
    assert res.status_code == 404
    assert "not found" in res.json()["detail"].lower()
