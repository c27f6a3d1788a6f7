"""The schema, as SQLAlchemy Core tables. Alembic migrations in migrations/versions create and evolve it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, SmallInteger, String, Table, Text

metadata = MetaData()

# SQLite's AUTOINCREMENT guarantees cursors are never reused, even after rows are deleted.
_cursor_type = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("cursor", _cursor_type, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("direction", SmallInteger, nullable=False),
    Column("peer_id", String(128), nullable=False, server_default=""),
    Column("message_id", String(128), nullable=False, server_default=""),
    Column("request_id", String(160), nullable=False, server_default=""),
    Column("payload", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_events_type_cursor", "type", "cursor"),
    sqlite_autoincrement=True,
)

consumer_cursors = Table(
    "consumer_cursors",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("cursor", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

local_reputation = Table(
    "local_reputation",
    metadata,
    Column("peer_id", String(128), primary_key=True),
    Column("local_score", Integer, nullable=False, server_default="0"),
    Column("total_jobs", BigInteger, nullable=False, server_default="0"),
    Column("successful_jobs", BigInteger, nullable=False, server_default="0"),
    Column("failed_jobs", BigInteger, nullable=False, server_default="0"),
    Column("last_interaction_at_ms", BigInteger, nullable=True),
)

# --- payments (upstream-ecco §9.9). Money columns hold decimal strings of base units (wei), never floats.

payment_ledger = Table(
    "payment_ledger",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("amount_wei", String(80), nullable=False),
    Column("token", String(64), nullable=False),
    Column("token_address", String(42), nullable=False, server_default=""),
    Column("chain_id", BigInteger, nullable=False),
    Column("recipient", String(42), nullable=False),
    Column("payer", String(128), nullable=False),
    Column("peer_id", String(128), nullable=False, server_default=""),
    Column("job_id", String(200), nullable=False),
    Column("invoice_id", String(200), nullable=False, server_default=""),
    Column("tx_hash", String(66), nullable=False, server_default=""),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("settled_at_ms", BigInteger, nullable=True),
    Column("metadata", Text, nullable=False, server_default="{}"),
    Index("ix_payment_ledger_invoice", "invoice_id", "direction"),
    Index("ix_payment_ledger_created", "created_at_ms"),
)

payment_queue = Table(
    "payment_queue",
    metadata,
    Column("invoice_id", String(200), primary_key=True),
    Column("invoice", Text, nullable=False),
    Column("issuer", String(128), nullable=False, server_default=""),
    Column("queued_at_ms", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # queued | settling | paid
    Column("settlement_id", String(36), nullable=True),
    # 1 once the payment proof reached the invoice's issuer (resent on every settle until then)
    Column("proof_sent", SmallInteger, nullable=False, server_default="0"),
    Index("ix_payment_queue_state", "state", "queued_at_ms"),
)

payment_settlements = Table(
    "payment_settlements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("sender", String(42), nullable=False),
    Column("recipient", String(42), nullable=False),
    Column("token", String(64), nullable=False),
    Column("token_address", String(42), nullable=False, server_default=""),
    Column("total_wei", String(80), nullable=False),
    Column("invoice_ids", Text, nullable=False),
    Column("nonce", BigInteger, nullable=False),
    Column("tx_hash", String(66), nullable=False, unique=True),
    Column("raw", Text, nullable=False),
    Column("status", String(16), nullable=False),  # signed | confirmed | failed
    Column("error", Text, nullable=False, server_default=""),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("finished_at_ms", BigInteger, nullable=True),
    Index("ix_payment_settlements_status", "status"),
)

expected_invoices = Table(
    "expected_invoices",
    metadata,
    Column("job_id", String(200), primary_key=True),
    Column("peer_id", String(128), nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
)

processed_payment_proofs = Table(
    "processed_payment_proofs",
    metadata,
    Column("tx_hash", String(66), primary_key=True),
    Column("invoice_id", String(200), primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("processed_at_ms", BigInteger, nullable=False),
)

payment_agreements = Table(
    "payment_agreements",
    metadata,
    Column("kind", String(16), primary_key=True),  # escrow | streaming | swarm | registration
    Column("key", String(200), primary_key=True),
    Column("doc", Text, nullable=False),
    Column("version", Integer, nullable=False),
)

payment_results = Table(
    "payment_results",
    metadata,
    Column("key", String(240), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("result", Text, nullable=False),
)

# The webhook bridge's counters for its current session (one row per consumer, reset when a bridge attaches).
bridge_state = Table(
    "bridge_state",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("started_at_ms", BigInteger, nullable=False),
    Column("delivered_count", BigInteger, nullable=False, server_default="0"),
    Column("failed_count", BigInteger, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("last_error_at_ms", BigInteger, nullable=True),
    Column("last_delivered_cursor", BigInteger, nullable=False, server_default="0"),
)

# Events the bridge gave up on; one per event, whatever the number of reports.
bridge_dead_letters = Table(
    "bridge_dead_letters",
    metadata,
    Column("seq", _cursor_type, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("event_cursor", BigInteger, nullable=False, unique=True),
    Column("hook_path", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_http_status", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("first_attempt_at_ms", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)
