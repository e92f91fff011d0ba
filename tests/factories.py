"""Builders shared by tests: a knowledge base on a temp data dir with the hash embedder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assist.config import Settings
from assist.db import make_engine
from assist.knowledge.base import KnowledgeBase
from ingest.embedders import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
KB_DOCS = ROOT / "kb_docs"


def make_kb(
    data_dir: Path, *, guard: Any = None, embedders: list[Any] | None = None, database_url: str | None = None
) -> KnowledgeBase:
    """A knowledge base on `data_dir`, hash-embedded unless embedders are given."""
    settings = Settings(data_dir=data_dir, embedders=["hash"], database_url=database_url)
    kb = KnowledgeBase(settings, make_engine(settings), embedders=embedders or [HashEmbedder()], guard=guard)
    kb.warm_up()
    return kb


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
