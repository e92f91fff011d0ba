"""Ingest throughput: chunks per second through the whole pipeline, beside the embedders' raw encode
rate on the same chunk texts, measured in the same run.

    .venv/bin/python -m benchmarks.bench_ingest [--data DIR] [--docs 400]

Documents are made from fiqa_en's corpus (read at run time from ../shared/data, never copied into the
repo), written as Markdown files to a temp dir and ingested into a throw-away data dir with the real
models. The raw rate embeds exactly the stored chunk texts with the same batch size.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, select

from assist.config import Settings
from assist.knowledge.evaluation import read_jsonl
from assist.models import Chunk, Document
from assist.services import Overrides, build_services
from benchmarks.common import set_paths
from ingest.embedders import build_embedder
from ingest.records import embed_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--docs", type=int, default=400)
    args = ap.parse_args()
    corpus_p, _ = set_paths("fiqa_en", args.data)
    items = read_jsonl(corpus_p)[: args.docs]
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    src = tmp / "docs"
    src.mkdir()
    for it in items:
        (src / f"{it.id}.md").write_text(f"# Answer {it.id}\n\n{it.text}\n", encoding="utf-8")
    settings = Settings(data_dir=tmp / "data", embedders=["minilm", "e5"])
    embedders = [build_embedder("minilm"), build_embedder("e5")]
    # a throw-away corpus: published unscanned, every core for the batch (as `assist ingest` embeds)
    services = build_services(
        settings, overrides=Overrides(embedders=embedders), scan_documents=False, limit_threads=False
    )
    kb = services.knowledge
    t0 = time.perf_counter()
    report = kb.ingest_paths([src])
    pipeline_s = time.perf_counter() - t0
    with Session(services.db_engine) as s:
        rows = s.exec(select(Document.title, Chunk.section, Chunk.text).join(Chunk)).all()
    texts = [embed_text(t, sec, x) for t, sec, x in rows]
    raw = {}
    for e in embedders:
        t = time.perf_counter()
        for i in range(0, len(texts), settings.embed_batch_size):
            e.embed_documents(texts[i : i + settings.embed_batch_size])
        raw[e.name] = time.perf_counter() - t
    raw_s = sum(raw.values())
    out = {
        "documents": len(items),
        "chunks": report.chunks,
        "pipeline_seconds": round(pipeline_s, 2),
        "pipeline_chunks_per_s": round(report.chunks / pipeline_s, 1),
        "raw_encode_seconds": {k: round(v, 2) for k, v in raw.items()},
        "raw_chunks_per_s_all_embedders": round(len(texts) / raw_s, 1),
        "overhead_over_raw_encode": round(pipeline_s / raw_s - 1, 3),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
