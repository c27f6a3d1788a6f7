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
