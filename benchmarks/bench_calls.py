"""Live-call latency through a real WebSocket against a real uvicorn server on 127.0.0.1 (real models).

1. one call: time from sending a final customer turn to receiving its suggestion, on an index of
   >= 10,000 chunks (kb_docs/ plus filler documents made at run time from banking77's corpus, read
   from --corpus and written only to the throw-away data dir, never to the repository);
2. N concurrent calls (default 50), each sending a turn every 2 s for --duration seconds (default 120):
   p95 and lost or unanswered turns. Each call keeps a random phase within the 2 s (--seed); with
   --arrivals spread (default) every call is set up before the clock starts, so the calls stay
   independent. --arrivals as-connected starts each call's schedule when its own setup is done, as this
   script did before 2026-11-30: set-ups that finish together under load pull the phases together and
   the turns arrive in bursts (the report's "arrivals" field shows how bunched they were);
3. where the time goes: the engine's per-stage timings (embed, search, rank, compose, guard, persist)
   carried in each suggestion.

Usage:
    .venv/bin/python -m benchmarks.bench_calls \
        --corpus ../shared/data/retrieval/banking77_en/corpus.jsonl [--data /tmp/assist-bench-calls]
        [--single-turns 200] [--calls 50] [--interval 2] [--duration 120] [--port 8765] [--json out.json]
        [--arrivals spread|as-connected] [--seed 7] [--workers 1] [--rate-limits on|off|both] [--rounds 1]
        [--ticket-extraction on|off|both]
    through nginx to replicas on PostgreSQL (benchmarks/bench_calls_cluster.py):
        [--replicas 2 --database-url postgresql+psycopg://...] [--calls-sweep 25,50,100 --cpus 0 --target-ms 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from assist.calls.messages import AckMessage, ChecklistMessage, ErrorMessage
from assist.client import AsyncAssistClient, AsyncCallStream
from assist.models.calls import SuggestionMessage

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "retrieval" / "banking77_en" / "corpus.jsonl"

# Customer needs in three scripts; consecutive ones differ, so no two turns in a row share a top passage.
QUESTIONS = [
    "我的信用卡丢了怎么办？",
    "I want to pay off my mortgage early, is there a fee?",
    "信用卡年费怎么收？",
    "How long does a transfer abroad take?",
    "我的信用卡遺失了，要怎麼掛失？",
    "What is deposit protection and how much is covered?",
    "保险的犹豫期有多长？",
    "Someone called me asking for my one-time code, is that a scam?",
    "基金赎回多久到账？",
    "I want to dispute a transaction I did not make",
    "理财产品有什么风险？",
    "How do I make a complaint?",
    "转账限额是多少？",
    "My card was stolen, how do I block it?",
    "ATM吞卡了怎么办？",
    "How do you verify my identity on the phone?",
    "取现手续费是多少？",
    "Can I cancel my insurance policy during the cooling-off period?",
    "大额存单的起存金额是多少？",
    "What risk level is this wealth product?",
]


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def summary(xs: list[float]) -> dict[str, float]:
    return {
        "n": len(xs),
        "p50": round(percentile(xs, 50), 2),
        "p95": round(percentile(xs, 95), 2),
        "p99": round(percentile(xs, 99), 2),
        "max": round(max(xs), 2) if xs else float("nan"),
        "mean": round(statistics.fmean(xs), 2) if xs else float("nan"),
    }


# ---------------------------------------------------------------------------------------- data dir
def build_data_dir(data: Path, corpus: Path, target_chunks: int) -> dict[str, Any]:
    """Ingest kb_docs/ and filler documents until the index holds >= target_chunks chunks."""
    os.environ["ASSIST_DATA_DIR"] = str(data)
    from sqlmodel import Session, func, select

    from assist.config import get_settings
    from assist.models.documents import Chunk
    from assist.services import build_services

    get_settings.cache_clear()
    settings = get_settings()
    marker = data / "BENCH_READY.json"
    if marker.exists():
        return json.loads(marker.read_text())
    t0 = time.perf_counter()
    # filler passages are not the bank's documents: published unscanned, as before; every core for the batch
    services = build_services(settings, scan_documents=False, limit_threads=False)
    kb, engine = services.knowledge, services.db_engine
    kb.ingest_paths([settings.kb_dir])
    with Session(engine) as s:
        have = int(s.exec(select(func.count()).select_from(Chunk)).one())
    need = max(0, target_chunks - have)
    filler_dir = data / "filler_docs"
    filler_dir.mkdir(parents=True, exist_ok=True)
    by_label: dict[str, list[str]] = defaultdict(list)
    with corpus.open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            by_label[str(item["label"])].append(str(item["text"]).strip())
    written = 0
    for label, texts in sorted(by_label.items()):
        if written >= need:
            break
        body = [
            f"---\ntitle: Customer phrasing - {label}\nlanguage: en\nproduct: filler\ntags: [filler]\n---\n",
            f"# Customer phrasing - {label}\n",
        ]
        for i, t in enumerate(texts, 1):
            if written >= need:
                break
            body.append(f"## {label} {i}\n\n{t}\n")
            written += 1
        (filler_dir / f"filler_{label}.md").write_text("\n".join(body), encoding="utf-8")
    kb.ingest_paths([filler_dir])
    with Session(engine) as s:
        total = int(s.exec(select(func.count()).select_from(Chunk)).one())
    info = {
        "chunks": total,
        "kb_docs_chunks": have,
        "filler_sections": written,
        "build_seconds": round(time.perf_counter() - t0, 1),
        "embedders": settings.embedders,
    }
    marker.write_text(json.dumps(info))
    return info


def make_keys(data: Path, n: int) -> list[str]:
    """n agent keys: one per call, as in a contact center where every agent has a key of their own."""
    os.environ["ASSIST_DATA_DIR"] = str(data)
    from sqlmodel import Session

    from assist.config import get_settings
    from assist.db import make_engine
    from assist.models.keys import Role
    from assist.security.keys import create_key

    get_settings.cache_clear()
    with Session(make_engine(get_settings())) as s:
        return [create_key(s, role=Role.agent, name=f"bench-{i}")[1] for i in range(n)]


# ---------------------------------------------------------------------------------------- server
def start_server(
    data: Path, port: int, log: Path, workers: int = 1, rate_limits: bool = True, ticket_extraction: bool = True
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ASSIST_DATA_DIR": str(data),
        "ASSIST_RATE_LIMITS": str(rate_limits).lower(),
        "ASSIST_TICKET_LIVE_EXTRACTION": str(ticket_extraction).lower(),
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "assist.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--ws-ping-interval",
        "60",
        "--workers",
        str(workers),
    ]
    fh = log.open("wb")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 600.0) -> float:
    import httpx

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:  # bounded
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2.0).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server not ready in time")


# ---------------------------------------------------------------------------------------- clients
class CallClient:
    """One call over one WebSocket: sends customer turns, waits for each turn's answer."""

    def __init__(self, base: str, key: str, offset: int, interim_ms: float = 0.0) -> None:
        self.base, self.key, self.offset = base, key, offset
        self.interim_ms = interim_ms  # > 0: send the turn as interim ASR text this long before the final
        self.latencies: list[float] = []
        self.timings: list[dict[str, float]] = []
        self.sent = 0
        self.suggested = 0
        self.other = 0  # answered with a checklist or an ack (no suggestion)
        self.errors = 0
        self.lost = 0
        self.failed = ""  # why the call could not run at all
        self.api: AsyncAssistClient | None = None
        self.stream: AsyncCallStream | None = None
        self.sent_at: list[float] = []  # when each final turn was sent (perf_counter)

    async def open(self) -> None:
        """Create the call and open its socket (call setup; not part of any latency)."""
        self.api = AsyncAssistClient(self.base, self.key, timeout=60.0)
        call_id = await self.api.create_call()
        self.stream = await self.api.connect(call_id, max_size=2**22)

    async def run(
        self, *, start_at: float, turns: int | None, duration: float | None, interval: float, timeout: float
    ) -> None:
        """Send a turn at start_at, start_at + interval, ... (a fixed schedule), each after the last's answer."""
        stream = self.stream
        if stream is None:
            raise RuntimeError("open() the call first")
        next_at = start_at
        i = 0
        while turns is None or i < turns:  # bounded by turns or duration
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            if duration is not None and time.perf_counter() - start_at >= duration:
                break
            q = QUESTIONS[(self.offset + i) % len(QUESTIONS)]
            if self.interim_ms > 0:  # ASR-style: the last hypothesis, unpunctuated, then the final
                await stream.send_utterance("customer", q.rstrip("？?。.!！"), final=False)
                await asyncio.sleep(self.interim_ms / 1000)
            tick = time.perf_counter()
            await stream.send_utterance("customer", q)
            self.sent += 1
            self.sent_at.append(tick)
            try:
                while True:
                    msg = await stream.receive(timeout)
                    if isinstance(msg, SuggestionMessage):
                        self.latencies.append((time.perf_counter() - tick) * 1000)
                        self.timings.append(msg.timings)
                        self.suggested += 1
                        break
                    if isinstance(msg, AckMessage | ChecklistMessage):
                        self.other += 1
                        break
                    if isinstance(msg, ErrorMessage):
                        self.errors += 1
                        break
            except TimeoutError:
                self.lost += 1
            i += 1
            next_at += interval

    async def close(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        if self.api is not None:
            await self.api.aclose()


async def run_calls(
    base: str,
    keys: list[str],
    *,
    n: int,
    turns: int | None,
    duration: float | None,
    interval: float,
    timeout: float,
    interim_ms: float = 0.0,
    arrivals: str = "spread",
) -> list[CallClient]:
    """n calls, each on a fixed schedule of one turn per interval, with a random phase in [0, interval).

    arrivals="spread": every call is set up first; then the clock starts, so the phases stay uniformly
    spread (independent calls). arrivals="as-connected" (how this script worked before 2026-11-30): each
    call waits its phase, is set up, and starts its schedule when its own setup is done. Set-ups that
    finish together under load pull the calls' phases together, and the turns then arrive in bursts.
    """
    clients = [CallClient(base, keys[i % len(keys)], offset=i, interim_ms=interim_ms) for i in range(n)]
    phases = [random.uniform(0, interval) if n > 1 else 0.0 for _ in clients]

    async def setup(c: CallClient, delay: float = 0.0) -> bool:
        await asyncio.sleep(delay)
        try:
            await c.open()
        except Exception as exc:  # a call that cannot start is reported, the others go on
            c.failed = f"{type(exc).__name__}: {exc}"
            return False
        return True

    async def one(c: CallClient, start_at: float) -> None:
        try:
            await c.run(start_at=start_at, turns=turns, duration=duration, interval=interval, timeout=timeout)
        except Exception as exc:  # a call that dies is reported, the others go on
            c.failed = f"{type(exc).__name__}: {exc}"
        finally:
            await c.close()

    if arrivals == "spread":
        ready = await asyncio.gather(*(setup(c) for c in clients))
        t0 = time.perf_counter()
        await asyncio.gather(*(one(c, t0 + ph) for c, ph, ok in zip(clients, phases, ready, strict=True) if ok))
    elif arrivals == "as-connected":

        async def late(c: CallClient, ph: float) -> None:
            if await setup(c, ph):
                await one(c, time.perf_counter())

        await asyncio.gather(*(late(c, ph) for c, ph in zip(clients, phases, strict=True)))
    else:
        raise ValueError(f"unknown arrivals {arrivals!r}")
    return clients


def stage_breakdown(clients: list[CallClient]) -> dict[str, dict[str, float]]:
    stages: dict[str, list[float]] = defaultdict(list)
    for c in clients:
        for t in c.timings:
            for k, v in t.items():
                if k != "prefetched":
                    stages[k].append(float(v))
    return {k: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2)} for k, v in stages.items()}


def arrival_stats(clients: list[CallClient], window_s: float = 0.1) -> dict[str, float]:
    """How bunched the turns were: the most sent within any `window_s`, and the median gap between turns.

    Fifty calls at one turn per 2 s with independent phases send 2.5 turns per 100 ms on average.
    """
    t = sorted(x for c in clients for x in c.sent_at)
    if len(t) < 2:
        return {}
    most, j = 0, 0
    for i, x in enumerate(t):
        while x - t[j] > window_s:
            j += 1
        most = max(most, i - j + 1)
    gaps = [(b - a) * 1000 for a, b in zip(t, t[1:], strict=False)]
    return {f"most_turns_in_{int(window_s * 1000)}_ms": most, "median_gap_ms": round(statistics.median(gaps), 2)}


def report(name: str, clients: list[CallClient]) -> dict[str, Any]:
    lat = [x for c in clients for x in c.latencies]
    out = {
        "scenario": name,
        "calls": len(clients),
        "turns_sent": sum(c.sent for c in clients),
        "suggestions": sum(c.suggested for c in clients),
        "answered_without_suggestion": sum(c.other for c in clients),
        "errors": sum(c.errors for c in clients),
        "lost_or_unanswered": sum(c.lost for c in clients),
        "failed_calls": [c.failed for c in clients if c.failed],
        "latency_ms": summary(lat),
        "arrivals": arrival_stats(clients),
        "server_stage_ms": stage_breakdown(clients),
    }
    print(json.dumps(out, ensure_ascii=False))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="banking77 corpus.jsonl (filler text)")
    ap.add_argument("--data", type=Path, default=Path("/tmp/assist-bench-calls"), help="throw-away data dir")
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--single-turns", type=int, default=200)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before a turn counts as unanswered")
    ap.add_argument("--skip-concurrent", action="store_true")
    ap.add_argument(
        "--interim-ms",
        type=float,
        default=0.0,
        help="send each turn as interim ASR text this long before its final (prefetch)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="uvicorn worker processes (an experiment: each keeps its own call cache and fan-out; "
        "here every call's turns and answers share one socket, so one worker serves it)",
    )
    ap.add_argument(
        "--arrivals",
        choices=("spread", "as-connected"),
        default="spread",
        help="spread: set up every call, then start the clock (phases stay uniform); "
        "as-connected: each call starts its schedule when its own setup is done (bursts)",
    )
    ap.add_argument(
        "--rate-limits",
        choices=("on", "off", "both"),
        default="on",
        help="serve with the rate limits of docs/security.md on (the default deployment), off, or both "
        "one after the other in this run (side by side); every call uses its own agent key",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the modes this many times, alternating (on, off, on, off, ...), so that a change in the "
        "machine's load during the run falls on both sides",
    )
    ap.add_argument(
        "--ticket-extraction",
        choices=("on", "off", "both"),
        default="on",
        help="extract ticket values on the live path (issue #19; the default deployment), off, or both one after "
        "the other in this run (side by side; with --rounds, alternating); rate limits as --rate-limits says "
        "(with both here, --rate-limits must be on or off)",
    )
    ap.add_argument("--seed", type=int, default=7, help="random seed of the calls' phases")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    cluster_arguments(ap)
    args = ap.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"corpus not found: {args.corpus}")
    if args.replicas or args.calls_sweep:  # through nginx to replicas on PostgreSQL: bench_calls_cluster.py
        from benchmarks.bench_calls_cluster import main as cluster_main

        return cluster_main(args)
    info = build_data_dir(args.data, args.corpus, args.chunks)
    print(json.dumps({"index": info}))
    keys = make_keys(args.data, max(args.calls, 1))
    results: dict[str, Any] = {"index": info}
    if args.ticket_extraction == "both" and args.rate_limits == "both":
        sys.exit("--ticket-extraction both needs --rate-limits on or off")
    if args.ticket_extraction == "both":
        limits_on = args.rate_limits == "on"
        modes = [(limits_on, True), (limits_on, False)] * args.rounds
    else:
        extraction = args.ticket_extraction == "on"
        modes = [(lim, extraction) for lim in {"on": [True], "off": [False], "both": [True, False]}[args.rate_limits]]
        modes *= args.rounds
    for i, (limits, extraction) in enumerate(modes):
        random.seed(args.seed)  # the same phases for each mode, so the runs differ only in the mode
        label = f"rate limits {'on' if limits else 'off'}"
        if args.ticket_extraction == "both":
            label = f"ticket extraction {'on' if extraction else 'off'}"
        if args.rounds > 1:
            label += f", round {i // (len(modes) // args.rounds) + 1}"
        results[label] = run_mode(args, keys, limits, extraction)
        print(json.dumps({label: results[label]}, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))


def cluster_arguments(ap: argparse.ArgumentParser) -> None:
    """--replicas, --database-url, --calls-sweep, --cpus, --target-ms: see benchmarks/bench_calls_cluster.py."""
    ap.add_argument("--replicas", type=int, default=0, help="N: 1 replica beside N behind nginx, on PostgreSQL")
    ap.add_argument("--database-url", default=os.environ.get("ASSIST_BENCH_DATABASE_URL"), help="PostgreSQL")
    ap.add_argument("--calls-sweep", default="", help="e.g. 25,50,100: one replica at each number of calls")
    ap.add_argument("--cpus", default=None, help="taskset CPU list for the replicas, e.g. 0 (one core)")
    ap.add_argument("--target-ms", type=float, default=150.0, help="the p95 target of the sweep")


def run_mode(args: argparse.Namespace, keys: list[str], limits: bool, extraction: bool = True) -> dict[str, Any]:
    """One server (rate limits, ticket extraction on or off), the warm-up, one call, then the concurrent calls."""
    base = f"http://127.0.0.1:{args.port}"
    log = args.data / f"server-limits-{'on' if limits else 'off'}-tickets-{'on' if extraction else 'off'}.log"
    proc = start_server(args.data, args.port, log, args.workers, rate_limits=limits, ticket_extraction=extraction)
    results: dict[str, Any] = {}
    try:
        results["startup_seconds"] = round(wait_ready(base, proc), 1)
        # warm the path once (first-call costs are not what the agent sees mid-shift)
        warm = run_calls(base, keys[:1], n=1, turns=len(QUESTIONS), duration=None, interval=0.0, timeout=args.timeout)
        asyncio.run(warm)
        single = asyncio.run(
            run_calls(
                base,
                keys[:1],
                n=1,
                turns=args.single_turns,
                duration=None,
                interval=0.05,
                timeout=args.timeout,
                interim_ms=args.interim_ms,
            )
        )
        name = f"one call, interim text {args.interim_ms:g} ms before each final" if args.interim_ms else "one call"
        results["single"] = report(name, single)
        if not args.skip_concurrent:
            many = asyncio.run(
                run_calls(
                    base,
                    keys,
                    n=args.calls,
                    turns=None,
                    duration=args.duration,
                    interval=args.interval,
                    timeout=args.timeout,
                    interim_ms=args.interim_ms,
                    arrivals=args.arrivals,
                )
            )
            suffix = f", interim text {args.interim_ms:g} ms before each final" if args.interim_ms else ""
            suffix += f", arrivals {args.arrivals}"
            results["concurrent"] = report(f"{args.calls} concurrent calls{suffix}", many)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return results


if __name__ == "__main__":
    main()
