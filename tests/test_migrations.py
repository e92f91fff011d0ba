"""Alembic: a new database, a database of release 0.1 (no alembic_version) and `assist db upgrade`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, col, select
from typer.testing import CliRunner

from assist.cli import _register, app
from assist.config import Settings
from assist.db import alembic_config, current_revision, head_revision, make_engine, upgrade
from assist.models import ApiKey, AuditEntry, Call, Turn
from assist.models.aftercall import Scorecard
from assist.models.documents import IngestJob

OLD_SCHEMA = Path(__file__).parent / "data" / "schema_0_1_sqlite.sql"


def _old_release_db(data_dir: Path) -> Path:
    """A data dir as release 0.1 left it: its create_all schema, rows in it, no alembic_version table.
    Call c1 holds turn number 2 twice, as two servers sharing a call could store it then."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "assist.db"
    con = sqlite3.connect(path)
    con.executescript(OLD_SCHEMA.read_text())
    now = "2025-01-01 10:00:00.000000"
    con.execute(
        "INSERT INTO apikey (name, role, id, key_hash, prefix, created_at) VALUES ('a', 'agent', 'k1', 'h', 'p', ?)",
        (now,),
    )
    con.execute(
        "INSERT INTO call (id, agent_key_id, status, topics, checklist, state, turn_count, created_at) "
        "VALUES ('c1', 'k1', 'active', '[]', '[]', '{}', 3, ?)",
        (now,),
    )
    for turn, text in ((1, "first"), (2, "second"), (2, "second, on the other server"), (3, "third")):
        con.execute(
            "INSERT INTO turn (call_id, turn, speaker, text, created_at) VALUES ('c1', ?, 'agent', ?, ?)",
            (turn, text, now),
        )
    con.execute(
        "INSERT INTO auditentry (actor, role, action, target_type, created_at) VALUES ('t', 'admin', 'x.y', 'x', ?)",
        (now,),
    )
    con.execute(
        "INSERT INTO ingestjob (id, status, filename, size_bytes, worker, created_at) "
        "VALUES ('j1', 'done', 'a.md', 1, 'h:1', ?)",
        (now,),
    )
    con.commit()
    con.close()
    return path


def test_a_new_database_is_created_at_the_latest_revision(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path))
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    assert upgrade(engine)["how"] == "current"  # idempotent


def test_the_revisions_build_exactly_the_schema_of_the_models(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path), migrate=False)
    cfg = alembic_config(engine)
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diffs == []
    with engine.connect() as conn:  # the append-only audit triggers come with the baseline
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert {"auditentry_no_update", "auditentry_no_delete"} <= names


def test_a_database_of_release_0_1_is_upgraded_with_nothing_lost(tmp_path: Path) -> None:
    _old_release_db(tmp_path)
    engine = make_engine(Settings(data_dir=tmp_path))
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    with Session(engine) as s:
        assert s.get(ApiKey, "k1") is not None and s.get(Call, "c1") is not None
        turns = s.exec(select(Turn).where(Turn.call_id == "c1").order_by(col(Turn.turn))).all()
        assert [(t.turn, t.text) for t in turns] == [
            (1, "first"),
            (2, "second"),
            (3, "second, on the other server"),
            (4, "third"),
        ]
        assert s.get(Call, "c1").turn_count == 4  # type: ignore[union-attr]
        assert len(s.exec(select(AuditEntry)).all()) == 1
        job = s.get(IngestJob, "j1")
        assert job is not None and job.lease_until is None


def test_assist_db_upgrade_on_a_data_dir_of_release_0_1(tmp_path: Path, monkeypatch) -> None:
    _old_release_db(tmp_path)
    monkeypatch.setenv("ASSIST_DATA_DIR", str(tmp_path))
    _register()
    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) == {"from": None, "to": head_revision(), "how": "migrated"}
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and "current" in again.output
    con = sqlite3.connect(tmp_path / "assist.db")
    assert con.execute("SELECT COUNT(*) FROM turn").fetchone() == (4,)
    assert con.execute("SELECT COUNT(*) FROM apikey").fetchone() == (1,)


def test_assist_db_upgrade_reports_an_unreachable_database(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ASSIST_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    _register()
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "cannot upgrade the database at 127.0.0.1:1/none" in result.output


@pytest.mark.parametrize("missing", ["ticket", "scorecard"])
def test_an_older_data_dir_without_the_aftercall_tables_gets_them(tmp_path: Path, missing: str) -> None:
    path = _old_release_db(tmp_path)
    con = sqlite3.connect(path)
    if missing == "ticket":
        con.execute("DROP TABLE ticketdelivery")
    con.execute(f"DROP TABLE {missing}")
    con.commit()
    con.close()
    engine = make_engine(Settings(data_dir=tmp_path))
    with engine.connect() as conn:
        tables = set(conn.dialect.get_table_names(conn))
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert missing in tables and diffs == []


def test_a_database_of_the_previous_release_gets_teams_with_nothing_lost(tmp_path: Path) -> None:
    """A data dir at revision 0002 (the release before agents' teams), with keys, a call and its scorecard,
    upgraded to the head: every row is kept, and their team is unknown (NULL) until an admin sets one."""
    _old_release_db(tmp_path)
    engine = make_engine(Settings(data_dir=tmp_path), migrate=False)
    upgrade(engine, "0002")
    with engine.begin() as conn:
        cols = {c["name"] for c in inspect(conn).get_columns("apikey")}
        assert "team" not in cols  # really the previous schema
        conn.exec_driver_sql(
            "INSERT INTO scorecard (call_id, rubric, rubric_version, score, criteria, agent_key_id, agent_name, "
            "topics, call_started_at, created_at) VALUES ('c1', 'r', 1, 80.0, '[]', 'k1', 'a', '[\"card_loss\"]', "
            "'2025-01-01 10:00:00.000000', '2025-01-01 10:05:00.000000')"
        )
    assert upgrade(engine)["how"] == "migrated"
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diffs == []
    with Session(engine) as s:
        key, call, card = s.get(ApiKey, "k1"), s.get(Call, "c1"), s.get(Scorecard, "c1")
        assert key is not None and key.name == "a" and key.team is None
        assert call is not None and call.turn_count == 4 and call.team is None
        assert card is not None and card.score == 80.0 and card.topics == ["card_loss"] and card.team is None
        assert len(s.exec(select(Turn).where(Turn.call_id == "c1")).all()) == 4
        key.team = "Cards North"  # the new column is usable at once
        s.add(key)
        s.commit()
    with engine.connect() as conn:
        audit = conn.exec_driver_sql("SELECT action FROM auditentry WHERE action = 'key.team'").fetchall()
    assert len(audit) == 1
