"""`assist ingest`, `assist search` and `assist eval retrieval`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assist.cli import app, eval_app
from assist.errors import AssistError
from ingest.loaders.registry import help_text as formats_help

if TYPE_CHECKING:
    from assist.services import Services
    from ingest.records import Actor


def _services(*, scan_documents: bool) -> Services:
    """The services, built the way the server builds them (assist.services.build_services)."""
    from assist.config import get_settings
    from assist.services import build_services

    return build_services(get_settings(), scan_documents=scan_documents, limit_threads=False)


def _sample_hint(missing: list[str]) -> str:
    """Where the sample knowledge base is when `kb_docs` is not in the current folder (an installed wheel)."""
    from assist.config import get_settings

    kb_dir = get_settings().kb_dir
    if "kb_docs" in missing and kb_dir.is_dir():
        return f" (the sample knowledge base installed with assist is at {kb_dir})"
    return ""


def _cli_actor() -> Actor:
    from assist.audit import cli_actor_name
    from ingest.records import Actor

    return Actor(name=cli_actor_name())


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help=f"Files or folders ({formats_help()}).")],
) -> None:
    """Ingest documents into the knowledge base, with a progress bar and a summary."""
    from tqdm import tqdm

    from assist.knowledge.base import document_paths

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        typer.echo(f"error: no such file or folder: {', '.join(missing)}{_sample_hint(missing)}", err=True)
        raise typer.Exit(2)
    # Documents are scanned with the rules in force in the database (what compliance staff edit), never
    # with none: without a guard nothing is ingested at all.
    try:
        services = _services(scan_documents=True)
        services.guard_holder.get()  # fail closed before reading a file: the reason, exit code 2
        total = len(document_paths(list(paths)))
        with tqdm(total=total, unit="doc", desc="ingest", file=sys.stderr) as bar:
            report = services.documents.ingest_paths(paths, progress=lambda item: bar.update(1), actor=_cli_actor())
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    s = report.summary()
    typer.echo(
        f"documents: {s['new']} new, {s['updated']} updated, {s['unchanged']} unchanged, "
        f"{s['failed']} failed; chunks: {s['chunks']}; flagged: {s['flagged']}"
    )
    for item in report.flagged:
        rules = ", ".join(sorted({f["rule_id"] for f in item.flags}))
        typer.echo(f"  flagged ({item.status}): {item.source} v{item.version}: {rules}")
    for item in report.failures:
        typer.echo(f"  failed: {item.error}", err=True)
    if report.failures:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What the customer said.")],
    k: Annotated[int, typer.Option("-k", help="How many passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    product: Annotated[str | None, typer.Option(help="Only this product.")] = None,
    language: Annotated[str | None, typer.Option(help="Only this language (zh-Hans, zh-Hant, en).")] = None,
) -> None:
    """Top-k passages with document, section, version and score."""
    from assist.protocols import SearchFilter

    if not query.strip():
        typer.echo("error: the query is empty", err=True)
        raise typer.Exit(2)
    if k < 1:
        typer.echo(f"error: -k must be at least 1, got {k}", err=True)
        raise typer.Exit(2)
    kb = _services(scan_documents=False).knowledge
    results = kb.retriever.retrieve(query, k=k, filters=SearchFilter(product=product, language=language))
    if as_json:
        typer.echo(json.dumps([r.citation() for r in results], ensure_ascii=False, indent=1))
        return
    if not results:
        typer.echo("no passages found (is the knowledge base ingested? try `assist ingest kb_docs`)")
    for n, r in enumerate(results, 1):
        typer.echo(f"{n}. [{r.score:.3f}] {r.title} › {r.section or '—'} (v{r.version}, chunk {r.chunk_id})")
        typer.echo(f"   {r.snippet}")


@eval_app.command("retrieval")
def eval_retrieval(
    corpus: Annotated[Path, typer.Option(help="corpus.jsonl with id, text, label.")],
    queries: Annotated[Path, typer.Option(help="queries.jsonl with id, text, label.")],
    k: Annotated[int, typer.Option("-k", help="Ranks considered.")] = 10,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    limit: Annotated[int | None, typer.Option(help="Only the first N queries.")] = None,
) -> None:
    """Build a throw-away index (never the data dir) and print one JSON object of metrics."""
    from assist.config import get_settings
    from assist.knowledge.evaluation import evaluate_retrieval
    from assist.knowledge.retrieval import MODES
    from ingest.embedders import build_embedders

    if mode not in MODES:
        typer.echo(f"error: unknown mode {mode!r}: use one of {', '.join(MODES)}", err=True)
        raise typer.Exit(2)
    try:
        settings = get_settings()
        embedders = [] if mode == "bm25" else build_embedders(settings)
        result = evaluate_retrieval(
            corpus, queries, embedders=embedders, mode=mode, k=k, limit=limit, weights=settings.fusion_weights
        )
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result, ensure_ascii=False))
