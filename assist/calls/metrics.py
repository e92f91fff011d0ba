"""Prometheus metrics, hand-written in the text exposition format (no client library needed)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

LATENCY_BUCKETS_MS = (5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 150.0, 250.0, 500.0, 1000.0, 2500.0)


def elapsed_ms(t0: float) -> float:
    """Milliseconds since `t0` (a `time.perf_counter()` reading), to the microsecond: a turn's timings."""
    return round((time.perf_counter() - t0) * 1000, 3)


class Metrics:
    """Counters of turns, suggestions and alerts, and a histogram of suggestion latency."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS_MS) -> None:
        if list(buckets) != sorted(buckets) or not buckets:
            raise ValueError(f"buckets must be non-empty and ascending, got {buckets}")
        self.buckets = buckets
        self._lock = threading.Lock()
        self.turns: dict[str, int] = defaultdict(int)
        self.suggestions: dict[str, int] = defaultdict(int)
        self.alerts: dict[str, int] = defaultdict(int)
        self.errors = 0
        self.calls_started = 0
        self._bucket_counts = [0] * len(buckets)
        self._count = 0
        self._sum = 0.0

    def turn(self, speaker: str) -> None:
        """Count one final turn."""
        with self._lock:
            self.turns[speaker] += 1

    def suggestion(self, source: str, latency_ms: float) -> None:
        """Count one suggestion and observe its latency."""
        with self._lock:
            self.suggestions[source] += 1
            self._count += 1
            self._sum += latency_ms
            for i, b in enumerate(self.buckets):
                if latency_ms <= b:
                    self._bucket_counts[i] += 1

    def alert(self, action: str) -> None:
        """Count one compliance alert."""
        with self._lock:
            self.alerts[action] += 1

    def error(self) -> None:
        """Count one turn that failed."""
        with self._lock:
            self.errors += 1

    def call_started(self) -> None:
        """Count one new call."""
        with self._lock:
            self.calls_started += 1

    def render(self) -> str:
        """The exposition text."""
        with self._lock:
            lines = [
                "# HELP assist_calls_started_total Calls started.",
                "# TYPE assist_calls_started_total counter",
                f"assist_calls_started_total {self.calls_started}",
                "# HELP assist_turns_total Final turns received, by speaker.",
                "# TYPE assist_turns_total counter",
            ]
            lines += [f'assist_turns_total{{speaker="{k}"}} {v}' for k, v in sorted(self.turns.items())]
            lines += [
                "# HELP assist_suggestions_total Suggestions sent, by source.",
                "# TYPE assist_suggestions_total counter",
            ]
            lines += [f'assist_suggestions_total{{source="{k}"}} {v}' for k, v in sorted(self.suggestions.items())]
            lines += [
                "# HELP assist_alerts_total Compliance alerts on agent turns, by action.",
                "# TYPE assist_alerts_total counter",
            ]
            lines += [f'assist_alerts_total{{action="{k}"}} {v}' for k, v in sorted(self.alerts.items())]
            lines += [
                "# HELP assist_turn_errors_total Turns that failed inside the engine.",
                "# TYPE assist_turn_errors_total counter",
                f"assist_turn_errors_total {self.errors}",
                "# HELP assist_suggestion_latency_ms Engine time from a final turn to its suggestion.",
                "# TYPE assist_suggestion_latency_ms histogram",
            ]
            for b, c in zip(self.buckets, self._bucket_counts, strict=True):
                lines.append(f'assist_suggestion_latency_ms_bucket{{le="{b:g}"}} {c}')
            lines.append(f'assist_suggestion_latency_ms_bucket{{le="+Inf"}} {self._count}')
            lines.append(f"assist_suggestion_latency_ms_sum {self._sum:.3f}")
            lines.append(f"assist_suggestion_latency_ms_count {self._count}")
        return "\n".join(lines) + "\n"
