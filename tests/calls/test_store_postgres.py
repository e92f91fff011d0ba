"""On PostgreSQL the call store lets turns of different calls be stored at the same time (SQLite keeps one
writer per process). Needs ASSIST_TEST_POSTGRES_URL."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from assist.calls.store import CallStore
from assist.config import Settings
from assist.db import make_engine

URL = os.environ.get("ASSIST_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="set ASSIST_TEST_POSTGRES_URL (.ci/start-postgres prints one)"),
]


def test_a_turn_of_one_call_is_stored_while_another_calls_turn_waits_on_the_database(tmp_path: Path) -> None:
    assert URL
    admin = create_engine(URL)
    with admin.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    store = CallStore(db_engine=make_engine(Settings(database_url=URL, data_dir=tmp_path)), redact=lambda t: t)
    slow, quick = store.create(), store.create()

    def persist(state, results: list[str]) -> None:  # type: ignore[no-untyped-def]
        number = store.next_turn(state)
        store.persist(state, turn=number, speaker="agent", clean="hello", suggestion=None, events=[], checklist=[])
        results.append(state.call_id)

    done: list[str] = []
    with admin.connect() as blocker:  # another transaction holds the slow call's row
        blocker.execute(text("SELECT 1 FROM call WHERE id = :id FOR UPDATE"), {"id": slow.call_id})
        first = threading.Thread(target=persist, args=(slow, done), daemon=True)
        first.start()
        first.join(timeout=1.0)  # it is now waiting on the row lock (still running: it cannot finish)
        assert first.is_alive()
        second = threading.Thread(target=persist, args=(quick, done), daemon=True)
        second.start()
        second.join(timeout=60.0)  # a deadline for a deadlock, not a timing: it needs no lock the first holds
        assert done == [quick.call_id], "the other call's turn waited for a process-wide write lock"
        blocker.rollback()
    first.join(timeout=60.0)
    assert sorted(done) == sorted([quick.call_id, slow.call_id])
    admin.dispose()
