"""The database engine, sessions and schema (SQLite by default, PostgreSQL through ASSIST_DATABASE_URL).

The schema is Alembic's (``assist/migrations``). :func:`make_engine` brings every database it opens to the latest
revision (:func:`upgrade`), under a lock shared by every process on the database (PostgreSQL: an advisory lock;
SQLite: a lock file beside the database), so servers starting together on a new database do not race:

- a new, empty database gets the tables of today's models at once, and is stamped with the latest revision;
- a database created by release 0.1 (tables, no ``alembic_version``) is upgraded from the baseline, which creates
  only the tables it lacks, so nothing stored is touched;
- a database at an older revision is upgraded; one at the latest is left alone (one cheap query).
"""

from __future__ import annotations

import fcntl
import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine

import assist.models  # noqa: F401  (registers the tables)
from assist.config import Settings

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
_memory_locks: dict[str, threading.Lock] = {}
_memory_locks_guard = threading.Lock()


def make_engine(settings: Settings, *, migrate: bool = True) -> Engine:
    """Create the engine and bring the schema to the latest revision; SQLite gets WAL and foreign keys.

    Args:
        settings: the configuration (database URL, pool sizes, data directory).
        migrate: run :func:`upgrade` (the default; False only for tools that inspect a database as it is).
    """
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
    if migrate:
        upgrade(engine)
    logger.debug("database ready", extra={"url": url.split("@")[-1]})
    return engine


# -- locks shared by every process on one database ---------------------------------------------------------


def _lock_file(engine: Engine) -> Path | None:
    """The lock file beside a SQLite database file (None for an in-memory database)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".lock")


@contextmanager
def database_lock(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock `name` across every process using this database, for the block.

    PostgreSQL: a session-level advisory lock on a connection of its own. SQLite: an exclusive `flock` on
    ``<database>.<name>.lock`` beside the database file. An in-memory database: a lock in this process.
    """
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"assist:{name}".encode())
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    path = _lock_file(engine) if engine.dialect.name == "sqlite" else None
    if path is None:
        with _memory_locks_guard:
            lock = _memory_locks.setdefault(f"{engine.url}:{name}", threading.Lock())
        with lock:
            yield
        return
    path = path.with_name(path.name.removesuffix(".lock") + f".{name}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # released when the file closes, or the process dies
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# -- migrations --------------------------------------------------------------------------------------------


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic's configuration for the shipped migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The latest revision the shipped migrations define."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(conn: Connection) -> str | None:
    """The database's revision (None: never migrated, or empty)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def _app_tables(conn: Connection) -> list[str]:
    return [t for t in inspect(conn).get_table_names() if t != VERSION_TABLE]


def upgrade(engine: Engine, revision: str = "head") -> dict[str, str | None]:
    """Bring the database to `revision` (idempotent); returns ``{"from": …, "to": …, "how": …}``.

    `how` is ``current`` (nothing to do), ``created`` (an empty database: today's tables, stamped) or
    ``migrated`` (Alembic ran the revisions from the database's own, or from the baseline for a database of
    release 0.1, which has tables and no version).
    """
    from alembic import command

    head = head_revision()
    target = head if revision == "head" else revision
    with engine.connect() as conn:
        if current_revision(conn) == target:
            return {"from": target, "to": target, "how": "current"}
    with database_lock(engine, "migrate"):
        with engine.begin() as conn:
            before = current_revision(conn)
            if before == target:
                return {"from": before, "to": target, "how": "current"}
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            if before is None and not _app_tables(conn) and target == head:
                SQLModel.metadata.create_all(conn)  # the same schema the revisions build, in one step
                command.stamp(cfg, head)
                how = "created"
            else:
                command.upgrade(cfg, target)
                how = "migrated"
    logger.info("database schema", extra={"from": before, "to": target, "how": how})
    return {"from": before, "to": target, "how": how}


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
