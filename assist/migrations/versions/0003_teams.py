"""Agents' teams (issue #19): QA scores and first-contact resolution grouped by team.

- ``apikey.team``: the team of the key's agent (``assist keys create --team``); NULL for keys made before.
- ``call.team``: the key's team when the call started (a later change of team leaves past calls where they were).
- ``scorecard.team``: the call's team, kept with the scorecard (which outlives ``assist calls purge``).

Every new column is nullable, so the rows of the previous release stay as they are (their team is unknown).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("apikey", "call", "scorecard")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("team", AutoString(), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("team")
