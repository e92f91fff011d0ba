"""Live calls through the load balancer: one replica beside N, and the calls one core serves (issue #18).

`benchmarks/bench_calls.py --replicas N --database-url URL` runs this: the index is built once into the
PostgreSQL database (kb_docs/ plus banking77 filler, as bench_calls does), then, in one run on this machine,
for each layout (1 replica, then N, alternating for --rounds): the replicas start on that database, each with
a fresh data dir of its own, behind nginx (deploy/nginx.conf, round robin, no stickiness, benchmarks/cluster.py),
and the same calls go through the balancer: the warm-up, one call, then --calls concurrent calls.

`--calls-sweep 25,50,100 --cpus 0` instead measures one replica pinned to one core (taskset) at each number
of concurrent calls: the most calls whose p95 stays within --target-ms is what one core serves (docs/deploy.md).
The client and nginx share the machine with the replicas, and are not pinned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
from pathlib import Path
from typing import Any

from benchmarks.bench_calls import QUESTIONS, build_data_dir, make_keys, report, run_calls
from benchmarks.cluster import LocalCluster


def prepare(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """The index in the database (built once; the data dir's marker says so) and one agent key per call."""
    os.environ["ASSIST_DATABASE_URL"] = args.database_url
    info = build_data_dir(args.data, args.corpus, args.chunks)
    most = max([args.calls, *sweep(args)])
    return info, make_keys(args.data, most)


def sweep(args: argparse.Namespace) -> list[int]:
    return [int(x) for x in args.calls_sweep.split(",")] if args.calls_sweep else []


def run_layout(args: argparse.Namespace, keys: list[str], replicas: int, calls: list[int], tag: str) -> dict[str, Any]:
    """Start `replicas` behind nginx, warm up, one call, then each number of concurrent calls in turn."""
    work = args.data / "cluster-runs" / tag
    # the replicas get this run's ASSIST_ settings (e.g. ASSIST_EMBEDDERS), but their own data dirs
    env = {k: v for k, v in os.environ.items() if k.startswith("ASSIST_") and k not in ("ASSIST_DATA_DIR",)}
    env["ASSIST_DATABASE_URL"] = args.database_url
    out: dict[str, Any] = {"replicas": replicas, "cpus": args.cpus}
    cluster = LocalCluster(work, args.database_url, replicas_n=replicas, env=env, cpus=args.cpus, ready_timeout_s=900)
    with cluster:
        base = cluster.base_url
        asyncio.run(
            run_calls(base, keys[:1], n=1, turns=len(QUESTIONS) * replicas, duration=None, interval=0.0, timeout=30)
        )
        single = asyncio.run(
            run_calls(base, keys[:1], n=1, turns=args.single_turns, duration=None, interval=0.05, timeout=args.timeout)
        )
        out["single"] = report(f"{tag}: one call", single)
        for n in calls:
            random.seed(args.seed)
            many = asyncio.run(
                run_calls(
                    base,
                    keys,
                    n=n,
                    turns=None,
                    duration=args.duration,
                    interval=args.interval,
                    timeout=args.timeout,
                )
            )
            out[f"concurrent_{n}"] = report(f"{tag}: {n} concurrent calls", many)
    return out


def main(args: argparse.Namespace) -> None:
    """The side-by-side run (or the sweep); prints JSON lines and writes --json."""
    if not args.database_url:
        raise SystemExit("--replicas needs --database-url (a PostgreSQL database for the replicas to share)")
    info, keys = prepare(args)
    results: dict[str, Any] = {"index": info}
    if args.calls_sweep:
        results["sweep"] = run_layout(args, keys, 1, sweep(args), f"sweep-cpus-{args.cpus or 'all'}")
        p95 = {n: results["sweep"][f"concurrent_{n}"]["latency_ms"]["p95"] for n in sweep(args)}
        ok = [
            n
            for n, v in p95.items()
            if v <= args.target_ms and not results["sweep"][f"concurrent_{n}"]["lost_or_unanswered"]
        ]
        results["calls_within_target"] = {"target_ms": args.target_ms, "p95_by_calls": p95, "most": max(ok, default=0)}
    else:
        for r in range(args.rounds):
            for replicas in (1, args.replicas):
                tag = f"{replicas}-replica{'s' if replicas > 1 else ''}-round-{r + 1}"
                results[tag] = run_layout(args, keys, replicas, [args.calls], tag)
    print(json.dumps({k: v for k, v in results.items() if k != "index"}, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))
