"""Fixtures for the API tests: the app over fakes (retriever, guard, redaction), keys of every role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assist.app import create_app
from assist.models.keys import Role
from tests.fakes import FakeGuard, FakeKnowledge, fake_redact
from tests.utils.api import bearer, new_key


@pytest.fixture
def make_app() -> Callable[..., FastAPI]:
    """create_app with the fakes unless a test overrides them."""

    def _make(**overrides: Any) -> FastAPI:
        overrides.setdefault("knowledge", FakeKnowledge())
        overrides.setdefault("guard", FakeGuard())
        overrides.setdefault("redactor", fake_redact)
        return create_app(**overrides)

    return _make


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app()) as c:
        yield c


@pytest.fixture
def keys(client: TestClient) -> dict[str, str]:
    """A key per role."""
    return {r.value: new_key(client.app, r) for r in Role}  # type: ignore[arg-type]


@pytest.fixture
def agent(keys: dict[str, str]) -> dict[str, str]:
    """Headers of an agent key."""
    return bearer(keys["agent"])


@pytest.fixture
def call_id(client: TestClient, agent: dict[str, str]) -> str:
    r = client.post("/v1/calls", headers=agent)
    assert r.status_code == 201, r.text
    return str(r.json()["call_id"])
