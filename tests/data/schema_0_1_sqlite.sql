-- The SQLite schema that release 0.1 (before migrations) made with SQLModel.metadata.create_all.
-- tests/test_migrations.py builds a database of that release from it.
CREATE TABLE ticket (
	call_id VARCHAR NOT NULL, 
	template VARCHAR NOT NULL, 
	id VARCHAR NOT NULL, 
	template_version INTEGER NOT NULL, 
	fields JSON, 
	turns JSON, 
	status VARCHAR NOT NULL, 
	agent_key_id VARCHAR, 
	agent_name VARCHAR, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_ticket_agent_key_id ON ticket (agent_key_id);

CREATE INDEX ix_ticket_status ON ticket (status);

CREATE INDEX ix_ticket_call_id ON ticket (call_id);

CREATE INDEX ix_ticket_created_at ON ticket (created_at);

CREATE TABLE ticketdelivery (
	id INTEGER NOT NULL, 
	ticket_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	ok BOOLEAN NOT NULL, 
	status_code INTEGER, 
	error VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_ticketdelivery_ticket_id ON ticketdelivery (ticket_id);

CREATE TABLE scorecard (
	call_id VARCHAR NOT NULL, 
	rubric VARCHAR NOT NULL, 
	rubric_version INTEGER NOT NULL, 
	score FLOAT NOT NULL, 
	criteria JSON, 
	agent_key_id VARCHAR, 
	agent_name VARCHAR, 
	topics JSON, 
	call_started_at DATETIME, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (call_id)
);

CREATE INDEX ix_scorecard_call_started_at ON scorecard (call_started_at);

CREATE INDEX ix_scorecard_agent_key_id ON scorecard (agent_key_id);

CREATE TABLE scoreoverride (
	id INTEGER NOT NULL, 
	call_id VARCHAR NOT NULL, 
	criterion VARCHAR NOT NULL, 
	passed BOOLEAN, 
	auto_passed BOOLEAN, 
	note VARCHAR NOT NULL, 
	reviewer VARCHAR NOT NULL, 
	reviewer_key_id VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_scoreoverride_call_id ON scoreoverride (call_id);

CREATE TABLE callcontact (
	call_id VARCHAR NOT NULL, 
	customer_hash VARCHAR NOT NULL, 
	agent_key_id VARCHAR, 
	resolved BOOLEAN NOT NULL, 
	repeat_call_id VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (call_id)
);

CREATE INDEX ix_callcontact_customer_hash ON callcontact (customer_hash);

CREATE INDEX ix_callcontact_agent_key_id ON callcontact (agent_key_id);

CREATE INDEX ix_callcontact_created_at ON callcontact (created_at);

CREATE TABLE apikey (
	name VARCHAR NOT NULL, 
	role VARCHAR(10) NOT NULL, 
	id VARCHAR NOT NULL, 
	key_hash VARCHAR NOT NULL, 
	prefix VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_apikey_key_hash ON apikey (key_hash);

CREATE TABLE auditentry (
	actor VARCHAR NOT NULL, 
	role VARCHAR NOT NULL, 
	action VARCHAR NOT NULL, 
	target_type VARCHAR NOT NULL, 
	target_id VARCHAR, 
	"before" JSON, 
	"after" JSON, 
	id INTEGER NOT NULL, 
	actor_key_id VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_auditentry_target_type ON auditentry (target_type);

CREATE INDEX ix_auditentry_target_id ON auditentry (target_id);

CREATE INDEX ix_auditentry_action ON auditentry (action);

CREATE INDEX ix_auditentry_created_at ON auditentry (created_at);

CREATE TRIGGER auditentry_no_update BEFORE UPDATE ON auditentry BEGIN SELECT RAISE(ABORT, 'auditentry is append-only'); END;

CREATE TRIGGER auditentry_no_delete BEFORE DELETE ON auditentry BEGIN SELECT RAISE(ABORT, 'auditentry is append-only'); END;

CREATE TABLE call (
	id VARCHAR NOT NULL, 
	agent_key_id VARCHAR, 
	agent_name VARCHAR, 
	status VARCHAR NOT NULL, 
	topics JSON, 
	checklist JSON, 
	state JSON, 
	turn_count INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	PRIMARY KEY (id)
);

CREATE TABLE document (
	title VARCHAR NOT NULL, 
	source VARCHAR NOT NULL, 
	language VARCHAR NOT NULL, 
	product VARCHAR, 
	effective_from DATE, 
	effective_to DATE, 
	id VARCHAR NOT NULL, 
	family_id VARCHAR NOT NULL, 
	version INTEGER NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	file_type VARCHAR NOT NULL, 
	tags JSON, 
	meta JSON, 
	flags JSON, 
	next_steps JSON, 
	review_note VARCHAR, 
	chunk_count INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_document_source ON document (source);

CREATE INDEX ix_document_content_hash ON document (content_hash);

CREATE INDEX ix_document_family_id ON document (family_id);

CREATE TABLE ingestjob (
	id VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	filename VARCHAR NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	replaces VARCHAR, 
	created_by VARCHAR, 
	worker VARCHAR, 
	result JSON, 
	error VARCHAR, 
	error_status INTEGER, 
	created_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id)
);

CREATE TABLE guardevent (
	kind VARCHAR NOT NULL, 
	call_id VARCHAR, 
	turn INTEGER, 
	speaker VARCHAR, 
	agent_name VARCHAR, 
	action VARCHAR NOT NULL, 
	rule_ids JSON, 
	categories JSON, 
	rule_versions JSON, 
	text VARCHAR NOT NULL, 
	matches JSON, 
	context JSON, 
	status VARCHAR NOT NULL, 
	review_note VARCHAR, 
	reviewer VARCHAR, 
	reviewed_at DATETIME, 
	id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_guardevent_call_id ON guardevent (call_id);

CREATE INDEX ix_guardevent_agent_name ON guardevent (agent_name);

CREATE INDEX ix_guardevent_created_at ON guardevent (created_at);

CREATE INDEX ix_guardevent_status ON guardevent (status);

CREATE TABLE rulerecord (
	id INTEGER NOT NULL, 
	rule_id VARCHAR NOT NULL, 
	version INTEGER NOT NULL, 
	body JSON, 
	deleted BOOLEAN NOT NULL, 
	author VARCHAR, 
	change VARCHAR NOT NULL, 
	note VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (rule_id, version)
);

CREATE INDEX ix_rulerecord_rule_id ON rulerecord (rule_id);

CREATE TABLE disclosurerecord (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	items JSON, 
	author VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (version)
);

CREATE TABLE keygrant (
	id VARCHAR NOT NULL, 
	grantee_key_id VARCHAR NOT NULL, 
	owner_key_id VARCHAR, 
	access VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	removed_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(grantee_key_id) REFERENCES apikey (id), 
	FOREIGN KEY(owner_key_id) REFERENCES apikey (id)
);

CREATE INDEX ix_keygrant_grantee_key_id ON keygrant (grantee_key_id);

CREATE TABLE turn (
	id INTEGER NOT NULL, 
	call_id VARCHAR NOT NULL, 
	turn INTEGER NOT NULL, 
	speaker VARCHAR NOT NULL, 
	text VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(call_id) REFERENCES call (id)
);

CREATE INDEX ix_turn_call_id ON turn (call_id);

CREATE TABLE suggestion (
	id VARCHAR NOT NULL, 
	call_id VARCHAR NOT NULL, 
	turn INTEGER NOT NULL, 
	"query" VARCHAR NOT NULL, 
	answer VARCHAR NOT NULL, 
	source VARCHAR NOT NULL, 
	citations JSON, 
	next_steps JSON, 
	replaced_reason VARCHAR, 
	latency_ms FLOAT NOT NULL, 
	language VARCHAR NOT NULL, 
	sentences JSON, 
	timings JSON, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(call_id) REFERENCES call (id)
);

CREATE INDEX ix_suggestion_call_id ON suggestion (call_id);

CREATE TABLE chunk (
	id INTEGER NOT NULL, 
	document_id VARCHAR NOT NULL, 
	position INTEGER NOT NULL, 
	section VARCHAR NOT NULL, 
	page INTEGER, 
	text VARCHAR NOT NULL, 
	language VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(document_id) REFERENCES document (id)
);

CREATE INDEX ix_chunk_document_id ON chunk (document_id);

CREATE TABLE feedback (
	id INTEGER NOT NULL, 
	suggestion_id VARCHAR NOT NULL, 
	rating VARCHAR NOT NULL, 
	comment VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(suggestion_id) REFERENCES suggestion (id)
);

CREATE INDEX ix_feedback_suggestion_id ON feedback (suggestion_id);

CREATE TABLE chunkvector (
	id INTEGER NOT NULL, 
	chunk_id INTEGER NOT NULL, 
	embedder VARCHAR NOT NULL, 
	vector BLOB, 
	PRIMARY KEY (id), 
	UNIQUE (chunk_id, embedder), 
	FOREIGN KEY(chunk_id) REFERENCES chunk (id)
);

CREATE INDEX ix_chunkvector_chunk_id ON chunkvector (chunk_id);

CREATE INDEX ix_chunkvector_embedder ON chunkvector (embedder);

