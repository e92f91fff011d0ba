"""The database foundations of several replicas, on PostgreSQL: migrations under an advisory lock, seeding by one
server at a time, turn numbers and Idempotency-Key shared by two engines. Needs ASSIST_TEST_POSTGRES_URL."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from assist.config import Settings
from assist.db import current_revision, head_revision, make_engine

URL = os.environ.get("ASSIST_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="set ASSIST_TEST_POSTGRES_URL (.ci/start-postgres prints one)"),
]


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    assert URL
    engine = create_engine(URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    engine.dispose()
    return Settings(database_url=URL, data_dir=tmp_path)


def _together(n: int, fn) -> list[BaseException]:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run() -> None:
        barrier.wait()
        try:
            fn()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_servers_starting_together_on_a_new_database_migrate_and_seed_once(settings: Settings) -> None:
    from assist.models.guard import DisclosureRecord, RuleRecord
    from assist.services import build_guard_holder

    engines: list = []

    def start() -> None:
        engine = make_engine(settings)
        engines.append(engine)
        build_guard_holder(settings, engine, claim_model=False)

    assert _together(3, start) == []
    with Session(engines[0]) as s:
        assert len(s.exec(select(DisclosureRecord)).all()) == 1
        rules = s.exec(select(RuleRecord)).all()
        assert len({r.rule_id for r in rules}) == len(rules)  # each rule seeded once
    with engines[0].connect() as conn:
        assert current_revision(conn) == head_revision()


def test_turns_on_two_engines_share_one_sequence_on_postgres(settings: Settings) -> None:
    from assist.calls.engine import CallEngine
    from assist.calls.playbooks import Playbooks
    from tests.fakes import FakeGuard, FakeKnowledge, fake_redact

    def server() -> CallEngine:
        knowledge = FakeKnowledge()
        return CallEngine(
            settings=settings,
            db_engine=make_engine(settings),
            retriever=lambda: knowledge.retriever,
            guard=lambda: FakeGuard(),
            playbooks=Playbooks(Path(__file__).parents[1] / "kb_docs" / "playbooks"),
            redactor=fake_redact,
        )

    a, b = server(), server()
    call_id = a.start_call()
    counter = iter(range(1000))
    lock = threading.Lock()

    def post() -> None:
        for _ in range(8):
            with lock:
                n = next(counter)
            (a if n % 2 else b).handle_turn(call_id, speaker="agent", text=f"t{n}")

    assert _together(4, post) == []
    assert sorted(t.turn for t in a.store.get_call(call_id).turns) == list(range(1, 33))
    b.end_call(call_id)
    from assist.errors import ConflictError

    with pytest.raises(ConflictError):
        a.handle_turn(call_id, speaker="agent", text="after the end")


def test_one_idempotency_key_runs_once_across_two_servers_on_postgres(settings: Settings) -> None:
    from assist.errors import ConflictError
    from assist.idempotency import IdempotencyStore

    a, b = IdempotencyStore(make_engine(settings)), IdempotencyStore(make_engine(settings))
    runs: list[str] = []
    outcomes: list[object] = []

    def attempt(store: IdempotencyStore) -> None:
        try:
            outcomes.append(
                store.run(owner="k", key="same", fingerprint="f", status_code=200, call=lambda: runs.append("x"))
            )
        except ConflictError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert runs == ["x"]  # run once; the others replayed or were told it is still running
