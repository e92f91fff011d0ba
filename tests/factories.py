"""Builders shared by tests: a knowledge base on a temp data dir with the hash embedder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from assist.config import Settings
from assist.db import make_engine
from assist.knowledge.base import KnowledgeBase
from assist.knowledge.retrieval import HybridRetriever
from assist.protocols import Guard
from assist.text import tokenize
from ingest.embedders import HashEmbedder
from ingest.indexes import ChunkMeta, IndexedChunk, KnowledgeIndex
from tests.fakes import FixedGuard

ROOT = Path(__file__).resolve().parents[1]
KB_DOCS = ROOT / "kb_docs"


def make_kb(
    data_dir: Path, *, guard: Guard | None = None, embedders: list[Any] | None = None, database_url: str | None = None
) -> KnowledgeBase:
    """A knowledge base on `data_dir`, hash-embedded unless embedders are given; it scans with `guard` (as
    given: a guard without rules is not turned away first) or, without one, publishes unscanned."""
    settings = Settings(data_dir=data_dir, embedders=["hash"], database_url=database_url)
    provider = FixedGuard(guard) if guard is not None else None
    kb = KnowledgeBase(settings, make_engine(settings), embedders=embedders or [HashEmbedder()], guard=provider)
    kb.warm_up()
    return kb


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


class Passage(NamedTuple):
    """One chunk of a hand-made index (see hash_retriever)."""

    document_id: str
    text: str
    language: str
    product: str | None = None
    effective_to: str | None = None


def hash_retriever(passages: Sequence[Passage]) -> HybridRetriever:
    """A hybrid retriever over these passages, hash-embedded; chunk ids are 0, 1, ... in order."""
    emb = HashEmbedder()
    index = KnowledgeIndex({emb.name: emb.dim})
    vectors = emb.embed_documents([p.text for p in passages])
    index.replace(
        add=[
            IndexedChunk(
                meta=ChunkMeta(
                    chunk_id=i,
                    document_id=p.document_id,
                    title=p.document_id.replace("-", " "),
                    section="",
                    version=1,
                    text=p.text,
                    language=p.language,
                    source=f"{p.document_id}.md",
                    product=p.product,
                    effective_to=p.effective_to,
                ),
                tokens=tokenize(p.text),
                vectors={emb.name: vectors[i]},
            )
            for i, p in enumerate(passages)
        ]
    )
    return HybridRetriever(index, [emb])
