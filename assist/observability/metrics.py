"""The service's Prometheus metrics (prometheus-client), and the text a scrape of /metrics gets.

One process: the values live in the process, and its /metrics shows them.

Several processes on one host (``assist serve --workers N``, or several servers side by side): give them all
the same ``PROMETHEUS_MULTIPROC_DIR`` before they start. Each process then writes its values to memory-mapped
files there, and the /metrics of any of them reads the whole directory: one scrape shows every process,
counters and histograms summed, the open-socket gauge summed over the processes still alive ("livesum").
``assist serve`` prepares the directory at start (assist/observability/multiproc.py); with ``--workers`` above
1 and no directory given it uses ``<ASSIST_DATA_DIR>/metrics``.

What the database and the loaded indexes hold (calls in progress, index size, first-contact resolution) is
read when the scrape comes (assist/observability/collect.py), so every replica reports the same truth.

Naming follows Prometheus: the ``assist_`` prefix, base units (``_seconds``), counters end in ``_total``
(prometheus-client adds the suffix to a Counter's name).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from assist.observability.multiproc import MULTIPROC_ENV, forget_dead_processes, multiprocess_dir

logger = logging.getLogger(__name__)

# The classic text format, understood by every Prometheus (the one /metrics has always answered with).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The stages of a live turn, one class each in assist/calls/ (the `stage` label of the stage histogram).
STAGES = ("reading", "retrieve", "rank", "answer", "alerts", "next_steps", "store")
SPEAKERS = ("customer", "agent")

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# prometheus-client chooses in-process or file-backed values when it is first imported; the variable may have
# been set after that: choose again, before any metric exists. The values of this process stay where they
# were put now, so a scrape reads the directory known now (MODE_DIR), not one set later.
MODE_DIR = multiprocess_dir()
if MODE_DIR is not None and not (MODE_DIR.is_dir() and os.access(MODE_DIR, os.W_OK | os.X_OK)):
    # Only `assist serve` prepares the directory; another command (an ingest, a replay) run with the variable
    # set but no usable directory keeps its figures to itself rather than fail.
    logger.warning(
        "%s=%s is not a directory this process can write: its metrics stay in the process", MULTIPROC_ENV, MODE_DIR
    )
    MODE_DIR = None
values.ValueClass = values.get_value_class() if MODE_DIR is not None else values.MutexValue  # type: ignore[no-untyped-call]
# `_created` series exist in one-process mode only: leave them out, so both modes expose the same names.
disable_created_metrics()  # type: ignore[no-untyped-call]

CALLS_STARTED = Counter("assist_calls_started", "Calls started.")
TURNS = Counter("assist_turns", "Final turns received, by speaker.", ["speaker"])
SUGGESTIONS = Counter("assist_suggestions", "Suggestions sent, by source.", ["source"])
ALERTS = Counter("assist_alerts", "Compliance alerts on a call's turns, by action.", ["action"])
TURN_ERRORS = Counter("assist_turn_errors", "Turns that failed inside the engine.")
SUGGESTION_LATENCY = Histogram(
    "assist_suggestion_latency_seconds",
    "Engine time from a final turn to its suggestion.",
    buckets=TURN_BUCKETS,
)
TURN_DURATION = Histogram(
    "assist_turn_duration_seconds",
    "Engine time of a final turn, from its arrival to its result (suggestion, alerts, checklist), by speaker.",
    ["speaker"],
    buckets=TURN_BUCKETS,
)
STAGE_DURATION = Histogram(
    "assist_call_stage_duration_seconds",
    "Time a final turn spent in one stage of the live call (assist/calls/), by stage.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
GUARD_VERDICTS = Counter(
    "assist_guard_verdicts",
    "Verdicts of the compliance guard, by action, the layer that decided it (none for allow) and speaker.",
    ["action", "layer", "speaker"],
)
HTTP_REQUESTS = Counter(
    "assist_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
OPEN_SOCKETS = Gauge(
    "assist_open_sockets",
    "WebSocket connections open now (summed over the live processes).",
    multiprocess_mode="livesum",
)
NOTIFY_LAG = Histogram(
    "assist_notify_lag_seconds",
    "Time from a message announced by one replica (a turn's results, a rule or document change) to its "
    "arrival on this one.",
    buckets=LAG_BUCKETS,
)

for _stage in STAGES:  # every stage's histogram is exposed from the start, at zero
    STAGE_DURATION.labels(stage=_stage)
for _speaker in SPEAKERS:
    TURNS.labels(speaker=_speaker)
    TURN_DURATION.labels(speaker=_speaker)


def observe_notify_lag(seconds: float) -> None:
    """Record how long one announced message took to arrive (the fan-out calls this on receipt).

    A negative figure (clocks of two hosts a little apart) counts as 0; NaN or infinity is ignored.
    """
    if not math.isfinite(seconds):
        logger.warning("notify lag ignored: not a finite number", extra={"seconds": repr(seconds)})
        return
    NOTIFY_LAG.observe(max(0.0, float(seconds)))


def observe_stage(stage: str, seconds: float) -> None:
    """Record the time a turn spent in one stage (one of STAGES; ValueError for another name)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}")
    STAGE_DURATION.labels(stage=stage).observe(max(0.0, seconds))


_counting_verdicts: ContextVar[bool] = ContextVar("assist_counting_verdicts", default=True)


def count_verdict(action: str, layer: str, speaker: str) -> None:
    """Count one verdict of the guard (not inside `verdicts_not_counted`)."""
    if _counting_verdicts.get():
        GUARD_VERDICTS.labels(action=action, layer=layer, speaker=speaker).inc()


@contextmanager
def verdicts_not_counted() -> Iterator[None]:
    """Leave out the verdicts given inside the block (a draft's rehearsal over sample statements)."""
    token = _counting_verdicts.set(False)
    try:
        yield
    finally:
        _counting_verdicts.reset(token)


class _Registered:
    """The collectors of this process's default registry, seen through another registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def render(extra: Collector | None = None) -> tuple[bytes, str]:
    """The exposition text of a scrape, and its content type.

    With PROMETHEUS_MULTIPROC_DIR set (when this module was imported), the values of every process that wrote
    to the directory (the open sockets of the live ones only); else this process's. ``extra`` adds what is
    read at scrape time.
    """
    registry = CollectorRegistry(auto_describe=False)
    path = MODE_DIR
    if path is not None:
        from prometheus_client.multiprocess import MultiProcessCollector

        forget_dead_processes(path)  # a killed worker's open sockets are no longer open
        MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    else:
        registry.register(_Registered())
    if extra is not None:
        registry.register(extra)
    return generate_latest(registry), CONTENT_TYPE


__all__ = [
    "ALERTS",
    "CALLS_STARTED",
    "GUARD_VERDICTS",
    "HTTP_REQUESTS",
    "MODE_DIR",
    "MULTIPROC_ENV",
    "NOTIFY_LAG",
    "OPEN_SOCKETS",
    "STAGES",
    "STAGE_DURATION",
    "SUGGESTIONS",
    "SUGGESTION_LATENCY",
    "TURNS",
    "TURN_DURATION",
    "TURN_ERRORS",
    "count_verdict",
    "verdicts_not_counted",
    "multiprocess_dir",
    "observe_notify_lag",
    "observe_stage",
    "render",
]
