"""The `assist` command line. Each command group lives in its own module of this package."""

from __future__ import annotations

import logging
import sys

import typer

app = typer.Typer(help="Agent-assist for financial contact centers.", no_args_is_help=True, add_completion=False)
guard_app = typer.Typer(help="Check text against the compliance rules.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate retrieval or the guard on labelled data.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys; grant access to calls.", no_args_is_help=True)
app.add_typer(guard_app, name="guard")
app.add_typer(eval_app, name="eval")
app.add_typer(keys_app, name="keys")


def _register() -> None:
    # Imported for their side effect: each module adds its commands to the apps above.
    from assist.cli import calls_cmd, guard_cmd, guard_model_cmd, kb_cmd  # noqa: F401


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from assist.redact import install_log_redaction

    install_log_redaction()  # no card number, ID or passcode ever reaches a log line
    _register()
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:  # an ASSIST_* variable (or .env line) the settings refuse
        problems = "; ".join(f"ASSIST_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        typer.echo(f"error: invalid settings: {problems}", err=True)
        sys.exit(2)
