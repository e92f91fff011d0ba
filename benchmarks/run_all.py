"""`make bench`: every benchmark in turn, each printing JSON lines; copy the figures to docs/benchmarks.md.

.venv/bin/python -m benchmarks.run_all [--only guard,retrieval,fusion,ingest,calls,answers,aftercall]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from benchmarks.common import SHARED_DATA

BENCHES = {
    "guard": ["benchmarks.bench_guard"],
    "retrieval": ["benchmarks.bench_retrieval"],
    "fusion": ["benchmarks.compare_fusion"],
    "ingest": ["benchmarks.bench_ingest"],
    "calls": ["benchmarks.bench_calls"],
    "answers": ["benchmarks.bench_answers"],
    "aftercall": ["benchmarks.bench_aftercall"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default=",".join(BENCHES))
    args = ap.parse_args()
    if not (SHARED_DATA / "retrieval").is_dir():
        print(f"evaluation data not found at {SHARED_DATA} (set ASSIST_SHARED_DATA)", file=sys.stderr)
        return 2
    failed = []
    for name in args.only.split(","):
        print(f"== {name}", flush=True)
        rc = subprocess.call([sys.executable, "-m", *BENCHES[name]])
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
