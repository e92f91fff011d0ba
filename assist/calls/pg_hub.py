"""The hub across replicas: PostgreSQL LISTEN/NOTIFY on one channel, no other server to run.

Each process keeps one listening connection (a daemon thread) and one publishing connection (another
daemon thread, fed by a queue, so that publishing never blocks a request or the event loop, and the
notices of one process leave in the order they were published). A notice is a JSON object:

- a turn: ``{"v": 1, "o": origin, "k": "turn", "c": call_id, "n": turn, "t": unix time, "m": [messages]}``.
  When the messages would make the payload larger than PostgreSQL's limit (8000 bytes), ``"m"`` is left out
  and ``"r"`` lists the kinds of the turn's messages: the receiver reads them from the database
  (assist/calls/replay.py; the turn is stored before it is published).
- a change: ``{"v": 1, "o": origin, "k": "change", "what": "rules" | "knowledge", "t": unix time}``.

A replica skips its own notices: its sockets had the turn from `CallHub.publish` already, and it made the
change itself. Received turns go through the same `Sequencer` as local ones, so a socket gets a call's
turns in number order whichever replica handled them. ``t`` gives `on_notify_lag` the seconds from publish
to arrival (clocks of different hosts included).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.engine import Engine, make_url

from assist.calls.hub import CHANGES, CallHub, Hub, Subscriber
from assist.calls.messages import ServerMessage
from assist.calls.replay import stored_messages

logger = logging.getLogger(__name__)

CHANNEL = "assist_fanout"
#: PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; keep a margin
MAX_PAYLOAD = 7900
_messages: TypeAdapter[list[ServerMessage]] = TypeAdapter(list[ServerMessage])


def libpq_url(db_engine: Engine) -> str:
    """The engine's URL as psycopg takes it (no SQLAlchemy driver suffix, password kept)."""
    return make_url(db_engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


def turn_payload(origin: str, call_id: str, turn: int | None, messages: list[ServerMessage], at: float) -> str:
    """A turn's notice; a pointer (the kinds of its messages, read back from the database) when too large."""
    body: dict[str, Any] = {"v": 1, "o": origin, "k": "turn", "c": call_id, "n": turn, "t": at}
    full = json.dumps({**body, "m": [m.model_dump(mode="json") for m in messages]}, ensure_ascii=False)
    if len(full.encode("utf-8")) <= MAX_PAYLOAD or turn is None:
        return full
    return json.dumps({**body, "r": [m.type for m in messages]})


def change_payload(origin: str, what: str) -> str:
    """A change's notice."""
    if what not in CHANGES:
        raise ValueError(f"unknown change {what!r}: expected one of {CHANGES}")
    return json.dumps({"v": 1, "o": origin, "k": "change", "what": what, "t": time.time()})


def announce_once(db_engine: Engine, what: str) -> None:
    """Announce a change from a process without a hub (the command line): every server follows at once.
    Nothing to do on SQLite (its one server follows at its next periodic sync). A failure is logged only."""
    if db_engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    try:
        with db_engine.connect() as conn:
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": change_payload("cli", what)})
            conn.commit()
    except Exception:
        logger.exception("could not announce a change; the servers follow at their next sync", extra={"what": what})


class PostgresHub(CallHub):
    """`CallHub` plus LISTEN/NOTIFY: every socket on a call, on every replica, gets its turns in order.

    Args:
        db_engine: the PostgreSQL engine (its URL is used for the two connections of the hub).
        gap_s: how long a turn waits for the one before it.
        reconnect_s: the pause before a lost connection is opened again.
    """

    def __init__(self, db_engine: Engine, *, gap_s: float = 1.0, reconnect_s: float = 1.0) -> None:
        if db_engine.dialect.name != "postgresql":
            raise ValueError(f"PostgresHub needs a PostgreSQL database, got {db_engine.dialect.name!r}")
        super().__init__(gap_s=gap_s)
        self.db_engine = db_engine
        self.origin = uuid.uuid4().hex
        self.reconnect_s = reconnect_s
        self._url = libpq_url(db_engine)
        self._outbox: queue.Queue[str | None] = queue.Queue()
        self._changes: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.listening = threading.Event()  # set while the LISTEN is in force (tests and readiness wait on it)
        self._connected_before = False

    # -- life ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the listening and the publishing threads (idempotent)."""
        if self._threads:
            return
        loops = ((self._listen_loop, "listen"), (self._publish_loop, "notify"), (self._change_loop, "change"))
        for target, name in loops:
            t = threading.Thread(target=target, name=f"assist-hub-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def close(self) -> None:
        """Stop the threads (the publisher sends what is queued first)."""
        super().close()
        self._stop.set()
        self._outbox.put(None)
        self._changes.put(None)
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []

    # -- out ----------------------------------------------------------------------------------
    def publish(
        self, call_id: str, messages: list[ServerMessage], *, turn: int | None = None, exclude: Subscriber | None = None
    ) -> int:
        """Deliver here at once (through the sequencer), and notify the other replicas."""
        n = super().publish(call_id, messages, turn=turn, exclude=exclude)
        if turn is not None or messages:
            self._outbox.put(turn_payload(self.origin, call_id, turn, messages, time.time()))
        return n

    def announce(self, what: str) -> None:
        """Tell the other replicas that the rules or the knowledge base changed."""
        self._outbox.put(change_payload(self.origin, what))

    def _publish_loop(self) -> None:
        import psycopg

        conn: psycopg.Connection[Any] | None = None
        pending: str | None = None
        while True:
            if pending is None:
                pending = self._outbox.get()
                if pending is None:
                    break
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self._url, autocommit=True)
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, pending))
                pending = None
            except Exception:
                logger.exception("could not notify the other replicas; retrying")
                conn = None
                if self._stop.wait(self.reconnect_s):
                    break
        if conn is not None:
            conn.close()

    # -- in -----------------------------------------------------------------------------------
    def _listen_loop(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if self.listening.is_set() is False and self._connected_before:
                        for what in CHANGES:  # notices may have been missed while the connection was down
                            self._changes.put(what)
                    self._connected_before = True
                    self.listening.set()
                    logger.info("listening for the other replicas", extra={"channel": CHANNEL})
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self._wait_s(), stop_after=64):
                            self.receive(note.payload)
                        self.sequencer.expire()
            except Exception:
                self.listening.clear()
                if self._stop.is_set():
                    break
                logger.exception("lost the fan-out connection; reconnecting")
                self._stop.wait(self.reconnect_s)
        self.listening.clear()

    def _wait_s(self) -> float:
        deadline = self.sequencer.next_deadline()
        if deadline is None:
            return 0.5
        return min(0.5, max(0.01, deadline - self.sequencer.clock()))

    def receive(self, payload: str) -> None:
        """Handle one notice (runs on the listening thread; public for tests)."""
        try:
            data = json.loads(payload)
            if data.get("o") == self.origin:
                return  # ours: delivered here already
            self.on_notify_lag(max(0.0, time.time() - float(data.get("t", time.time()))))
            if data.get("k") == "change":
                self._changed(str(data.get("what")))
            elif data.get("k") == "turn":
                self._turn(data)
        except Exception:
            logger.exception("could not handle a fan-out notice")

    def _turn(self, data: dict[str, Any]) -> None:
        call_id, n = str(data["c"]), data.get("n")
        turn = int(n) if n is not None else None
        if not self.watched(call_id):
            return
        if "m" in data or turn is None:
            messages = _messages.validate_python(data.get("m") or [])
        else:  # a pointer: the turn is in the database
            kinds = set(data.get("r") or ())
            replay = stored_messages(
                self.db_engine, call_id, after=turn - 1, through=turn, checklist="checklist" in kinds
            )
            messages = replay.messages
        self.local(call_id, turn, messages, None)

    def _changed(self, what: str) -> None:
        if what in CHANGES:
            self._changes.put(what)

    def _change_loop(self) -> None:
        """Follow announced changes off the listening thread (an index update takes a while, and turns keep
        arriving meanwhile); changes that queued up meanwhile are followed once."""
        while True:
            first = self._changes.get()
            if first is None:
                return
            todo = {first}
            while not self._changes.empty():
                more = self._changes.get_nowait()
                if more is None:
                    return
                todo.add(more)
            hook = self.on_change
            for what in sorted(todo):
                if hook is None:
                    break
                try:
                    hook(what)
                except Exception:
                    logger.exception("could not follow a change announced by another replica", extra={"what": what})


def hub_for(db_engine: Engine) -> Hub:
    """The app's hub: `PostgresHub` on PostgreSQL (replicas share it), else the in-process `CallHub`."""
    if db_engine.dialect.name == "postgresql":
        return PostgresHub(db_engine)
    return CallHub()
