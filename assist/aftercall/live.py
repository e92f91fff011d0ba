"""Ticket values extracted on the live path: each final turn once, as it arrives (issue #19).

The engine calls `LiveTicketValues` after every final turn (`CallEngine.on_turn`); the panel's ticket draft
(`GET /v1/calls/{id}/ticket`, asked after every turn) then reads the values kept here instead of extracting
every turn of the call again. Values are kept per call (bounded: the least recently used calls go); a call
this process did not see (another server, a restart) is extracted from its stored turns as before.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, date, datetime

from assist.aftercall.extract import extract_turn
from assist.aftercall.numbers import Value

logger = logging.getLogger(__name__)


class LiveTicketValues:
    """Per call: the day relative dates resolve against, and each turn's extracted values.

    Args:
        max_calls: calls kept (the least recently used go first).
    """

    def __init__(self, *, max_calls: int = 5000) -> None:
        if max_calls < 1:
            raise ValueError(f"max_calls must be positive, got {max_calls}")
        self.max_calls = max_calls
        self._calls: OrderedDict[str, tuple[date, dict[int, list[Value]]]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, call_id: str, turn: int, speaker: str, clean: str) -> None:
        """Extract one redacted final turn's values (never raises: the turn is served regardless)."""
        try:
            with self._lock:
                day, turns = self._calls.get(call_id) or (datetime.now(UTC).date(), {})
            found = extract_turn(clean, turn=turn, ref_date=day)
            with self._lock:
                turns[turn] = found
                self._calls[call_id] = (day, turns)
                self._calls.move_to_end(call_id)
                while len(self._calls) > self.max_calls:
                    self._calls.popitem(last=False)
        except Exception:
            logger.exception("ticket extraction failed on a turn", extra={"call_id": call_id, "turn": turn})

    def values(self, call_id: str, *, turns: list[int], ref_date: date) -> list[Value] | None:
        """The values of exactly these turns, extracted against `ref_date`; None when any is missing (the
        caller extracts them from the stored turns)."""
        with self._lock:
            kept = self._calls.get(call_id)
            if kept is None or kept[0] != ref_date or any(n not in kept[1] for n in turns):
                return None
            return [v for n in turns for v in kept[1][n]]
