"""Fan-out of a call's results to every socket watching it.

In a contact center the turns rarely come from the panel itself: the telephony or ASR connector posts
them (`POST /v1/calls/{id}/utterances`, or its own socket), while the agent's side panel, and perhaps a
supervisor's, listen on `WS /v1/calls/{id}/stream`. The hub delivers each turn's alerts, suggestion and
checklist update to all of them.

The hub lives in one process. With several server processes, put the connector and the panels of a call
on the same process (sticky routing by call id).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

from assist.calls.messages import ServerMessage

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscriber:
    """One socket's inbox; filled from any thread, drained by the socket's own task."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[ServerMessage] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    dropped: int = 0

    def offer(self, message: ServerMessage) -> None:
        """Runs on the subscriber's loop: enqueue, or count a drop when a stalled socket's inbox is full."""
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1


class CallHub:
    """call id → the subscribers watching it. Thread-safe: publish() may run on any thread."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscriber]] = {}
        self._lock = threading.Lock()

    def subscribe(self, call_id: str) -> Subscriber:
        """Register the calling socket (call from its event loop)."""
        sub = Subscriber(loop=asyncio.get_running_loop())
        with self._lock:
            self._subs.setdefault(call_id, set()).add(sub)
        return sub

    def unsubscribe(self, call_id: str, sub: Subscriber) -> None:
        with self._lock:
            subs = self._subs.get(call_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[call_id]
        if sub.dropped:
            logger.warning("a slow socket missed messages", extra={"call_id": call_id, "dropped": sub.dropped})

    def publish(self, call_id: str, messages: list[ServerMessage], *, exclude: Subscriber | None = None) -> int:
        """Deliver `messages`, in order, to every subscriber of the call but `exclude`; returns how many."""
        with self._lock:
            targets = [s for s in self._subs.get(call_id, ()) if s is not exclude]
        for sub in targets:
            for m in messages:
                try:
                    sub.loop.call_soon_threadsafe(sub.offer, m)
                except RuntimeError:  # that socket's loop has closed: it is going away
                    break
        return len(targets)
