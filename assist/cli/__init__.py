"""The `assist` command line. Each command group lives in its own module of this package."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

app = typer.Typer(help="Agent-assist for financial contact centers.", no_args_is_help=True, add_completion=False)
guard_app = typer.Typer(help="Check text against the compliance rules.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate retrieval or the guard on labelled data.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys; grant access to calls.", no_args_is_help=True)
app.add_typer(guard_app, name="guard")
app.add_typer(eval_app, name="eval")
app.add_typer(keys_app, name="keys")


def level_option(value: str | None) -> str | None:
    from assist.config import check_log_level

    try:
        return None if value is None else check_log_level(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.callback()
def _global_options(
    ctx: typer.Context,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="debug, info, warning, error or critical (default: ASSIST_LOG_LEVEL, else info for serve and "
            "warning for the other commands).",
            callback=level_option,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Agent-assist for financial contact centers."""
    from assist.config import get_settings
    from assist.logs import configure_logging

    settings = get_settings()
    default = "INFO" if ctx.invoked_subcommand == "serve" else "WARNING"
    configure_logging(log_level or settings.log_level or default, settings.log_format)


def _register() -> None:
    # Imported for their side effect: each module adds its commands to the apps above.
    from assist.cli import (  # noqa: F401
        calls_cmd,
        db_cmd,
        guard_cmd,
        guard_model_cmd,
        kb_cmd,
        playbooks_cmd,
        retention_cmd,
    )


def main() -> None:
    """Console-script entry point."""
    _register()
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:  # an ASSIST_* variable (or .env line) the settings refuse
        problems = "; ".join(f"ASSIST_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: invalid settings: {problems}", err=True)
        sys.exit(2)
