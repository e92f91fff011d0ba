"""Turn numbers unique per call, answers kept for Idempotency-Key, leases on ingest jobs (issue #18).

- ``turn``: a unique index on (call_id, turn). Release 0.1 could store one number twice when two servers
  shared a call; such turns are renumbered first, in the order they were stored, so none is lost.
- ``idempotencyrecord``: the answers kept for POSTs that carried an ``Idempotency-Key``.
- ``ingestjob.lease_until``: the job's lease, renewed by the server running it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _renumber_duplicate_turns() -> None:
    """Give the turns of a call that holds one number twice the numbers 1..n, in the order they were stored."""
    bind = op.get_bind()
    calls = bind.execute(
        sa.text("SELECT call_id FROM turn GROUP BY call_id HAVING COUNT(*) > COUNT(DISTINCT turn)")
    ).scalars()
    for call_id in list(calls):
        ids = list(
            bind.execute(sa.text("SELECT id FROM turn WHERE call_id = :c ORDER BY turn, id"), {"c": call_id}).scalars()
        )
        # two passes, so that no intermediate state breaks the index once it exists (and for clarity)
        for n, turn_id in enumerate(ids, start=1):
            bind.execute(sa.text("UPDATE turn SET turn = :n WHERE id = :i"), {"n": -n, "i": turn_id})
        bind.execute(sa.text("UPDATE turn SET turn = -turn WHERE call_id = :c AND turn < 0"), {"c": call_id})
        bind.execute(
            sa.text("UPDATE call SET turn_count = :n WHERE id = :c AND turn_count < :n"), {"n": len(ids), "c": call_id}
        )


def upgrade() -> None:
    _renumber_duplicate_turns()
    with op.batch_alter_table("turn", schema=None) as batch_op:
        batch_op.create_index("uq_turn_call_id_turn", ["call_id", "turn"], unique=True)
    op.create_table(
        "idempotencyrecord",
        sa.Column("owner", AutoString(length=64), nullable=False),
        sa.Column("key", AutoString(length=255), nullable=False),
        sa.Column("fingerprint", AutoString(length=64), nullable=False),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("owner", "key"),
    )
    with op.batch_alter_table("idempotencyrecord", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotencyrecord_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("ingestjob", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingestjob", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
    with op.batch_alter_table("idempotencyrecord", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotencyrecord_created_at"))
    op.drop_table("idempotencyrecord")
    with op.batch_alter_table("turn", schema=None) as batch_op:
        batch_op.drop_index("uq_turn_call_id_turn")
