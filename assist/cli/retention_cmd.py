"""`assist calls purge`: delete ended calls older than the retention period (docs/security.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from assist.cli import app

calls_app = typer.Typer(help="Manage stored calls (retention).", no_args_is_help=True)
app.add_typer(calls_app, name="calls")


@calls_app.command("purge")
def calls_purge(
    older_than: Annotated[int, typer.Option("--older-than", help="Days since the call ended (at least 1).")],
    guard_events: Annotated[
        bool, typer.Option("--guard-events", help="Also delete guard events older than the cutoff.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")] = False,
) -> None:
    """Delete ended calls (turns, suggestions, feedback) that ended more than --older-than days ago."""
    from sqlmodel import Session

    from assist.config import get_settings
    from assist.db import make_engine
    from assist.retention import RetentionPurge

    try:
        purge = RetentionPurge(older_than, guard_events=guard_events)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    with Session(make_engine(get_settings())) as session:
        report = purge.run(session, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"{verb}: {report.calls} calls, {report.turns} turns, {report.suggestions} suggestions, "
        f"{report.feedback} feedback, {report.guard_events} guard events "
        f"(ended before {report.cutoff:%Y-%m-%d %H:%M} UTC)"
    )
