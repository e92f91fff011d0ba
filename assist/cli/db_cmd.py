"""`assist db upgrade` and `assist db current`: the database schema (Alembic migrations in assist/migrations)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer

from assist.cli import app

logger = logging.getLogger(__name__)

db_app = typer.Typer(help="The database schema: apply the migrations, show the revision.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def run_upgrade() -> dict[str, str | None]:
    """Bring the configured database to the latest revision; a clear message and exit 1 when it cannot."""
    from sqlalchemy.exc import SQLAlchemyError

    from assist.config import get_settings
    from assist.db import make_engine, upgrade

    settings = get_settings()
    try:
        engine = make_engine(settings, migrate=False)
        try:
            return upgrade(engine)
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as exc:
        where = settings.db_url.split("@")[-1]
        typer.echo(f"error: cannot upgrade the database at {where}: {type(exc).__name__}: {exc}".strip(), err=True)
        sys.exit(1)


@db_app.command("upgrade")
def upgrade_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Apply the database migrations (idempotent). A database of release 0.1 is upgraded in place, nothing lost."""
    result = run_upgrade()
    if as_json:
        typer.echo(json.dumps(result))
    elif result["how"] == "current":
        typer.echo(f"database is current (revision {result['to']})")
    elif result["how"] == "created":
        typer.echo(f"database created at revision {result['to']}")
    else:
        typer.echo(f"database upgraded from {result['from'] or 'release 0.1 (no revision)'} to {result['to']}")


@db_app.command("current")
def current_cmd() -> None:
    """Print the database's revision and the latest one this release ships."""
    from assist.config import get_settings
    from assist.db import current_revision, head_revision, make_engine

    engine = make_engine(get_settings(), migrate=False)
    with engine.connect() as conn:
        current = current_revision(conn)
    engine.dispose()
    typer.echo(f"database: {current or 'none'}; latest: {head_revision()}")
