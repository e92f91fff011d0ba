"""What the live engine calls once a call has ended: its QA scorecard is computed and stored.

The app hands an :class:`EndOfCallScoring` to the engine (`CallEngine.on_call_ended`). Scoring runs on one
background thread, so the end-of-call response does not wait for it; `GET /v1/calls/{id}/scorecard` still
computes a scorecard that is not stored yet (a restart dropped the queue, or the request came first), and
`ensure_scorecard` keeps one scorecard per call whichever comes first.

While the call goes on, `turn_said` (called by the engine after each final turn, through `TurnHooks`) queues
the reading by meaning of each agent turn the live engine did not embed (a line the guard blocked) on the
same thread: its vector and the steps the turn model reads in it. Scoring after the end then reads
what is ready instead of running the model (issue #19: scoring adds at most 50 ms after the call ends).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from assist.aftercall.scorecards import ensure_scorecard

logger = logging.getLogger(__name__)


class EndOfCallScoring:
    """Score every ended call (idempotent: a call scored before keeps its scorecard).

    Args:
        db_engine: where calls and scorecards are stored.
        aftercall: the app's AfterCall (its rubric and playbooks are loaded on the first call scored).
        fcr_window_days: the first-contact-resolution window (a repeat contact is linked when scoring).
        background: score on a background thread (the default); False scores inside the call (tools, tests).
    """

    def __init__(self, *, db_engine: Engine, aftercall: Any, fcr_window_days: int = 7, background: bool = True) -> None:
        if fcr_window_days < 1:
            raise ValueError(f"fcr_window_days must be positive, got {fcr_window_days}")
        self.db_engine = db_engine
        self.aftercall = aftercall
        self.fcr_window_days = fcr_window_days
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring") if background else None
        self._pending: set[Future[None]] = set()
        self._guard = threading.Lock()
        self.scored = 0
        self.failed = 0
        self.last_ms: float | None = None

    def __call__(self, call_id: str) -> None:
        """Queue the call's scoring (never raises: a failure is logged, the scorecard is then made on request)."""
        if self._pool is None:
            self.score(call_id)
            return
        try:
            future = self._pool.submit(self.score, call_id)
        except RuntimeError:  # shut down: the scorecard is computed when first asked for
            logger.warning("scoring stopped; call not scored now", extra={"call_id": call_id})
            return
        with self._guard:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def turn_said(self, call_id: str, turn: int, speaker: str, clean: str) -> None:
        """Queue the reading of an agent turn the live engine did not embed (a line the guard blocked) by
        meaning (the engine's `on_turn`; never raises, never waits). A turn with a live vector is left alone:
        scoring reads it from the cache, and nothing runs beside the next turns."""
        meaning = getattr(self.aftercall, "meaning", None)
        if speaker != "agent" or self._pool is None or meaning is None or meaning.vectors.cached(clean) is not None:
            return
        try:
            future = self._pool.submit(self._prepare, call_id, turn, clean)
        except RuntimeError:  # shut down: the turn is read when the call is scored
            return
        with self._guard:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _prepare(self, call_id: str, turn: int, clean: str) -> None:
        try:
            judge = self.aftercall.judge
            if judge is not None:
                judge.prepare(clean, self.aftercall.rubric.criteria)
        except Exception:  # scoring reads the turn itself then
            logger.exception("reading an agent turn ahead of scoring failed", extra={"call_id": call_id, "turn": turn})

    def _done(self, future: Future[None]) -> None:
        with self._guard:
            self._pending.discard(future)

    def score(self, call_id: str) -> None:
        """Compute and store the call's scorecard now (errors are logged and counted, not raised)."""
        t0 = time.perf_counter()
        try:
            with Session(self.db_engine, expire_on_commit=False) as session:
                ensure_scorecard(
                    session,
                    call_id=call_id,
                    rubric=self.aftercall.rubric,
                    playbooks=self.aftercall.playbooks,
                    fcr_window_days=self.fcr_window_days,
                    chooser=self.aftercall.chooser,
                    judge=self.aftercall.judge,
                )
        except Exception:
            self.failed += 1
            logger.exception(
                "scoring an ended call failed; it is scored when first asked for", extra={"call_id": call_id}
            )
            return
        self.last_ms = round((time.perf_counter() - t0) * 1000, 3)
        self.scored += 1

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued scoring is done; True when none is left (for tools, tests and shutdown)."""
        with self._guard:
            pending = list(self._pending)
        done, not_done = wait(pending, timeout=timeout_s)
        return not not_done

    def close(self) -> None:
        """Finish the queued scorings and stop the thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class TurnHooks:
    """Several `CallEngine.on_turn` hooks as one, called in order (each must not raise or wait)."""

    def __init__(self, *hooks: Callable[[str, int, str, str], None] | None) -> None:
        self.hooks = [h for h in hooks if h is not None]

    def __call__(self, call_id: str, turn: int, speaker: str, clean: str) -> None:
        for hook in self.hooks:
            hook(call_id, turn, speaker, clean)
