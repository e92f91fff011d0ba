"""Fan-out of a call's results to every socket watching it, on this server and on every other one.

In a contact center the turns rarely come from the panel itself: the telephony or ASR connector posts
them (`POST /v1/calls/{id}/utterances`, or its own socket), while the agent's side panel, and perhaps a
supervisor's, listen on `WS /v1/calls/{id}/stream`. The hub delivers each turn's alerts, suggestion and
checklist update to all of them, in turn order.

Two hubs share the `Hub` protocol:

- `CallHub` (this module): in one process, the default on SQLite.
- `PostgresHub` (assist/calls/pg_hub.py): the same, plus PostgreSQL LISTEN/NOTIFY, so that a socket on any
  replica behind a plain load balancer gets the turns posted to any other one (no sticky routing).

Order: every final turn is published, even one with nothing to show, with its number (assigned by the
database, unique per call). The `Sequencer` hands a call's turns on in number order: a turn that arrives
before the one it follows is held until that one arrives, or for `gap_s` at most (a turn that failed after
taking its number is never published). A second copy of a turn handed on already is dropped, so a replica
may publish a turn again (a retried POST replayed from the idempotency record) without a socket seeing it twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from assist.calls.messages import ServerMessage

logger = logging.getLogger(__name__)

#: how many skipped turn numbers a call remembers (a very late turn among them is still handed on, once)
MAX_SKIPPED = 64

#: What a change announcement names: the rules (the guard reloads them) or the knowledge base (the index
#: catches up incrementally).
CHANGES = ("rules", "knowledge")


def _no_lag(_seconds: float) -> None:
    """The default notify-lag hook: nothing (the metrics work sets a histogram's observe here)."""


@dataclass(eq=False)
class Subscriber:
    """One socket's inbox; filled from any thread, drained by the socket's own task.

    `through`: the last turn this socket already has (from a resume's replay); later deliveries of turns up
    to it are skipped by the socket's forwarder, so a resumed socket sees each turn once.
    """

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[ServerMessage] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    dropped: int = 0
    through: int = 0

    def offer(self, message: ServerMessage) -> None:
        """Runs on the subscriber's loop: enqueue, or count a drop when a stalled socket's inbox is full."""
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1

    def wants(self, message: ServerMessage) -> bool:
        """False for a message of a turn this socket got already from its resume's replay."""
        turn = getattr(message, "turn", None)
        return not (isinstance(turn, int) and turn <= self.through)


@runtime_checkable
class Hub(Protocol):
    """Where a call's results go out to its sockets, and where changes are announced to every replica."""

    #: called with the seconds between a remote publish and its arrival here (a metrics histogram)
    on_notify_lag: Callable[[float], None]
    #: called (on a worker thread) with "rules" or "knowledge" when another replica announced a change
    on_change: Callable[[str], None] | None

    def start(self) -> None:
        """Begin listening (a no-op for a hub in one process)."""

    def close(self) -> None:
        """Stop listening and let go of connections."""

    def subscribe(self, call_id: str) -> Subscriber:
        """Register the calling socket (call from its event loop)."""

    def sequence_from(self, call_id: str, turn: int) -> None:
        """The last turn of the call stored before the socket subscribed (see `Sequencer.start`)."""

    def unsubscribe(self, call_id: str, sub: Subscriber) -> None:
        """Forget a socket."""

    def publish(
        self, call_id: str, messages: list[ServerMessage], *, turn: int | None = None, exclude: Subscriber | None = None
    ) -> int:
        """Deliver a turn's `messages`, in turn order, to every socket on the call but `exclude`."""

    def announce(self, what: str) -> None:
        """Tell every replica that `what` ("rules" or "knowledge") changed in the database."""


@dataclass
class _Held:
    """A turn that arrived before the one it follows."""

    messages: list[ServerMessage]
    exclude: Subscriber | None
    deadline: float


class Sequencer:
    """Hands each call's turns on in number order (see the module's docstring). Thread-safe.

    Args:
        deliver: called with (call_id, messages, exclude) in order; must not block.
        gap_s: how long a later turn waits for a missing one.
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        deliver: Callable[[str, list[ServerMessage], Subscriber | None], None],
        *,
        gap_s: float = 1.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if gap_s < 0:
            raise ValueError(f"gap_s must not be negative, got {gap_s}")
        import time

        self.deliver, self.gap_s, self.clock = deliver, gap_s, clock or time.monotonic
        self._last: dict[str, int] = {}
        self._held: dict[str, dict[int, _Held]] = {}
        self._skipped: dict[str, set[int]] = {}  # turns gone past (their gap expired): still welcome, once
        self._lock = threading.Lock()

    def push(self, call_id: str, turn: int | None, messages: list[ServerMessage], exclude: Subscriber | None) -> None:
        """A turn's messages (turn None: an interim turn's, unordered): delivered now, or held."""
        ready: list[tuple[list[ServerMessage], Subscriber | None]] = []
        with self._lock:
            last = self._last.get(call_id)
            if turn is not None and last is not None and turn <= last:
                if turn not in self._skipped.get(call_id, ()):
                    return  # a second copy of a turn handed on already (a retried POST replayed elsewhere)
                self._skipped[call_id].discard(turn)
                ready.append((messages, exclude))  # late, past its gap: handed on rather than lost
            elif turn is None or last is None or turn == last + 1:
                if turn is not None:
                    self._last[call_id] = turn
                ready.append((messages, exclude))
                ready += self._release(call_id)
            else:
                self._held.setdefault(call_id, {}).setdefault(turn, _Held(messages, exclude, self.clock() + self.gap_s))
        for msgs, exc in ready:
            if msgs:
                self.deliver(call_id, msgs, exc)

    def _release(self, call_id: str, *, expired: bool = False) -> list[tuple[list[ServerMessage], Subscriber | None]]:
        """The held turns that may go now (lock held): the next ones in order; past a deadline, the gap is skipped."""
        held = self._held.get(call_id)
        out: list[tuple[list[ServerMessage], Subscriber | None]] = []
        while held:
            nxt = min(held)
            last = self._last.get(call_id, nxt - 1)
            if nxt > last + 1 and not (expired and held[nxt].deadline <= self.clock()):
                break
            h = held.pop(nxt)
            if nxt > last + 1:
                logger.info("turns never published; going on without them", extra={"call_id": call_id, "turn": nxt})
                skipped = self._skipped.setdefault(call_id, set())
                skipped.update(range(last + 1, nxt))
                for old in sorted(skipped)[:-MAX_SKIPPED]:
                    skipped.discard(old)
            self._last[call_id] = max(nxt, last)
            out.append((h.messages, h.exclude))
        if not held:
            self._held.pop(call_id, None)
        return out

    def expire(self) -> None:
        """Deliver what waited past its deadline for a turn that never came."""
        ready: list[tuple[str, list[ServerMessage], Subscriber | None]] = []
        with self._lock:
            for call_id in list(self._held):
                ready += [(call_id, m, e) for m, e in self._release(call_id, expired=True)]
        for call_id, msgs, exc in ready:
            if msgs:
                self.deliver(call_id, msgs, exc)

    def next_deadline(self) -> float | None:
        """The earliest deadline of a held turn, or None."""
        with self._lock:
            return min((h.deadline for held in self._held.values() for h in held.values()), default=None)

    def start(self, call_id: str, turn: int) -> None:
        """Order the call's turns after `turn` (the last one stored when a socket subscribed), unless turns
        of the call pass through already: so the first turns a new socket gets are in order too."""
        with self._lock:
            self._last.setdefault(call_id, turn)

    def forget(self, call_id: str) -> None:
        """Drop a call's order (its last socket here went away)."""
        with self._lock:
            self._last.pop(call_id, None)
            self._held.pop(call_id, None)
            self._skipped.pop(call_id, None)


class CallHub:
    """call id → the subscribers watching it, in this process. Thread-safe: publish() may run on any thread.

    Args:
        gap_s: how long a turn waits for the one before it (see `Sequencer`).
    """

    def __init__(self, *, gap_s: float = 1.0) -> None:
        self._subs: dict[str, set[Subscriber]] = {}
        self._lock = threading.Lock()
        self.sequencer = Sequencer(self._deliver, gap_s=gap_s)
        self.on_notify_lag: Callable[[float], None] = _no_lag
        self.on_change: Callable[[str], None] | None = None
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        """Nothing to start in one process."""

    def close(self) -> None:
        """Cancel a pending gap timer."""
        if self._timer is not None:
            self._timer.cancel()

    def subscribe(self, call_id: str) -> Subscriber:
        """Register the calling socket (call from its event loop)."""
        sub = Subscriber(loop=asyncio.get_running_loop())
        with self._lock:
            self._subs.setdefault(call_id, set()).add(sub)
        return sub

    def sequence_from(self, call_id: str, turn: int) -> None:
        """The last turn of the call stored before the socket subscribed (see `Sequencer.start`)."""
        self.sequencer.start(call_id, turn)

    def unsubscribe(self, call_id: str, sub: Subscriber) -> None:
        """Forget a socket (and the call's order when it was the last one here)."""
        with self._lock:
            subs = self._subs.get(call_id)
            last = False
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[call_id]
                    last = True
        if last:
            self.sequencer.forget(call_id)
        if sub.dropped:
            logger.warning("a slow socket missed messages", extra={"call_id": call_id, "dropped": sub.dropped})

    def watched(self, call_id: str) -> bool:
        """True when a socket here watches the call."""
        with self._lock:
            return call_id in self._subs

    def publish(
        self, call_id: str, messages: list[ServerMessage], *, turn: int | None = None, exclude: Subscriber | None = None
    ) -> int:
        """Deliver `messages` of `turn`, in turn order, to every subscriber of the call but `exclude`.

        Publish every final turn, even with no messages: the next turn waits for it. Returns how many
        subscribers watch the call here.
        """
        with self._lock:
            n = len(self._subs.get(call_id, ()))
        if n:
            self.local(call_id, turn, messages, exclude)
        return n

    def local(self, call_id: str, turn: int | None, messages: list[ServerMessage], exclude: Subscriber | None) -> None:
        """Hand a turn to this process's sockets through the sequencer."""
        self.sequencer.push(call_id, turn, messages, exclude)
        self._arm_timer()

    def _arm_timer(self) -> None:
        """Make sure a held turn goes out at its deadline even if no other turn comes."""
        deadline = self.sequencer.next_deadline()
        if deadline is None or (self._timer is not None and self._timer.is_alive()):
            return
        delay = max(0.0, deadline - self.sequencer.clock()) + 0.01
        self._timer = threading.Timer(delay, self._on_timer)
        self._timer.daemon = True
        self._timer.start()

    def _on_timer(self) -> None:
        self._timer = None
        self.sequencer.expire()
        self._arm_timer()

    def announce(self, what: str) -> None:
        """In one process there is nobody else to tell (the change was made here)."""
        if what not in CHANGES:
            raise ValueError(f"unknown change {what!r}: expected one of {CHANGES}")

    def _deliver(self, call_id: str, messages: list[ServerMessage], exclude: Subscriber | None) -> None:
        with self._lock:
            targets = [s for s in self._subs.get(call_id, ()) if s is not exclude]
        for sub in targets:
            for m in messages:
                try:
                    sub.loop.call_soon_threadsafe(sub.offer, m)
                except RuntimeError:  # that socket's loop has closed: it is going away
                    break
