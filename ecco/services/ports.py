"""The interfaces services need from the outside world; adapters in store/, transport/, chain/ and bridge/
implement them, and tests substitute fakes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol


class Direction(IntEnum):
    """Mirrors ecco.v1.EventDirection."""

    INBOUND = 1
    OUTBOUND = 2
    LOCAL = 3


@dataclass(frozen=True)
class NewEvent:
    """An event before the log has given it a cursor."""

    type: str
    direction: Direction = Direction.LOCAL
    peer_id: str = ""
    message_id: str = ""
    request_id: str = ""
    payload_json: str = "{}"


@dataclass(frozen=True)
class EventRecord:
    """An event as stored: durable, with its cursor."""

    cursor: int
    id: str
    type: str
    direction: Direction
    peer_id: str
    message_id: str
    request_id: str
    payload_json: str
    created_at_ms: int


@dataclass(frozen=True)
class ConsumerCursor:
    consumer: str
    cursor: int
    updated_at_ms: int | None


class EventStore(Protocol):
    """Durable, append-only storage of events with strictly increasing cursors."""

    async def append(self, events: Sequence[NewEvent], now_ms: int) -> list[EventRecord]:
        """Store the events in one transaction; return them once committed.

        Concurrent appends get their cursors in the order they were called (the order in which the coroutines
        took their first step), whatever order they return in; EventLog publishes in that order."""
        ...

    async def read_after(self, cursor: int, types: frozenset[str], limit: int) -> list[EventRecord]:
        """Up to `limit` events with cursor > `cursor`, ascending; `types` empty means all types."""
        ...

    async def head(self) -> int:
        """The newest cursor, or 0."""
        ...

    async def recent_inbound(self, since_ms: int, max_events: int) -> list[tuple[str, str]]:
        """(peer_id, message_id) of every inbound message stored at or after `since_ms` among the newest
        `max_events` events (a bound on the work at start-up): what the duplicate filter must remember."""
        ...

    async def get_consumer_cursor(self, consumer: str) -> ConsumerCursor: ...

    async def commit_consumer_cursor(self, consumer: str, cursor: int, now_ms: int) -> ConsumerCursor:
        """Advance the consumer's cursor (never move it back); return the stored value."""
        ...


@dataclass(frozen=True)
class ReputationRecord:
    """One row of `local_reputation`: what this node saw of a peer's jobs (upstream-ecco §7.6)."""

    peer_id: str
    local_score: int = 0
    total_jobs: int = 0
    successful_jobs: int = 0
    failed_jobs: int = 0
    last_interaction_at_ms: int | None = None


class ReputationPort(Protocol):
    """Durable local reputation, one record per peer."""

    async def get(self, peer_id: str) -> ReputationRecord | None: ...

    async def list(self) -> list[ReputationRecord]:
        """Every record, in no particular order."""
        ...

    async def record(self, peer_id: str, success: bool, now_ms: int) -> ReputationRecord:
        """Count one more job for the peer (+1 / -1, clamped to [-1000, 1000]) in one transaction; concurrent
        calls never lose an update. Returns the stored record."""
        ...
