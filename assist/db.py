"""The database engine and sessions (SQLite by default, PostgreSQL through ASSIST_DATABASE_URL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

import assist.models  # noqa: F401  (registers the tables)
from assist.config import Settings

logger = logging.getLogger(__name__)


def make_engine(settings: Settings) -> Engine:
    """Create the engine and the tables; SQLite gets WAL and foreign keys."""
    url = settings.db_url
    pool: dict[str, int] = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///") or ":memory:" in url:
            pool = {}  # an in-memory database lives in one connection: no pool to size
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **pool,  # type: ignore[arg-type]
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True, **pool)  # type: ignore[arg-type]
    SQLModel.metadata.create_all(engine)
    logger.debug("database ready", extra={"url": url.split("@")[-1]})
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
