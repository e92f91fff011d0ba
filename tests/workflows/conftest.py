"""Fixtures for the workflow tests: the app on a temp data dir with the fake embedder, a small rule pack,
and one API key per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from assist.config import get_settings
from assist.models.keys import Role

RULE_PACK = """\
pack: {id: test, version: 1}
rules:
  - id: guaranteed_return
    category: guaranteed_return
    severity: block
    languages: [zh-Hans, zh-Hant, en]
    phrases: [保本, 稳赚不赔, guaranteed returns, guaranteed return]
    exceptions: [保底归集]
    advice: 请说明产品不保本，过往业绩不代表未来表现。
    source: 广告法第二十五条
  - id: no_risk
    category: no_risk
    severity: block
    languages: [zh-Hans, zh-Hant, en]
    phrases: [零风险, 没有任何风险, risk-free, zero risk]
    advice: 请说明产品存在风险。
    source: 广告法第二十五条
disclosures:
  - id: wealth_risk_disclosure
    label: 理财风险提示
    parts:
      - {id: not_deposit, phrases: [理财非存款, not a deposit]}
      - {id: has_risk, phrases: [产品有风险]}
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "test_pack.yaml").write_text(RULE_PACK, encoding="utf-8")
    return d


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, rules_dir: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSIST_EMBEDDERS", "hash")
    monkeypatch.setenv("ASSIST_RULES_DIR", str(rules_dir))
    get_settings.cache_clear()


@pytest.fixture
def app(app_env: None) -> Any:
    from assist.app import create_app

    return create_app()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keys(client: TestClient) -> dict[str, str]:
    """role name → plaintext key (also `other_admin`, a second admin)."""
    from assist.security.keys import create_key

    out: dict[str, str] = {}
    with Session(client.app.state.db_engine) as session:  # type: ignore[attr-defined]
        for role in Role:
            _row, plain = create_key(session, role=role, name=f"{role.value}-tester")
            out[role.value] = plain
    return out


@pytest.fixture
def headers(keys: dict[str, str]) -> dict[str, dict[str, str]]:
    """role name → Authorization header."""
    return {role: {"Authorization": f"Bearer {k}"} for role, k in keys.items()}


@pytest.fixture
def db(client: TestClient) -> Iterator[Session]:
    with Session(client.app.state.db_engine, expire_on_commit=False) as s:  # type: ignore[attr-defined]
        yield s


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute, through included routers (FastAPI wraps those in objects of its own)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            ctx = getattr(r, "include_context", None)
            yield from _walk(inner.routes, prefix + str(getattr(ctx, "prefix", "") or ""))
        elif isinstance(r, APIRoute):
            yield prefix + r.path, r


@pytest.fixture
def http_routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) for every HTTP route of the app, checked against the OpenAPI schema."""
    out = [(m, path, route) for path, route in _walk(app.routes) for m in sorted(route.methods - {"HEAD", "OPTIONS"})]
    walked = {(m, p) for m, p, _ in out}
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= walked, f"routes the walker missed: {sorted(documented - walked)}"
    return out
