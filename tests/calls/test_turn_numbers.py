"""Turn numbers come from the database: unique per call and in order, even when two servers share the call."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from assist.calls.engine import CallEngine
from assist.config import Settings
from assist.db import make_engine
from assist.errors import ConflictError
from assist.models.calls import Turn


def _turns(engine: CallEngine, call_id: str) -> list[tuple[int, str]]:
    with Session(engine.db_engine) as s:
        rows = s.exec(select(Turn).where(Turn.call_id == call_id).order_by(col(Turn.id))).all()
        return [(t.turn, t.text) for t in rows]


@pytest.fixture
def two_servers(settings: Settings, make_call_engine: Callable[..., CallEngine]) -> tuple[CallEngine, CallEngine]:
    """Two engines, each with its own cache and engine, on one database file: two replicas."""
    return make_call_engine(db_engine=make_engine(settings)), make_call_engine(db_engine=make_engine(settings))


def test_turns_alternating_between_two_servers_are_numbered_once_each_in_order(two_servers) -> None:
    a, b = two_servers
    call_id = a.start_call()
    results = []
    for i in range(6):
        server = a if i % 2 == 0 else b
        results.append(server.handle_turn(call_id, speaker="agent", text=f"turn {i}").turn)
    assert results == [1, 2, 3, 4, 5, 6]  # release 0.1: 1, 1, 2, 2, 3, 3 (each server counted on its own)
    assert _turns(a, call_id) == [(n, f"turn {n - 1}") for n in range(1, 7)]
    assert [t.turn for t in b.store.get_call(call_id).turns] == [1, 2, 3, 4, 5, 6]


def test_a_server_refuses_a_turn_on_a_call_another_server_ended(two_servers) -> None:
    a, b = two_servers
    call_id = a.start_call()
    a.handle_turn(call_id, speaker="agent", text="hello")  # a caches the call as active
    b.end_call(call_id)
    with pytest.raises(ConflictError, match="has ended"):
        a.handle_turn(call_id, speaker="agent", text="one more")
    assert [t for t, _ in _turns(a, call_id)] == [1]


def test_concurrent_posts_on_two_servers_never_share_or_skip_a_number(two_servers) -> None:
    a, b = two_servers
    call_id = a.start_call()
    per_thread = 10
    errors: list[BaseException] = []

    def post(server: CallEngine, name: str) -> None:
        try:
            for i in range(per_thread):
                server.handle_turn(call_id, speaker="agent", text=f"{name} {i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(s, f"t{n}")) for n, s in enumerate([a, b, a, b])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = _turns(a, call_id)
    assert sorted(n for n, _ in stored) == list(range(1, 4 * per_thread + 1))
    for name in ("t0", "t1", "t2", "t3"):  # each poster's turns keep the order it sent them in
        mine = [n for n, text in stored if text.startswith(name + " ")]
        assert mine == sorted(mine) and len(mine) == per_thread


def test_the_database_refuses_one_number_twice_in_a_call(make_call_engine: Callable[..., CallEngine]) -> None:
    engine = make_call_engine()
    call_id = engine.start_call()
    engine.handle_turn(call_id, speaker="agent", text="hello")
    with Session(engine.db_engine) as s, pytest.raises(IntegrityError):
        s.add(Turn(call_id=call_id, turn=1, speaker="agent", text="again"))
        s.commit()


def test_a_turn_that_dies_half_way_leaves_no_gap_in_the_numbers(make_call_engine, fake_guard) -> None:
    """A server that fails (or is killed) after reading the number but before storing the turn takes nothing:
    the retry, on any server, gets that number (release 0.2 left a gap: the number was taken first)."""
    calls = {"n": 0}

    def guard():  # the guard of the first agent turn fails half way through the turn
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the server died here")
        return fake_guard

    engine = make_call_engine(guard=guard)
    call_id = engine.start_call()
    with pytest.raises(RuntimeError):
        engine.handle_turn(call_id, speaker="agent", text="first try")
    assert engine.handle_turn(call_id, speaker="agent", text="first try").turn == 1
    assert engine.handle_turn(call_id, speaker="agent", text="second").turn == 2
    assert _turns(engine, call_id) == [(1, "first try"), (2, "second")]


def test_a_turn_whose_number_another_server_stored_meanwhile_runs_again_with_the_next(
    settings: Settings, make_call_engine: Callable[..., CallEngine], fake_guard
) -> None:
    """Two servers read the same next number for one call; the one that stores second runs its turn again."""
    b = make_call_engine(db_engine=make_engine(settings))
    interleaved: list[int | None] = []

    def guard_of_a():  # while a works on its turn, b stores one of the same call
        if not interleaved:
            interleaved.append(b.handle_turn(call_id, speaker="customer", text="on b meanwhile").turn)
        return fake_guard

    a = make_call_engine(db_engine=make_engine(settings), guard=guard_of_a)
    call_id = a.start_call()
    assert a.handle_turn(call_id, speaker="agent", text="on a").turn == 2
    assert interleaved == [1]
    assert _turns(a, call_id) == [(1, "on b meanwhile"), (2, "on a")]


def test_a_turn_that_keeps_losing_its_number_gives_up_with_a_conflict(
    two_servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Losing the number means another server stored a turn: the engine runs the turn again until a time
    bound, then answers 409 (ConflictError) with nothing of the turn stored."""
    import assist.calls.engine as engine_module
    from assist.calls.store import TurnNumberTaken

    a, _ = two_servers
    call_id = a.start_call()
    a.handle_turn(call_id, speaker="agent", text="hello")
    runs = []

    def always_taken(state, **_: object):
        runs.append(1)
        raise TurnNumberTaken(state.call_id, 2)

    monkeypatch.setattr(engine_module, "TURN_RETRY_SECONDS", 0.0)
    monkeypatch.setattr(a, "_final_turn", always_taken)
    with pytest.raises(ConflictError, match="another server"):
        a.handle_turn(call_id, speaker="agent", text="never stored")
    assert len(runs) == 1  # no time left: one run, no retry
    assert [t for t, _ in _turns(a, call_id)] == [1]
