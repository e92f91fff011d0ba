"""How fast a change made through one replica takes effect on another (issue #18; target: a retired document is
no longer cited on another replica within 1 s).

Two real uvicorn servers (A and B, own data directories) on one PostgreSQL database. Each round, through A:
upload a new document (then time until B cites it), retire it (time until B no longer cites it), add a rule
with a new phrase (time until B blocks it). B is polled over HTTP: a new call and one customer turn whose
suggestion's citations are read, or `POST /v1/guard/check`. Times run from A's answer (the change is
committed) to the first poll of B that shows it. Before each change the round waits a random pause in
[0, --sync-interval) (seeded, the same for both pairs), so that a change does not always fall at the same
moment of the periodic sync (the fallback, and the only path before the fan-out).

`--baseline-root` starts a second pair of servers from another checkout (e.g. /work/main, the code before
the fan-out) on a second database, and runs the same rounds against it, alternating, in the same run.

Usage:
    .venv/bin/python -m benchmarks.bench_propagation --database-url postgresql+psycopg://…/db_new \
        [--baseline-root /work/main --baseline-database-url postgresql+psycopg://…/db_old] \
        [--rounds 10] [--sync-interval 10] [--embedders hash] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


class Pair:
    """Two servers of one checkout on one database."""

    def __init__(self, name: str, root: Path, url: str, data: Path, ports: tuple[int, int], env: dict[str, str]):
        self.name, self.root, self.url, self.data, self.ports = name, root, url, data, ports
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.key = ""

    def start(self) -> None:
        """Reset the database, start A (it migrates and ingests kb_docs), then B; make an admin key."""
        from sqlalchemy import create_engine

        engine = create_engine(self.url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        engine.dispose()
        shutil.rmtree(self.data, ignore_errors=True)
        python = self.root / ".venv" / "bin" / "python"
        for side, port in zip("ab", self.ports, strict=True):
            d = self.data / side
            d.mkdir(parents=True)
            env = {**os.environ, **self.env, "ASSIST_DATA_DIR": str(d), "ASSIST_DATABASE_URL": self.url}
            cmd = [str(python), "-m", "uvicorn", "assist.app:create_app", "--factory", "--port", str(port)]
            log = (self.data / f"{side}.log").open("wb")
            cmd += ["--log-level", "warning"]
            self.procs.append(subprocess.Popen(cmd, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT))
            _wait_ready(f"http://127.0.0.1:{port}", self.procs[-1])
        out = subprocess.run(
            [str(self.root / ".venv" / "bin" / "assist"), "keys", "create", "--role", "admin", "--name", "bench"],
            cwd=self.root,
            env={**os.environ, **self.env, "ASSIST_DATA_DIR": str(self.data / "a"), "ASSIST_DATABASE_URL": self.url},
            capture_output=True,
            text=True,
            check=True,
        )
        self.key = out.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 600.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:  # bounded
        if proc.poll() is not None:
            raise RuntimeError(f"server {base} exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server {base} not ready in time")


def _until(check: Any, deadline_s: float) -> float:
    """Seconds until `check()` is true (polled back to back); inf past the deadline."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        if check():
            return time.monotonic() - t0
    return float("inf")


# long function: one round's three changes in order, each with its poll of B
def one_round(pair: Pair, i: int, deadline_s: float, pauses: list[float]) -> dict[str, float]:
    """Upload, retire and a rule through A, each after its pause; seconds until B shows each."""
    a = httpx.Client(base_url=f"http://127.0.0.1:{pair.ports[0]}", headers={"Authorization": f"Bearer {pair.key}"})
    b = httpx.Client(base_url=f"http://127.0.0.1:{pair.ports[1]}", headers={"Authorization": f"Bearer {pair.key}"})
    word = f"星辰{i}号保管箱"
    text = f"# {word}\n\n{word}的年费为{300 + i}元，可在网点办理{word}租用。\n"

    def cited(document_id: str) -> bool:
        call_id = b.post("/v1/calls").json()["call_id"]
        r = b.post(f"/v1/calls/{call_id}/utterances", json={"speaker": "customer", "text": f"{word}年费多少钱"})
        s = r.json().get("suggestion") or {}
        return document_id in [c["document_id"] for c in s.get("citations", [])]

    time.sleep(pauses[0])
    r = a.post("/v1/documents", files={"file": (f"box{i}-{time.time_ns()}.md", text.encode())})
    r.raise_for_status()
    doc = r.json()["id"]
    upload_s = _until(lambda: cited(doc), deadline_s)
    time.sleep(pauses[1])
    a.post(f"/v1/documents/{doc}/retire").raise_for_status()
    retire_s = _until(lambda: not cited(doc), deadline_s)
    phrase = f"紫藤{i}号暗语"  # matched by no rule of kb_docs/rules (checked below)
    rule = {
        "id": f"bench_rule_{i}_{time.time_ns()}",
        "category": "performance_prediction",
        "severity": "block",
        "languages": ["zh-Hans", "zh-Hant", "en"],
        "phrases": [phrase],
        "advice": "不预测收益。",
        "source": "bench",
    }
    check = {"text": f"这个产品{phrase}", "speaker": "agent"}
    if b.post("/v1/guard/check", json=check).json()["action"] == "block":
        raise RuntimeError(f"{phrase!r} is blocked before its rule exists: the rule step would measure nothing")
    time.sleep(pauses[2])
    a.post("/v1/rules", json=rule).raise_for_status()
    rule_s = _until(lambda: b.post("/v1/guard/check", json=check).json()["action"] == "block", deadline_s)
    a.close()
    b.close()
    return {"upload_s": upload_s, "retire_s": retire_s, "rule_s": rule_s}


def _summary(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for k in ("upload_s", "retire_s", "rule_s"):
        xs = sorted(r[k] for r in rows)
        out[k] = {
            "median": round(statistics.median(xs), 3),
            "max": round(xs[-1], 3),
            "p90": round(xs[min(len(xs) - 1, int(0.9 * len(xs)))], 3),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True, help="PostgreSQL URL for this checkout's pair (reset!)")
    ap.add_argument("--baseline-root", type=Path, help="another checkout (with its .venv) to compare against")
    ap.add_argument("--baseline-database-url", help="PostgreSQL URL for the baseline pair (reset!)")
    ap.add_argument("--data", type=Path, default=Path("/tmp/assist-bench-propagation"))
    ap.add_argument("--ports", type=int, nargs=4, default=[8781, 8782, 8783, 8784])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--sync-interval", type=float, default=10.0, help="ASSIST_SYNC_INTERVAL_S (the fallback)")
    ap.add_argument("--embedders", default="hash")
    ap.add_argument("--deadline", type=float, default=30.0, help="seconds before a change counts as not seen")
    ap.add_argument("--seed", type=int, default=7, help="the pauses before the changes")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    env = {
        "ASSIST_EMBEDDERS": args.embedders,
        "ASSIST_SYNC_INTERVAL_S": str(args.sync_interval),
        "ASSIST_RATE_LIMITS": "false",
        "ASSIST_GUARD_MODEL": "false",
        "OMP_NUM_THREADS": "1",
    }
    pairs = [Pair("this", ROOT, args.database_url, args.data / "this", (args.ports[0], args.ports[1]), env)]
    if args.baseline_root:
        if not args.baseline_database_url:
            ap.error("--baseline-root needs --baseline-database-url (another database: it is reset)")
        base = Pair("baseline", args.baseline_root, args.baseline_database_url, args.data / "baseline",
                    (args.ports[2], args.ports[3]), env)  # fmt: skip
        pairs.append(base)
    rows: dict[str, list[dict[str, float]]] = {p.name: [] for p in pairs}
    try:
        for p in pairs:
            p.start()
        rng = random.Random(args.seed)
        for i in range(args.rounds):  # alternate the pairs, round by round, with the same pauses
            pauses = [rng.uniform(0, args.sync_interval) for _ in range(3)]
            for p in pairs:
                rows[p.name].append(one_round(p, i, args.deadline, pauses))
                print(p.name, i, rows[p.name][-1], file=sys.stderr, flush=True)  # noqa: T201
    finally:
        for p in pairs:
            p.stop()
    report = {
        "rounds": args.rounds,
        "sync_interval_s": args.sync_interval,
        "embedders": args.embedders,
        "seed": args.seed,
        **{p.name: {"root": str(p.root), **_summary(rows[p.name]), "raw": rows[p.name]} for p in pairs},
    }
    text = json.dumps(report, indent=2)
    print(text)  # noqa: T201
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
