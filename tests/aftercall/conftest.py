"""Fixtures for the after-call tests: the API over the live-call fakes (as in tests/api), keys of every role."""

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
def client() -> Iterator[TestClient]:
    app: FastAPI = create_app(knowledge=FakeKnowledge(), guard=FakeGuard(), redactor=fake_redact)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers per role, and a second agent."""
    out = {r.value: bearer(new_key(client.app, r)) for r in Role}  # type: ignore[arg-type]
    out["agent2"] = bearer(new_key(client.app, Role.agent, "agent-two"))  # type: ignore[arg-type]
    return out


@pytest.fixture
def play(client: TestClient, keys: dict[str, dict[str, str]]) -> Callable[..., str]:
    """Start a call as `who`, post the turns (speaker, text), optionally end it; returns the call id."""

    def _play(turns: list[tuple[str, str]], *, who: str = "agent", end: bool = False, **start: Any) -> str:
        r = client.post("/v1/calls", headers=keys[who], json=start or None)
        assert r.status_code == 201, r.text
        call_id = str(r.json()["call_id"])
        for speaker, text in turns:
            r = client.post(
                f"/v1/calls/{call_id}/utterances", headers=keys[who], json={"speaker": speaker, "text": text}
            )
            assert r.status_code == 200, r.text
        if end:
            assert client.post(f"/v1/calls/{call_id}/end", headers=keys[who]).status_code == 200
        return call_id

    return _play
