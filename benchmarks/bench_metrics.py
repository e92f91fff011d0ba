"""What the metrics cost a live turn: the series one customer turn with a suggestion touches, recorded in a loop,
in one process and in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, files shared by the processes of a host),
side by side in one run; and the time of one scrape of the shared directory written by several processes.

    .venv/bin/python -m benchmarks.bench_metrics [--turns 20000] [--writers 4]

Prints one JSON object. Each mode runs in a fresh interpreter (prometheus-client chooses its mode at import).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# The series a customer turn with a suggestion touches (assist/calls/engine.py, the HTTP middleware).
TURN = """
import sys, time
from assist.calls.metrics import Metrics
from assist.observability import metrics as m
n = int(sys.argv[1])
rec = Metrics()
stages = ("reading", "retrieve", "rank", "answer", "next_steps", "store")
t0 = time.perf_counter()
for _ in range(n):
    rec.turn("customer")
    for s in stages:
        rec.stage_took(s, 0.004)
    rec.suggestion("extractive", 40.0)
    rec.turn_done("customer", 0.04)
    m.count_verdict("allow", "none", "suggestion")
    m.HTTP_REQUESTS.labels(method="POST", route="/v1/calls/{call_id}/utterances", status="200").inc()
print((time.perf_counter() - t0) / n * 1e6)
"""
SCRAPE = """
import time
from assist.observability.metrics import render
render()
t0 = time.perf_counter()
for _ in range(20):
    body = render()[0]
print((time.perf_counter() - t0) / 20 * 1e3, len(body))
"""


def _run(code: str, args: list[str], multiproc_dir: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k.lower() != "prometheus_multiproc_dir"}
    if multiproc_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = multiproc_dir
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main() -> None:
    """Run both modes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20000)
    parser.add_argument("--writers", type=int, default=4, help="processes that write the shared directory first")
    args = parser.parse_args()
    out: dict[str, object] = {"turns": args.turns, "load_average_1m": round(os.getloadavg()[0], 2)}
    out["per_turn_us_one_process"] = round(float(_run(TURN, [str(args.turns)], None)), 2)
    with tempfile.TemporaryDirectory() as shared:
        out["per_turn_us_multiprocess"] = round(float(_run(TURN, [str(args.turns)], shared)), 2)
        for _ in range(args.writers - 1):
            _run(TURN, ["100"], shared)
        ms, size = _run(SCRAPE, [], shared).split()
        out["scrape_ms_multiprocess"] = round(float(ms), 2)
        out["scrape_bytes"] = int(size)
        out["writers"] = args.writers
    out["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
