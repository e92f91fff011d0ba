"""Baseline: the schema of release 0.1, as its `create_all` made it (every table, the after-call ones included).

A database made by release 0.1 has these tables and no `alembic_version`. Upgrading it runs this revision,
which creates only the tables it lacks (an older data directory may predate the after-call tables) and leaves
every existing table, and what it holds, as it is.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _append_only_triggers() -> None:
    """The audit log refuses UPDATE and DELETE (the triggers `assist.models.audit` adds after `create_all`)."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS auditentry_no_{verb.lower()} BEFORE {verb} ON auditentry "
                "BEGIN SELECT RAISE(ABORT, 'auditentry is append-only'); END"
            )
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION auditentry_append_only() RETURNS trigger AS $body$ "
            "BEGIN RAISE EXCEPTION 'auditentry is append-only'; END $body$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER auditentry_append_only BEFORE UPDATE OR DELETE ON auditentry "
            "FOR EACH ROW EXECUTE FUNCTION auditentry_append_only()"
        )


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "apikey" not in existing:
        op.create_table(
            "apikey",
            sa.Column("name", AutoString(), nullable=False),
            sa.Column("role", sa.Enum("agent", "editor", "compliance", "admin", name="role"), nullable=False),
            sa.Column("id", AutoString(), nullable=False),
            sa.Column("key_hash", AutoString(), nullable=False),
            sa.Column("prefix", AutoString(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("revoked_at", UTCDateTime(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("apikey", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_apikey_key_hash"), ["key_hash"], unique=True)

    if "auditentry" not in existing:
        op.create_table(
            "auditentry",
            sa.Column("actor", AutoString(), nullable=False),
            sa.Column("role", AutoString(), nullable=False),
            sa.Column("action", AutoString(), nullable=False),
            sa.Column("target_type", AutoString(), nullable=False),
            sa.Column("target_id", AutoString(), nullable=True),
            sa.Column("before", sa.JSON(), nullable=True),
            sa.Column("after", sa.JSON(), nullable=True),
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("actor_key_id", AutoString(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("auditentry", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_auditentry_action"), ["action"], unique=False)
            batch_op.create_index(batch_op.f("ix_auditentry_created_at"), ["created_at"], unique=False)
            batch_op.create_index(batch_op.f("ix_auditentry_target_id"), ["target_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_auditentry_target_type"), ["target_type"], unique=False)
        _append_only_triggers()

    if "call" not in existing:
        op.create_table(
            "call",
            sa.Column("id", AutoString(), nullable=False),
            sa.Column("agent_key_id", AutoString(), nullable=True),
            sa.Column("agent_name", AutoString(), nullable=True),
            sa.Column("status", AutoString(), nullable=False),
            sa.Column("topics", sa.JSON(), nullable=True),
            sa.Column("checklist", sa.JSON(), nullable=True),
            sa.Column("state", sa.JSON(), nullable=True),
            sa.Column("turn_count", sa.Integer(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("ended_at", UTCDateTime(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )

    if "callcontact" not in existing:
        op.create_table(
            "callcontact",
            sa.Column("call_id", AutoString(), nullable=False),
            sa.Column("customer_hash", AutoString(), nullable=False),
            sa.Column("agent_key_id", AutoString(), nullable=True),
            sa.Column("resolved", sa.Boolean(), nullable=False),
            sa.Column("repeat_call_id", AutoString(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("call_id"),
        )
        with op.batch_alter_table("callcontact", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_callcontact_agent_key_id"), ["agent_key_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_callcontact_created_at"), ["created_at"], unique=False)
            batch_op.create_index(batch_op.f("ix_callcontact_customer_hash"), ["customer_hash"], unique=False)

    if "disclosurerecord" not in existing:
        op.create_table(
            "disclosurerecord",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("items", sa.JSON(), nullable=True),
            sa.Column("author", AutoString(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("version"),
        )

    if "document" not in existing:
        op.create_table(
            "document",
            sa.Column("title", AutoString(), nullable=False),
            sa.Column("source", AutoString(), nullable=False),
            sa.Column("language", AutoString(), nullable=False),
            sa.Column("product", AutoString(), nullable=True),
            sa.Column("effective_from", sa.Date(), nullable=True),
            sa.Column("effective_to", sa.Date(), nullable=True),
            sa.Column("id", AutoString(), nullable=False),
            sa.Column("family_id", AutoString(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column(
                "status",
                sa.Enum("published", "needs_review", "retired", "superseded", name="documentstatus"),
                nullable=False,
            ),
            sa.Column("content_hash", AutoString(), nullable=False),
            sa.Column("file_type", AutoString(), nullable=False),
            sa.Column("tags", sa.JSON(), nullable=True),
            sa.Column("meta", sa.JSON(), nullable=True),
            sa.Column("flags", sa.JSON(), nullable=True),
            sa.Column("next_steps", sa.JSON(), nullable=True),
            sa.Column("review_note", AutoString(), nullable=True),
            sa.Column("chunk_count", sa.Integer(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("document", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_document_content_hash"), ["content_hash"], unique=False)
            batch_op.create_index(batch_op.f("ix_document_family_id"), ["family_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_document_source"), ["source"], unique=False)

    if "guardevent" not in existing:
        op.create_table(
            "guardevent",
            sa.Column("kind", AutoString(), nullable=False),
            sa.Column("call_id", AutoString(), nullable=True),
            sa.Column("turn", sa.Integer(), nullable=True),
            sa.Column("speaker", AutoString(), nullable=True),
            sa.Column("agent_name", AutoString(), nullable=True),
            sa.Column("action", AutoString(), nullable=False),
            sa.Column("rule_ids", sa.JSON(), nullable=True),
            sa.Column("categories", sa.JSON(), nullable=True),
            sa.Column("rule_versions", sa.JSON(), nullable=True),
            sa.Column("text", AutoString(), nullable=False),
            sa.Column("matches", sa.JSON(), nullable=True),
            sa.Column("context", sa.JSON(), nullable=True),
            sa.Column("status", AutoString(), nullable=False),
            sa.Column("review_note", AutoString(), nullable=True),
            sa.Column("reviewer", AutoString(), nullable=True),
            sa.Column("reviewed_at", UTCDateTime(), nullable=True),
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("guardevent", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_guardevent_agent_name"), ["agent_name"], unique=False)
            batch_op.create_index(batch_op.f("ix_guardevent_call_id"), ["call_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_guardevent_created_at"), ["created_at"], unique=False)
            batch_op.create_index(batch_op.f("ix_guardevent_status"), ["status"], unique=False)

    if "ingestjob" not in existing:
        op.create_table(
            "ingestjob",
            sa.Column("id", AutoString(), nullable=False),
            sa.Column("status", AutoString(), nullable=False),
            sa.Column("filename", AutoString(), nullable=False),
            sa.Column("size_bytes", sa.Integer(), nullable=False),
            sa.Column("replaces", AutoString(), nullable=True),
            sa.Column("created_by", AutoString(), nullable=True),
            sa.Column("worker", AutoString(), nullable=True),
            sa.Column("result", sa.JSON(), nullable=True),
            sa.Column("error", AutoString(), nullable=True),
            sa.Column("error_status", sa.Integer(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("finished_at", UTCDateTime(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )

    if "rulerecord" not in existing:
        op.create_table(
            "rulerecord",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("rule_id", AutoString(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("body", sa.JSON(), nullable=True),
            sa.Column("deleted", sa.Boolean(), nullable=False),
            sa.Column("author", AutoString(), nullable=True),
            sa.Column("change", AutoString(), nullable=False),
            sa.Column("note", AutoString(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("rule_id", "version"),
        )
        with op.batch_alter_table("rulerecord", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_rulerecord_rule_id"), ["rule_id"], unique=False)

    if "scorecard" not in existing:
        op.create_table(
            "scorecard",
            sa.Column("call_id", AutoString(), nullable=False),
            sa.Column("rubric", AutoString(), nullable=False),
            sa.Column("rubric_version", sa.Integer(), nullable=False),
            sa.Column("score", sa.Float(), nullable=False),
            sa.Column("criteria", sa.JSON(), nullable=True),
            sa.Column("agent_key_id", AutoString(), nullable=True),
            sa.Column("agent_name", AutoString(), nullable=True),
            sa.Column("topics", sa.JSON(), nullable=True),
            sa.Column("call_started_at", UTCDateTime(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("call_id"),
        )
        with op.batch_alter_table("scorecard", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_scorecard_agent_key_id"), ["agent_key_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_scorecard_call_started_at"), ["call_started_at"], unique=False)

    if "scoreoverride" not in existing:
        op.create_table(
            "scoreoverride",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("call_id", AutoString(), nullable=False),
            sa.Column("criterion", AutoString(), nullable=False),
            sa.Column("passed", sa.Boolean(), nullable=True),
            sa.Column("auto_passed", sa.Boolean(), nullable=True),
            sa.Column("note", AutoString(), nullable=False),
            sa.Column("reviewer", AutoString(), nullable=False),
            sa.Column("reviewer_key_id", AutoString(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("scoreoverride", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_scoreoverride_call_id"), ["call_id"], unique=False)

    if "ticket" not in existing:
        op.create_table(
            "ticket",
            sa.Column("call_id", AutoString(), nullable=False),
            sa.Column("template", AutoString(), nullable=False),
            sa.Column("id", AutoString(), nullable=False),
            sa.Column("template_version", sa.Integer(), nullable=False),
            sa.Column("fields", sa.JSON(), nullable=True),
            sa.Column("turns", sa.JSON(), nullable=True),
            sa.Column("status", AutoString(), nullable=False),
            sa.Column("agent_key_id", AutoString(), nullable=True),
            sa.Column("agent_name", AutoString(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("updated_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("ticket", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_ticket_agent_key_id"), ["agent_key_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_ticket_call_id"), ["call_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_ticket_created_at"), ["created_at"], unique=False)
            batch_op.create_index(batch_op.f("ix_ticket_status"), ["status"], unique=False)

    if "ticketdelivery" not in existing:
        op.create_table(
            "ticketdelivery",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("ticket_id", AutoString(), nullable=False),
            sa.Column("attempt", sa.Integer(), nullable=False),
            sa.Column("ok", sa.Boolean(), nullable=False),
            sa.Column("status_code", sa.Integer(), nullable=True),
            sa.Column("error", AutoString(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("ticketdelivery", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_ticketdelivery_ticket_id"), ["ticket_id"], unique=False)

    if "chunk" not in existing:
        op.create_table(
            "chunk",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("document_id", AutoString(), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("section", AutoString(), nullable=False),
            sa.Column("page", sa.Integer(), nullable=True),
            sa.Column("text", AutoString(), nullable=False),
            sa.Column("language", AutoString(), nullable=False),
            sa.ForeignKeyConstraint(
                ["document_id"],
                ["document.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("chunk", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_chunk_document_id"), ["document_id"], unique=False)

    if "keygrant" not in existing:
        op.create_table(
            "keygrant",
            sa.Column("id", AutoString(), nullable=False),
            sa.Column("grantee_key_id", AutoString(), nullable=False),
            sa.Column("owner_key_id", AutoString(), nullable=True),
            sa.Column("access", AutoString(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("removed_at", UTCDateTime(), nullable=True),
            sa.ForeignKeyConstraint(
                ["grantee_key_id"],
                ["apikey.id"],
            ),
            sa.ForeignKeyConstraint(
                ["owner_key_id"],
                ["apikey.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("keygrant", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_keygrant_grantee_key_id"), ["grantee_key_id"], unique=False)

    if "suggestion" not in existing:
        op.create_table(
            "suggestion",
            sa.Column("id", AutoString(), nullable=False),
            sa.Column("call_id", AutoString(), nullable=False),
            sa.Column("turn", sa.Integer(), nullable=False),
            sa.Column("query", AutoString(), nullable=False),
            sa.Column("answer", AutoString(), nullable=False),
            sa.Column("source", AutoString(), nullable=False),
            sa.Column("citations", sa.JSON(), nullable=True),
            sa.Column("next_steps", sa.JSON(), nullable=True),
            sa.Column("replaced_reason", AutoString(), nullable=True),
            sa.Column("latency_ms", sa.Float(), nullable=False),
            sa.Column("language", AutoString(), nullable=False),
            sa.Column("sentences", sa.JSON(), nullable=True),
            sa.Column("timings", sa.JSON(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["call_id"],
                ["call.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("suggestion", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_suggestion_call_id"), ["call_id"], unique=False)

    if "turn" not in existing:
        op.create_table(
            "turn",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("call_id", AutoString(), nullable=False),
            sa.Column("turn", sa.Integer(), nullable=False),
            sa.Column("speaker", AutoString(), nullable=False),
            sa.Column("text", AutoString(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["call_id"],
                ["call.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("turn", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_turn_call_id"), ["call_id"], unique=False)

    if "chunkvector" not in existing:
        op.create_table(
            "chunkvector",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("chunk_id", sa.Integer(), nullable=False),
            sa.Column("embedder", AutoString(), nullable=False),
            sa.Column("vector", sa.LargeBinary(), nullable=True),
            sa.ForeignKeyConstraint(
                ["chunk_id"],
                ["chunk.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("chunk_id", "embedder"),
        )
        with op.batch_alter_table("chunkvector", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_chunkvector_chunk_id"), ["chunk_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_chunkvector_embedder"), ["embedder"], unique=False)

    if "feedback" not in existing:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("suggestion_id", AutoString(), nullable=False),
            sa.Column("rating", AutoString(), nullable=False),
            sa.Column("comment", AutoString(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["suggestion_id"],
                ["suggestion.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("feedback", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_feedback_suggestion_id"), ["suggestion_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_suggestion_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("chunkvector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chunkvector_embedder"))
        batch_op.drop_index(batch_op.f("ix_chunkvector_chunk_id"))

    op.drop_table("chunkvector")
    with op.batch_alter_table("turn", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_turn_call_id"))

    op.drop_table("turn")
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suggestion_call_id"))

    op.drop_table("suggestion")
    with op.batch_alter_table("keygrant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_keygrant_grantee_key_id"))

    op.drop_table("keygrant")
    with op.batch_alter_table("chunk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chunk_document_id"))

    op.drop_table("chunk")
    with op.batch_alter_table("ticketdelivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticketdelivery_ticket_id"))

    op.drop_table("ticketdelivery")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_status"))
        batch_op.drop_index(batch_op.f("ix_ticket_created_at"))
        batch_op.drop_index(batch_op.f("ix_ticket_call_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_agent_key_id"))

    op.drop_table("ticket")
    with op.batch_alter_table("scoreoverride", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scoreoverride_call_id"))

    op.drop_table("scoreoverride")
    with op.batch_alter_table("scorecard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scorecard_call_started_at"))
        batch_op.drop_index(batch_op.f("ix_scorecard_agent_key_id"))

    op.drop_table("scorecard")
    with op.batch_alter_table("rulerecord", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rulerecord_rule_id"))

    op.drop_table("rulerecord")
    op.drop_table("ingestjob")
    with op.batch_alter_table("guardevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardevent_status"))
        batch_op.drop_index(batch_op.f("ix_guardevent_created_at"))
        batch_op.drop_index(batch_op.f("ix_guardevent_call_id"))
        batch_op.drop_index(batch_op.f("ix_guardevent_agent_name"))

    op.drop_table("guardevent")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_source"))
        batch_op.drop_index(batch_op.f("ix_document_family_id"))
        batch_op.drop_index(batch_op.f("ix_document_content_hash"))

    op.drop_table("document")
    op.drop_table("disclosurerecord")
    with op.batch_alter_table("callcontact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callcontact_customer_hash"))
        batch_op.drop_index(batch_op.f("ix_callcontact_created_at"))
        batch_op.drop_index(batch_op.f("ix_callcontact_agent_key_id"))

    op.drop_table("callcontact")
    op.drop_table("call")
    with op.batch_alter_table("auditentry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditentry_target_type"))
        batch_op.drop_index(batch_op.f("ix_auditentry_target_id"))
        batch_op.drop_index(batch_op.f("ix_auditentry_created_at"))
        batch_op.drop_index(batch_op.f("ix_auditentry_action"))

    op.drop_table("auditentry")
    with op.batch_alter_table("apikey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apikey_key_hash"))

    op.drop_table("apikey")
