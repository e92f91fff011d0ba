"""What the live-call engine records: its counters, the turn and per-stage latencies, and a turn's timings.

The series themselves are assist/observability/metrics.py's (prometheus-client, aggregated across the
processes of a host); this is the engine's view of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from assist.observability import metrics as m


def elapsed_ms(t0: float) -> float:
    """Milliseconds since `t0` (a `time.perf_counter()` reading), to the microsecond: a turn's timings."""
    return round((time.perf_counter() - t0) * 1000, 3)


class Metrics:
    """The live call's counters and histograms (the process's Prometheus series)."""

    def turn(self, speaker: str) -> None:
        """Count one final turn."""
        m.TURNS.labels(speaker=speaker).inc()

    def turn_done(self, speaker: str, seconds: float) -> None:
        """Observe the engine time of one final turn."""
        m.TURN_DURATION.labels(speaker=speaker).observe(max(0.0, seconds))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Observe the time spent inside the block as stage `name` (one of assist.observability.metrics.STAGES)."""
        if name not in m.STAGES:
            raise ValueError(f"unknown stage {name!r}: use one of {', '.join(m.STAGES)}")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            m.observe_stage(name, time.perf_counter() - t0)

    def stage_took(self, name: str, seconds: float) -> None:
        """Observe `seconds` spent in stage `name` (ValueError for a name not in STAGES)."""
        m.observe_stage(name, seconds)

    def suggestion(self, source: str, latency_ms: float) -> None:
        """Count one suggestion and observe its latency (given in milliseconds, recorded in seconds)."""
        m.SUGGESTIONS.labels(source=source).inc()
        m.SUGGESTION_LATENCY.observe(max(0.0, latency_ms) / 1000)

    def alert(self, action: str) -> None:
        """Count one compliance alert."""
        m.ALERTS.labels(action=action).inc()

    def error(self) -> None:
        """Count one turn that failed."""
        m.TURN_ERRORS.inc()

    def call_started(self) -> None:
        """Count one new call."""
        m.CALLS_STARTED.inc()
