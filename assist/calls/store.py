"""Where calls live: the per-call locks, the bounded cache of call states, and the database.

Everything kept per call is bounded: states and owners are LRUs of `max_cached_calls`, and a call's lock
lives only while a thread holds or waits for it. Asking about a call, known or not, leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import CursorResult, Engine
from sqlmodel import Session, col, select

from assist.calls.state import CallState
from assist.errors import ConflictError, InvalidInputError, NotFoundError
from assist.idempotency import mark_stored
from assist.models.calls import (
    Call,
    CallPublic,
    CallSummary,
    ComplianceAlert,
    Feedback,
    FeedbackPublic,
    NextStep,
    Suggestion,
    SuggestionMessage,
    Turn,
    TurnPublic,
)
from assist.models.common import new_id, utcnow
from assist.models.guard import GuardEvent
from assist.models.keys import ApiKey, CallAccess, Role

if TYPE_CHECKING:
    from assist.calls.replay import Replay

logger = logging.getLogger(__name__)

RATINGS = ("used", "helpful", "wrong")


class TurnNumberTaken(ConflictError):
    """Another server stored a turn of the call with this number first; the engine runs the turn again.

    Internal to the live call (CallEngine retries it); a ConflictError (409) only if it keeps happening.
    """

    def __init__(self, call_id: str, turn: int) -> None:
        super().__init__(f"call {call_id!r}: turn {turn} was stored by another server at the same moment; retry")


class CallLock:
    """One call's lock. The store's map holds it weakly: it lives while a thread holds or waits for it, and
    goes when the last one lets go, so asking about a call (known or not) leaves nothing behind."""

    __slots__ = ("_lock", "__weakref__")

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> CallLock:
        self._lock.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._lock.release()


#: the first key of the two-key advisory locks that serialise a call's turns across replicas (PostgreSQL)
TURN_LOCK_CLASS = 0x7A55  # "assist" turn locks; the second key is a 32-bit hash of the call id


def turn_lock_key(call_id: str) -> int:
    """The second key of a call's turn lock: a signed 32-bit hash of its id."""
    return int.from_bytes(hashlib.blake2b(call_id.encode("utf-8"), digest_size=4).digest(), "big", signed=True)


def message_of(s: Suggestion, checklist: list[NextStep]) -> SuggestionMessage:
    """The side panel's message for a stored suggestion, with the checklist as it stands."""
    return SuggestionMessage(
        id=s.id,
        call_id=s.call_id,
        turn=s.turn,
        query=s.query,
        answer=s.answer,
        citations=s.citations,
        next_steps=checklist,
        latency_ms=s.latency_ms,
        source=s.source,
        replaced_reason=s.replaced_reason,
        language=s.language,
        sentences=s.sentences,
        timings=s.timings,
    )


def alert_of(e: GuardEvent) -> ComplianceAlert:
    """The alert a stored guard event was shown as."""
    return ComplianceAlert(
        call_id=e.call_id or "",
        turn=e.turn or 0,
        speaker=e.speaker or "",
        action=e.action,
        matches=e.matches,
        advice=next((str(m["advice"]) for m in e.matches if m.get("advice")), ""),
        event_id=e.id,
    )


def _transcript(turns: list[Turn]) -> list[TurnPublic]:
    return [TurnPublic(turn=t.turn, speaker=t.speaker, text=t.text, created_at=t.created_at) for t in turns]


class CallStore:
    """Call states in memory (bounded) and in the database; reads, the end of a call and feedback.

    Thread-safe. A turn holds `lock(call_id)` while it loads, changes and persists the call's state.

    Args:
        db_engine: where calls, turns, suggestions, guard events and feedback are stored.
        redact: the redaction function (for feedback comments).
        max_cached_calls: how many call states (and owners) stay in memory.
    """

    def __init__(self, *, db_engine: Engine, redact: Callable[[str], str], max_cached_calls: int = 5000) -> None:
        if max_cached_calls < 1:
            raise ValueError(f"max_cached_calls must be positive, got {max_cached_calls}")
        self.db_engine = db_engine
        self.redact = redact
        self.max_cached_calls = max_cached_calls
        # SQLite only: one writer at a time inside the process (see persist). PostgreSQL takes concurrent
        # writers, and a process-wide lock there queued every call's turn behind the others' commits.
        self._write_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if db_engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        self._states: OrderedDict[str, CallState] = OrderedDict()
        self._states_guard = threading.Lock()
        self._owners: OrderedDict[str, str | None] = OrderedDict()
        self._locks: weakref.WeakValueDictionary[str, CallLock] = weakref.WeakValueDictionary()
        self._locks_guard = threading.Lock()
        self._lock_engine: Engine | None = None

    # -- across replicas ----------------------------------------------------------------------
    @contextmanager
    def across_replicas(self, call_id: str) -> Iterator[None]:
        """Hold the call's turn lock across every server on the database, for one final turn.

        PostgreSQL: a transaction-level advisory lock, on a connection of a pool of its own (a turn holds it
        while it takes database connections of the main pool, so sharing one pool could starve). So a turn
        on one replica starts after the call's previous turn on any other replica is stored, and reads the
        state it left (next_turn reloads it): two replicas never overwrite each other's checklist or
        context. SQLite (one process): nothing to do beyond `lock(call_id)`.
        """
        if self.db_engine.dialect.name != "postgresql":
            yield
            return
        if self._lock_engine is None:
            with self._locks_guard:
                if self._lock_engine is None:
                    pool = self.db_engine.pool
                    size = getattr(pool, "size", lambda: 5)()
                    # bounded: at most the main pool's size of turns hold a lock at once; more wait for one
                    self._lock_engine = create_engine(
                        self.db_engine.url, pool_size=size, max_overflow=0, pool_pre_ping=True
                    )
        with self._lock_engine.connect() as conn:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": TURN_LOCK_CLASS, "k": turn_lock_key(call_id)}
            )
            try:
                yield
            finally:
                conn.rollback()  # ends the transaction: the lock goes with it

    def dispose(self) -> None:
        """Close the turn locks' connections."""
        if self._lock_engine is not None:
            self._lock_engine.dispose()

    # -- memory -------------------------------------------------------------------------------
    def lock(self, call_id: str) -> CallLock:
        """The call's lock (turns of one call are serialised; different calls run in parallel)."""
        with self._locks_guard:
            lock = self._locks.get(call_id)
            if lock is None:
                lock = CallLock()
                self._locks[call_id] = lock
            return lock

    def cache(self, state: CallState) -> CallState:
        """Keep `state` in the LRU, unless another thread cached this call first: then that one is the state."""
        with self._states_guard:
            cached = self._states.get(state.call_id)
            if cached is not None:
                self._states.move_to_end(state.call_id)
                return cached
            self._states[state.call_id] = state
            while len(self._states) > self.max_cached_calls:
                self._states.popitem(last=False)
        self._remember_owner(state.call_id, state.owner_key_id)
        return state

    def evict(self, call_id: str) -> None:
        """Drop the call's state from memory (it is read back from the database next time)."""
        with self._states_guard:
            self._states.pop(call_id, None)

    def _remember_owner(self, call_id: str, owner: str | None) -> None:
        with self._states_guard:
            self._owners[call_id] = owner
            self._owners.move_to_end(call_id)
            while len(self._owners) > self.max_cached_calls:
                self._owners.popitem(last=False)

    def load(self, call_id: str) -> CallState:
        """The call's state, from memory or the database.

        Raises:
            NotFoundError: unknown call.
        """
        with self._states_guard:
            state = self._states.get(call_id)
            if state is not None:
                self._states.move_to_end(call_id)
                return state
        with Session(self.db_engine) as session:
            row = session.get(Call, call_id)
            if row is None:
                raise NotFoundError("call", call_id)
            state = CallState.from_json(call_id, row.state)
            state.status, state.agent_name, state.turn_count = row.status, row.agent_name, row.turn_count
            state.owner_key_id = row.agent_key_id
        return self.cache(state)

    def exists(self, call_id: str) -> bool:
        """True when the call is known (in memory or in the database)."""
        try:
            self.load(call_id)
        except NotFoundError:
            return False
        return True

    # -- who may do what ----------------------------------------------------------------------
    def owner_of(self, call_id: str) -> str | None:
        """The id of the key that started the call (None for a call with no recorded owner).

        Raises:
            NotFoundError: unknown call.
        """
        with self._states_guard:
            if call_id in self._owners:
                self._owners.move_to_end(call_id)
                return self._owners[call_id]
        with Session(self.db_engine) as session:
            row = session.get(Call, call_id)
            if row is None:
                raise NotFoundError("call", call_id)
            owner = row.agent_key_id
        self._remember_owner(call_id, owner)
        return owner

    def access(self, call_id: str, key: ApiKey) -> CallAccess:
        """What `key` may do with the call (assist.security.keys.call_access).

        Raises:
            NotFoundError: unknown call.
        """
        from assist.security.keys import call_access

        owner = self.owner_of(call_id)
        if Role(key.role) == Role.admin or (owner is not None and owner == key.id):
            return CallAccess.act  # the common case, without a database session
        with Session(self.db_engine) as session:
            return call_access(session, key=key, owner_key_id=owner)

    def call_of_suggestion(self, suggestion_id: str) -> str:
        """The call a suggestion was shown on.

        Raises:
            NotFoundError: unknown suggestion.
        """
        with Session(self.db_engine) as session:
            call_id = session.exec(select(Suggestion.call_id).where(Suggestion.id == suggestion_id)).first()
        if call_id is None:
            raise NotFoundError("suggestion", suggestion_id)
        return call_id

    # -- writes -------------------------------------------------------------------------------
    def create(self, *, agent: ApiKey | None = None) -> CallState:
        """Store a new call (owned by `agent`'s key) and cache its state."""
        call_id = new_id()
        state = CallState(
            call_id=call_id, agent_name=agent.name if agent else None, owner_key_id=agent.id if agent else None
        )
        with Session(self.db_engine) as session:
            session.add(
                Call(
                    id=call_id,
                    agent_key_id=agent.id if agent else None,
                    agent_name=state.agent_name,
                    team=agent.team if agent else None,
                    state=state.to_json(),
                )
            )
            session.commit()
        return self.cache(state)

    def next_turn(self, state: CallState) -> int:
        """The number the call's next turn will take, read from its row in the database; makes `state` current.

        Nothing is written here: `persist` takes the number, in the transaction that stores the turn, only if
        it is still free (``turn_count = number`` where ``turn_count = number - 1``). A server that dies while
        it works on a turn therefore leaves no gap in the call's numbers, and of two servers that read the same
        number for one call, the second to store is told to run its turn again (`TurnNumberTaken`). When the
        row shows that turns were stored elsewhere since `state` was cached (on another server), `state` is
        reloaded from the row first.

        Raises:
            NotFoundError: unknown call.
            ConflictError: the call has ended (on any server).
        """
        call_id = state.call_id
        with Session(self.db_engine, expire_on_commit=False) as session:
            row = session.get(Call, call_id)
            if row is None:
                raise NotFoundError("call", call_id)
            if row.status != "active":
                self.evict(call_id)
                state.status = row.status
                raise ConflictError(f"call {call_id!r} has ended")
            if row.turn_count != state.turn_count:  # turns were stored elsewhere: the cached state is stale
                fresh = CallState.from_json(call_id, row.state)
                for name in CallState.__dataclass_fields__:
                    if name not in ("call_id", "owner_key_id"):
                        setattr(state, name, getattr(fresh, name))
                state.status, state.agent_name = row.status, row.agent_name
                logger.info("call state reloaded: turns were taken elsewhere", extra={"call_id": call_id})
            number = row.turn_count + 1
        state.turn_count = number
        return number

    def persist(
        self,
        state: CallState,
        *,
        turn: int,
        speaker: str,
        clean: str,
        suggestion: Suggestion | None,
        events: list[GuardEvent],
        checklist: list[NextStep],
    ) -> None:
        """Store one final turn: the call's state and checklist, the (redacted) turn, its suggestion and events.

        Raises:
            NotFoundError: the call's row is gone.
            ConflictError: the call ended (on another server) while the turn ran.
            TurnNumberTaken: another server stored a turn of this call with the number first: run it again.
        """
        # On SQLite, one writer at a time inside the process: SQLite allows one anyway, and its busy handler backs
        # off with sleeps of up to 100 ms, which under 50 calls made this the slowest stage (p95 73 ms). Not on
        # PostgreSQL (bench_calls --replicas: persist p95 4.7 s at 30 calls with the lock, on a loaded machine).
        with self._write_lock, Session(self.db_engine, expire_on_commit=False) as session:
            # One UPDATE, not a load of the row and a save: this runs after every turn of every call.
            # the turn takes its number only if it is still free and the call still active, with the turn's row
            changed = session.execute(
                update(Call)
                .where(col(Call.id) == state.call_id, col(Call.turn_count) == turn - 1, col(Call.status) == "active")
                .values(
                    turn_count=turn,
                    topics=list(state.topics),
                    checklist=[s.model_dump() for s in checklist],
                    state=state.to_json(),
                )
            )
            if cast("CursorResult[Any]", changed).rowcount == 0:  # an UPDATE's result carries its row count
                session.rollback()
                row = session.get(Call, state.call_id)
                if row is None:
                    raise NotFoundError("call", state.call_id)
                if row.status != "active":
                    raise ConflictError(f"call {state.call_id!r} has ended")
                raise TurnNumberTaken(state.call_id, turn)
            session.add(Turn(call_id=state.call_id, turn=turn, speaker=speaker, text=clean, created_at=utcnow()))
            if suggestion is not None:
                session.add(suggestion)
            for e in events:
                session.add(e)
            mark_stored(session, call_id=state.call_id, turn=turn)  # a retry of this request gets this turn
            session.commit()

    def feedback(self, suggestion_id: str, *, rating: str, comment: str | None) -> FeedbackPublic:
        """Record an agent's rating of a suggestion (the comment redacted).

        Raises:
            InvalidInputError: an unknown rating.
            NotFoundError: unknown suggestion.
        """
        if rating not in RATINGS:
            raise InvalidInputError(f"rating must be used, helpful or wrong, got {rating!r}")
        with Session(self.db_engine, expire_on_commit=False) as session:
            if session.get(Suggestion, suggestion_id) is None:
                raise NotFoundError("suggestion", suggestion_id)
            row = Feedback(
                suggestion_id=suggestion_id, rating=rating, comment=self.redact(comment) if comment else None
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return FeedbackPublic.model_validate(row, from_attributes=True)

    # -- reading and ending -------------------------------------------------------------------
    def _rows(self, session: Session, call_id: str) -> tuple[Call, list[Turn], list[Suggestion], list[GuardEvent]]:
        row = session.get(Call, call_id)
        if row is None:
            raise NotFoundError("call", call_id)
        turns = list(session.exec(select(Turn).where(Turn.call_id == call_id).order_by(col(Turn.turn))))
        sugg = list(
            session.exec(select(Suggestion).where(Suggestion.call_id == call_id).order_by(col(Suggestion.turn)))
        )
        events = list(
            session.exec(select(GuardEvent).where(GuardEvent.call_id == call_id).order_by(col(GuardEvent.id)))
        )
        return row, turns, sugg, events

    def stored_since(self, call_id: str, *, after: int) -> Replay:
        """The stored alerts and suggestions of the turns after `after`, and the checklist (a resuming socket)."""
        from assist.calls.replay import stored_messages

        return stored_messages(self.db_engine, call_id, after=after)

    def last_turn(self, call_id: str) -> int:
        """The number of the call's last turn, as stored (every replica's turns counted)."""
        from assist.calls.replay import last_turn

        return last_turn(self.db_engine, call_id)

    def get_call(self, call_id: str) -> CallPublic:
        """The redacted transcript, suggestions, checklist and alerts of a call.

        Raises:
            NotFoundError: unknown call.
        """
        with Session(self.db_engine) as session:
            row, turns, sugg, events = self._rows(session, call_id)
            return CallPublic(
                id=row.id,
                status=row.status,
                agent_name=row.agent_name,
                topics=list(row.topics),
                checklist=[NextStep(**s) for s in row.checklist],
                turns=_transcript(turns),
                suggestions=[message_of(s, [NextStep(**n) for n in s.next_steps]) for s in sugg],
                alerts=[alert_of(e) for e in events],
                created_at=row.created_at,
                ended_at=row.ended_at,
            )

    def end_call(self, call_id: str) -> CallSummary:
        """Close the call (idempotent), let its state go from memory, and return the after-call summary.

        The caller holds `lock(call_id)`.

        Raises:
            NotFoundError: unknown call.
        """
        state = self.load(call_id)
        with Session(self.db_engine, expire_on_commit=False) as session:
            row, turns, sugg, events = self._rows(session, call_id)
            if row.status != "ended":
                row.status = "ended"
                row.ended_at = utcnow()
                state.status = "ended"
                row.state = state.to_json()
                session.add(row)
                session.commit()
        self.evict(call_id)  # an ended call takes no more turns: its state need not stay in memory
        checklist = [NextStep(**s) for s in row.checklist]
        logger.info("call ended", extra={"call_id": call_id, "turns": len(turns)})
        return CallSummary(
            call_id=call_id,
            status=row.status,
            topics=list(row.topics),
            documents_cited=list(state.documents_cited.values()),
            steps_done=[s for s in checklist if s.done],
            steps_pending=[s for s in checklist if not s.done],
            alerts=[alert_of(e) for e in events],
            transcript=_transcript(turns),
            suggestions=len(sugg),
            ended_at=row.ended_at,
        )
