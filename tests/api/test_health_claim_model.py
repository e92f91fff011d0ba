"""A claim model file that cannot be used: the server starts, the rules keep checking, /healthz says degraded."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assist.compliance.guard import Guard
from assist.config import get_settings

RULES = Path(__file__).resolve().parents[2] / "kb_docs" / "rules"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "not found"), (b"PK\x03\x04 truncated", "unreadable")],
    ids=["missing", "corrupt"],
)
def test_unusable_model_file_degrades_to_the_rules(make_app, tmp_path: Path, monkeypatch, content, reason) -> None:
    path = tmp_path / "claim_model.npz"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("ASSIST_GUARD_MODEL", "true")
    monkeypatch.setenv("ASSIST_GUARD_MODEL_PATH", str(path))
    get_settings.cache_clear()
    app = make_app(guard=Guard.from_path(RULES), claim_model=True)
    with TestClient(app) as client:
        body = client.get("/healthz").json()
        assert body["status"] == "degraded"
        assert body["guard"]["ready"] is True  # the rules are in force
        assert body["guard"]["model"]["ready"] is False and reason in body["guard"]["model"]["reason"]
        guard = app.state.guard_holder.get()
        assert guard.claim_layer is None
        assert guard.check("这款产品保本保息", "agent").action == "block"  # never a silent allow-all
    get_settings.cache_clear()


def test_model_switched_off_is_not_degraded(make_app, monkeypatch) -> None:
    monkeypatch.setenv("ASSIST_GUARD_MODEL", "false")
    get_settings.cache_clear()
    with TestClient(make_app(guard=Guard.from_path(RULES), claim_model=True)) as client:
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and body["guard"]["model"] is None
    get_settings.cache_clear()


def test_readyz_is_503_while_the_claim_model_asked_for_is_not_loaded(make_app, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ASSIST_GUARD_MODEL", "true")
    monkeypatch.setenv("ASSIST_GUARD_MODEL_PATH", str(tmp_path / "claim_model.npz"))  # no such file
    get_settings.cache_clear()
    with TestClient(make_app(guard=Guard.from_path(RULES), claim_model=True)) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "not ready"
        assert {k for k, c in body["checks"].items() if not c["ok"]} == {"guard"}  # database and indexes are fine
        assert body["detail"].startswith("guard: claim model unavailable") and "not found" in body["detail"]
        assert client.get("/healthz").status_code == 200  # alive: the rules still check alone
    get_settings.cache_clear()


def test_readyz_is_503_when_the_model_is_asked_for_but_none_is_attached(make_app, monkeypatch) -> None:
    monkeypatch.setenv("ASSIST_GUARD_MODEL", "true")
    get_settings.cache_clear()
    with TestClient(make_app(guard=Guard.from_path(RULES))) as client:  # a guard handed in without the model
        r = client.get("/readyz")
        assert r.status_code == 503
        assert "no claim model is attached" in r.json()["checks"]["guard"]["detail"]
        client.app.state.guard_holder.set_claim_layer(None, status={"ready": True, "reason": None, "path": "m.npz"})
        r = client.get("/readyz")  # the model in force: ready
        assert r.status_code == 200 and r.json()["status"] == "ready", r.text
    get_settings.cache_clear()
