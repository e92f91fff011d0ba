"""`assist serve`, `assist replay` and `assist keys create|list|revoke|grant|grants|ungrant`."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assist.cli import app, keys_app, level_option
from assist.errors import AssistError
from assist.models.keys import Role

if TYPE_CHECKING:
    from sqlmodel import Session


logger = logging.getLogger(__name__)


# -- serve ----------------------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port; their metrics are aggregated through PROMETHEUS_MULTIPROC_DIR "
            "(default <ASSIST_DATA_DIR>/metrics when above 1).",
        ),
    ] = 1,
    log_level: Annotated[
        str | None,
        typer.Option(help="Same as the global --log-level (kept for old scripts).", hidden=True, callback=level_option),
    ] = None,
) -> None:
    """Serve the API, the WebSocket and the side panel (OpenAPI docs at /docs)."""
    import uvicorn

    if log_level is not None:  # the global option (or ASSIST_LOG_LEVEL) configured logging already
        from assist.config import get_settings
        from assist.logs import configure_logging

        configure_logging(log_level, get_settings().log_format)
    # No logging configuration of uvicorn's own: its error and access logs propagate to the root handler
    # of assist/logs.py (redacted: the WebSocket's ?token= key, personal data in a logged path; same format).
    from assist.cli.db_cmd import run_upgrade

    _prepare_metrics(workers)  # before anything counts: the migrations may already check text with the guard
    run_upgrade()  # the migrations first, once, under the database's lock (several replicas may start at once)
    if workers == 1:
        config = uvicorn.Config("assist.app:create_app", factory=True, host=host, port=port, log_config=None)
        server = uvicorn.Server(config)
        try:
            server.run()
        except KeyboardInterrupt:  # uvicorn raises the Ctrl-C it caught again, after the clean shutdown
            _leave(130)
        if server.started:  # a start that failed returns as it always did (uvicorn has said why)
            _leave(0)
        return
    # Each worker is a new interpreter: it configures logging as this process did, then builds the app.
    os.environ["ASSIST_LOG_LEVEL"] = logging.getLevelName(logging.getLogger().level)
    uvicorn.run("assist.cli.calls_cmd:worker_app", factory=True, host=host, port=port, workers=workers, log_config=None)


def _leave(code: int) -> None:
    """End the server process once the lifespan's shutdown has stored and closed everything.

    The exit skips the native libraries' exit-time destructors: one of them (a model runtime's thread pool)
    aborted the process after a clean shutdown ("terminate called without an active exception", exit 134),
    so a Ctrl-C of `make run` or a `docker stop` looked like a crash.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _prepare_metrics(workers: int) -> None:
    """Make the shared metrics directory ready before any server process starts (assist/observability/).

    With several workers and no PROMETHEUS_MULTIPROC_DIR, ``<ASSIST_DATA_DIR>/metrics`` is used, so that one
    scrape shows every worker. A directory that cannot be used stops the start with its reason.
    """
    from assist.config import get_settings
    from assist.observability.multiproc import MULTIPROC_ENV, multiprocess_dir, prepare_multiprocess_dir

    path = multiprocess_dir()
    if path is None and workers > 1:
        path = Path(get_settings().data_dir) / "metrics"
        os.environ[MULTIPROC_ENV] = str(path)
    if path is None:
        return
    try:
        prepare_multiprocess_dir(path)
    except ValueError as exc:
        typer.echo(f"error: {exc} (set {MULTIPROC_ENV} to a directory this user can write)", err=True)
        raise typer.Exit(2) from exc


def worker_app() -> Any:
    """The app of one `assist serve --workers N` process, with logging configured as the parent's."""
    from assist.app import create_app
    from assist.config import get_settings
    from assist.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level or "INFO", settings.log_format)
    return create_app()


# -- replay ---------------------------------------------------------------------------------------
def read_call_file(path: Path) -> list[dict[str, Any]]:
    """The turns of a recorded call (JSON lines {"speaker", "text"[, "final"]}); raises ValueError on a bad line."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    turns: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text") from exc
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: not JSON: {exc.msg}") from exc
        if not isinstance(item, dict) or item.get("speaker") not in ("customer", "agent"):
            raise ValueError(f'{path}:{lineno}: expected {{"speaker": "customer"|"agent", "text": ...}}')
        if not isinstance(item.get("text"), str) or not item["text"].strip():
            raise ValueError(f"{path}:{lineno}: 'text' must be a non-empty string")
        turns.append({"speaker": item["speaker"], "text": item["text"], "final": bool(item.get("final", True))})
    if not turns:
        raise ValueError(f"{path}: no turns")
    return turns


def render_turn(n: int, turn: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """What the side panel would show for one turn, as lines of text."""
    lines = [f"[{n}] {turn['speaker']}: {turn['text']}"]
    for a in result.get("alerts") or []:
        rules = ", ".join(str(m.get("rule_id")) for m in a.get("matches") or [])
        lines.append(f"    !! {a['action'].upper()} ({rules}) {a.get('advice') or ''}".rstrip())
    s = result.get("suggestion")
    if s:
        lines.append(f"    >> suggestion ({s.get('source')}, {s.get('latency_ms', 0):.1f} ms): {s['answer']}")
        if s.get("replaced_reason"):
            lines.append(f"       replaced: {s['replaced_reason']}")
        for i, c in enumerate(s.get("citations") or [], 1):
            lines.append(f"       [{i}] {c['title']} § {c['section']} (v{c['version']}, score {c['score']})")
    steps = result.get("next_steps") or []
    if s or result.get("checklist_changed"):
        marks = "  ".join(f"[{'x' if st['done'] else ' '}] {st['label']}" for st in steps)
        if marks:
            lines.append(f"    checklist: {marks}")
    return lines


def _replay_local(turns: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from assist.config import get_settings
    from assist.services import build_services

    svc = build_services(get_settings(), ingest_if_empty=True)
    engine = svc.call_engine
    call_id = engine.start_call()
    results = [engine.handle_turn(call_id, **t).model_dump(mode="json") for t in turns]
    return results, engine.end_call(call_id).model_dump(mode="json")


def _replay_remote(turns: list[dict[str, Any]], url: str, key: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from assist.client import AssistClient

    with AssistClient(url, key) as api:
        call_id = api.create_call()
        results = [
            api.post_utterance(call_id, t["speaker"], t["text"], final=t["final"]).model_dump(mode="json")
            for t in turns
        ]
        return results, api.end_call(call_id).model_dump(mode="json")


@app.command()
def replay(
    call_file: Annotated[Path, typer.Argument(help='JSON lines {"speaker", "text"}, e.g. kb_docs/calls/*.jsonl.')],
    url: Annotated[str | None, typer.Option(help="Drive a running server (e.g. http://127.0.0.1:8000).")] = None,
    key: Annotated[str | None, typer.Option(help="An agent key, with --url.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per turn instead.")] = False,
) -> None:
    """Play a recorded call turn by turn and print what the side panel would show."""
    try:
        turns = read_call_file(call_file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if url and not key:
        typer.echo("error: --url needs --key (an agent key)", err=True)
        raise typer.Exit(2)
    failures: tuple[type[Exception], ...] = (AssistError, OSError)
    try:
        if url:
            from assist.client import ClientError  # only here: the client's imports stay out of other commands

            failures = (*failures, ClientError)  # the server refused, or could not be reached
            results, summary = _replay_remote(turns, url, key or "")
        else:
            results, summary = _replay_local(turns)
    except failures as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except Exception as exc:  # anything else: a message, not a traceback
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        for t, r in zip(turns, results, strict=True):
            typer.echo(json.dumps({"turn": t, "result": r}, ensure_ascii=False))
        typer.echo(json.dumps({"summary": summary}, ensure_ascii=False))
        return
    for n, (t, r) in enumerate(zip(turns, results, strict=True), 1):
        for line in render_turn(n, t, r):
            typer.echo(line)
    done = ", ".join(s["label"] for s in summary.get("steps_done", [])) or "-"
    pending = ", ".join(s["label"] for s in summary.get("steps_pending", [])) or "-"
    docs = ", ".join(d["title"] for d in summary.get("documents_cited", [])) or "-"
    typer.echo(f"== summary: topics {', '.join(summary.get('topics', [])) or '-'}; documents: {docs}")
    typer.echo(f"   steps done: {done}; pending: {pending}; alerts: {len(summary.get('alerts', []))}")


# -- keys -----------------------------------------------------------------------------------------
def _session() -> Session:
    from sqlmodel import Session

    from assist.config import get_settings
    from assist.db import make_engine

    return Session(make_engine(get_settings()), expire_on_commit=False)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="agent, editor, compliance or admin.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key (shown in audit and guard events).")],
    team: Annotated[
        str | None, typer.Option(help="The agent's team: QA scores and first-contact resolution per team.")
    ] = None,
) -> None:
    """Create a key and print it once (the last line of the output is the key)."""
    from assist.security.keys import create_key

    if role not in {r.value for r in Role}:
        typer.echo(f"error: unknown role {role!r}: use agent, editor, compliance or admin", err=True)
        raise typer.Exit(2)
    try:
        with _session() as session:
            row, key = create_key(session, role=Role(role), name=name, team=team)
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    who = f"{row.role}, {row.name}" + (f", team {row.team}" if row.team else "")
    typer.echo(f"# key {row.id} ({who}); shown once, store it now:", err=True)
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (id, role, name, team, prefix, created, revoked); never the keys themselves."""
    from assist.security.keys import list_keys

    with _session() as session:
        rows = list_keys(session)
    typer.echo(f"{'id':<18}{'role':<12}{'name':<24}{'team':<18}{'prefix':<18}{'created':<22}status")
    for r in rows:
        status = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        team = (r.team or "-")[:16]
        typer.echo(
            f"{r.id:<18}{r.role:<12}{r.name[:22]:<24}{team:<18}{r.prefix:<18}{r.created_at:%Y-%m-%d %H:%M:%S}  {status}"
        )


@keys_app.command("team")
def keys_team(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `assist keys list`).")],
    team: Annotated[str | None, typer.Argument(help="The team; leave out with --none to clear it.")] = None,
    none: Annotated[bool, typer.Option("--none", help="Take the key out of any team.")] = False,
) -> None:
    """Put a key's agent in a team (audited); calls started before keep their team."""
    from assist.security.keys import set_team

    if (team is None) == (not none):
        typer.echo("error: give a team, or --none to clear it (not both)", err=True)
        raise typer.Exit(2)
    try:
        with _session() as session:
            row = set_team(session, key_id=key_id, team=team)
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{row.id} ({row.role}, {row.name}): team {row.team or '-'}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `assist keys list`).")]) -> None:
    """Revoke a key; requests with it get 401 from now on."""
    from assist.security.keys import revoke_key

    try:
        with _session() as session:
            row = revoke_key(session, key_id=key_id)
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"revoked {row.id} ({row.role}, {row.name})")


@keys_app.command("grant")
def keys_grant(
    grantee: Annotated[str, typer.Argument(help="The id of the agent key that gets access.")],
    access: Annotated[str, typer.Option(help="listen (read and stream: a supervisor) or act (also add turns, end).")],
    owner: Annotated[str | None, typer.Option(help="The id of the key whose calls are shared.")] = None,
    all_calls: Annotated[bool, typer.Option("--all-calls", help="The calls of every key instead of --owner.")] = False,
) -> None:
    """Let an agent key listen to or act on the calls another key starts (or every key, with --all-calls)."""
    from assist.security.keys import grant_access

    if (owner is None) == (not all_calls):
        typer.echo("error: give exactly one of --owner KEY_ID or --all-calls", err=True)
        raise typer.Exit(2)
    try:
        with _session() as session:
            row = grant_access(session, grantee_key_id=grantee, owner_key_id=owner, access=access)
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    whose = f"the calls of {row.owner_key_id}" if row.owner_key_id else "the calls of every key"
    typer.echo(f"grant {row.id}: {row.grantee_key_id} may {row.access} on {whose}")


@keys_app.command("grants")
def keys_grants(
    include_removed: Annotated[bool, typer.Option("--all", help="Removed grants too.")] = False,
) -> None:
    """List grants (id, grantee, access, owner, created, status)."""
    from assist.security.keys import list_grants

    with _session() as session:
        rows = list_grants(session, include_removed=include_removed)
    typer.echo(f"{'id':<18}{'grantee':<18}{'access':<8}{'owner':<18}{'created':<22}status")
    for g in rows:
        status = f"removed {g.removed_at:%Y-%m-%d %H:%M}" if g.removed_at else "active"
        owner = g.owner_key_id or "(every key)"
        created = f"{g.created_at:%Y-%m-%d %H:%M:%S}"
        typer.echo(f"{g.id:<18}{g.grantee_key_id:<18}{g.access:<8}{owner:<18}{created:<22}{status}")


@keys_app.command("ungrant")
def keys_ungrant(grant_id: Annotated[str, typer.Argument(help="The grant's id (from `assist keys grants`).")]) -> None:
    """Remove a grant; sockets that relied on it close within a second."""
    from assist.security.keys import remove_grant

    try:
        with _session() as session:
            row = remove_grant(session, grant_id=grant_id)
    except AssistError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"removed grant {row.id}")
