"""Ingest throughput: chunks per second through the whole pipeline, beside the embedders' raw encode
rate on the same chunk texts, measured in the same run.

    .venv/bin/python -m benchmarks.bench_ingest [--data DIR] [--docs 400] [--engines onnx,reference] [--no-raw]
        [--run-tokens 8192,256]

Documents are made from fiqa_en's corpus (read at run time from ../shared/data, never copied into the
repo), written as Markdown files to a temp dir and ingested into a throw-away data dir with the real
models. The raw rate embeds exactly the stored chunk texts with the same batch size.

`--engines` runs the same documents through each document engine (ASSIST_DOCUMENT_ENGINE) in turn, each
into its own data dir, in one process, and reports each engine's figures and the pipeline speed-up of the
first engine over the last. Without it, the settings' engine (default int8) is measured alone.

`--run-tokens` then embeds the stored chunk texts again with each ONNX document encoder alone, on one thread,
once per bound on a run's padded tokens (`DOCUMENT_BATCH_TOKENS`), and reports the CPU seconds of each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, create_engine, select

from assist.config import Settings
from assist.knowledge.evaluation import read_jsonl
from assist.models import Chunk, Document
from assist.services import Overrides, build_services
from benchmarks.common import set_paths
from ingest.embedders import DOCUMENT_ENGINES, build_embedder
from ingest.records import embed_text


def _stored_texts(data_dir: Path) -> list[str]:
    """The texts the embedders were given for the chunks stored in `data_dir`, in chunk order."""
    engine = create_engine(Settings(data_dir=data_dir).db_url)
    with Session(engine) as s:
        rows = s.exec(select(Document.title, Chunk.section, Chunk.text).join(Chunk).order_by(col(Chunk.id))).all()
    engine.dispose()
    return [embed_text(t, sec, x) for t, sec, x in rows]


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process (every thread) and its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_engine(engine: str, src: Path, data_dir: Path, *, raw_encode: bool = True) -> dict[str, Any]:
    """Ingest every file of `src` into a fresh data dir with `engine`, then (`raw_encode`) embed the stored
    chunk texts again with each model alone."""
    settings = Settings(data_dir=data_dir, embedders=["minilm", "e5"], document_engine=engine)  # type: ignore[arg-type]
    embedders = [build_embedder(name, document_engine=engine) for name in settings.embedders]
    # a throw-away corpus: published unscanned, every core for the batch (as `assist ingest` embeds)
    services = build_services(
        settings, overrides=Overrides(embedders=embedders), scan_documents=False, limit_threads=False
    )
    kb = services.knowledge
    t0, c0 = time.perf_counter(), _cpu_seconds()
    report = kb.ingest_paths([src])
    pipeline_s, cpu_s = time.perf_counter() - t0, _cpu_seconds() - c0
    result: dict[str, Any] = {
        "document_engine": engine,
        "vector_spaces": [e.vector_space for e in embedders],
        "chunks": report.chunks,
        "pipeline_seconds": round(pipeline_s, 2),
        "pipeline_chunks_per_s": round(report.chunks / pipeline_s, 1),
        # CPU seconds of this process and its children (the isolated parses): steadier than wall time on a
        # shared machine, but a spinning thread's wait counts too
        "pipeline_cpu_seconds": round(cpu_s, 2),
    }
    if not raw_encode:
        return result
    texts = _stored_texts(data_dir)
    raw = {}
    for e in embedders:
        t = time.perf_counter()
        for i in range(0, len(texts), settings.embed_batch_size):
            e.embed_documents(texts[i : i + settings.embed_batch_size])
        raw[e.name] = time.perf_counter() - t
    raw_s = sum(raw.values())
    return result | {
        "raw_encode_seconds": {k: round(v, 2) for k, v in raw.items()},
        "raw_chunks_per_s_all_embedders": round(len(texts) / raw_s, 1),
        "overhead_over_raw_encode": round(pipeline_s / raw_s - 1, 3),
    }


def encoder_cpu(engine: str, texts: list[str], run_tokens: list[int], *, rounds: int = 2) -> dict[str, Any]:
    """CPU seconds of each ONNX document encoder alone on one thread, embedding `texts` 64 at a time (as the
    pipeline hands them over), for each bound on a run's tokens; the least of `rounds` rounds."""
    from ingest.embedders import packaged_minilm_path
    from ingest.onnx_encoders import BertDocumentEncoder, E5DocumentEncoder

    out: dict[str, Any] = {}
    int8 = engine == "int8"
    for tokens in run_tokens:
        encoders: dict[str, E5DocumentEncoder | BertDocumentEncoder] = {
            "e5": E5DocumentEncoder(int8=int8, threads=1, max_tokens=tokens),
            "minilm": BertDocumentEncoder(packaged_minilm_path(), int8=int8, threads=1, max_tokens=tokens),
        }
        for name, enc in encoders.items():
            enc.encode_batch(texts[:4])  # warm up
            best = float("inf")
            for _ in range(rounds):
                c0 = time.process_time()
                for i in range(0, len(texts), 64):
                    enc.encode_batch(texts[i : i + 64])
                best = min(best, time.process_time() - c0)
            out[f"{name}@{tokens}"] = round(best, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--engines", default=None, help=f"comma-separated, from: {', '.join(DOCUMENT_ENGINES)}")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw encode after each ingest (halves the time)")
    ap.add_argument("--run-tokens", default=None, help="comma-separated bounds on a run's tokens, e.g. 8192,256")
    args = ap.parse_args()
    engines = args.engines.split(",") if args.engines else [Settings().document_engine]
    unknown = [e for e in engines if e not in DOCUMENT_ENGINES]
    if unknown:
        ap.error(f"unknown document engine(s) {unknown}: use {', '.join(DOCUMENT_ENGINES)}")
    corpus_p, _ = set_paths("fiqa_en", args.data)
    items = read_jsonl(corpus_p)[: args.docs]
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    src = tmp / "docs"
    src.mkdir()
    for it in items:
        (src / f"{it.id}.md").write_text(f"# Answer {it.id}\n\n{it.text}\n", encoding="utf-8")
    out: dict[str, Any] = {"documents": len(items), "load_average_at_start": round(os.getloadavg()[0], 2)}
    runs = [run_engine(engine, src, tmp / f"data-{engine}", raw_encode=not args.no_raw) for engine in engines]
    out["runs"] = runs
    if args.run_tokens:
        texts = _stored_texts(tmp / f"data-{engines[0]}")
        bounds = [int(t) for t in args.run_tokens.split(",")]
        out["encoder_cpu_seconds_one_thread"] = {
            engine: encoder_cpu(engine, texts, bounds) for engine in engines if engine != "reference"
        }
    out["load_average_at_end"] = round(os.getloadavg()[0], 2)
    if len(runs) > 1:
        out["pipeline_speedup_first_over_last"] = round(runs[-1]["pipeline_seconds"] / runs[0]["pipeline_seconds"], 2)
        out["cpu_ratio_last_over_first"] = round(runs[-1]["pipeline_cpu_seconds"] / runs[0]["pipeline_cpu_seconds"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
