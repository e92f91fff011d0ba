"""What the live engine calls once a call has ended: its QA scorecard is computed and stored.

The app hands an :class:`EndOfCallScoring` to the engine (`CallEngine.on_call_ended`). Scoring runs on one
background thread, so the end-of-call response does not wait for it; `GET /v1/calls/{id}/scorecard` still
computes a scorecard that is not stored yet (a restart dropped the queue, or the request came first), and
`ensure_scorecard` keeps one scorecard per call whichever comes first.
"""

from __future__ import annotations

import logging
import threading
import time
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
