"""Alembic migrations of the database schema (run by `assist db upgrade`, `assist serve` and every engine made by
:func:`assist.db.make_engine`). ``versions/0001_baseline.py`` is the schema of release 0.1 as its ``create_all``
made it; every later change is a revision of its own."""
