"""The node's side of the webhook bridge: who is attached, what each delivery attempt came to, and the status
report. Everything a bridge reports goes to the node's database, so the counters and dead letters of a
standalone bridge (a separate process) and of the bridge embedded in the daemon are read the same way."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ecco.errors import AlreadyExists, FailedPrecondition, InvalidArgument, Reason
from ecco.services.bridge.ports import (
    Attachment,
    BridgeConfig,
    BridgeCounters,
    BridgeStore,
    DeadLetterRecord,
    DeliveryReport,
    Outcome,
)
from ecco.services.bridge.rules import CONSUMER, DEFAULT_TYPES
from ecco.services.events import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, EventLog, now_ms


@dataclass(frozen=True)
class BridgeStatus:
    running: bool
    config: BridgeConfig | None
    counters: BridgeCounters
    pending: int
    dead_letters: int
    consumer_cursor: int


@dataclass(frozen=True)
class DeadLetterPage:
    dead_letters: list[DeadLetterRecord]
    next_offset: int | None
    total: int


@dataclass(frozen=True)
class _Session:
    id: str
    config: BridgeConfig


class BridgeMonitor:
    """One bridge at a time may attach (two would deliver every event twice)."""

    def __init__(
        self,
        store: BridgeStore,
        events: EventLog,
        peer_id: str,
        node_name: str,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._events = events
        self._peer_id = peer_id
        self._node_name = node_name
        self._clock = clock
        self._session: _Session | None = None
        self._closed = asyncio.Event()

    def close(self) -> None:
        """The node is stopping: ends every `wait_closed` (open AttachBridge calls)."""
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def attach(self, config: BridgeConfig) -> Attachment:
        if self._session is not None:
            raise AlreadyExists(
                f"a webhook bridge is already attached to this node (to {self._session.config.openclaw_url}); "
                "stop it before starting another",
                Reason.BRIDGE_ALREADY_RUNNING,
            )
        session = _Session(uuid.uuid4().hex, config)
        self._session = session
        try:
            await self._store.start_session(CONSUMER, self._clock())
            cursor = (await self._events.get_consumer_cursor(CONSUMER)).cursor
        except BaseException:
            self._session = None
            raise
        return Attachment(session.id, CONSUMER, cursor, self._peer_id, self._node_name)

    def detach(self, session_id: str) -> None:
        if self._session is not None and self._session.id == session_id:
            self._session = None

    async def report(self, session_id: str, report: DeliveryReport) -> int:
        """Record one attempt; DELIVERED and DEAD_LETTER then commit the cursor (the record first, so a crash in
        between redelivers the event rather than losing it)."""
        if self._session is None or self._session.id != session_id:
            raise FailedPrecondition(
                "this bridge session is not attached to the node (it restarted?); attach again",
                Reason.BRIDGE_NOT_RUNNING,
                field="session_id",
            )
        if report.event_cursor <= 0:
            raise InvalidArgument(
                f"event_cursor must be a positive cursor, got {report.event_cursor}",
                Reason.INVALID_CURSOR,
                field="event_cursor",
            )
        await self._store.record(CONSUMER, report, self._clock())
        if report.outcome == Outcome.DEAD_LETTER:
            await self._events.record(
                "bridge-delivery-failed",
                {
                    "eventCursor": report.event_cursor,
                    "hookPath": report.hook_path,
                    "httpStatus": report.http_status,
                    "error": report.error,
                    "attempts": report.attempts,
                },
            )
        if report.outcome == Outcome.RETRYING:
            return (await self._events.get_consumer_cursor(CONSUMER)).cursor
        return (await self._events.commit_consumer_cursor(CONSUMER, report.event_cursor)).cursor

    async def status(self) -> BridgeStatus:
        session = self._session
        stored = await self._store.counters(CONSUMER)
        cursor = (await self._events.get_consumer_cursor(CONSUMER)).cursor
        _, dead = await self._store.dead_letters(0, 0)
        if session is None:
            kept = BridgeCounters(last_delivered_cursor=stored.last_delivered_cursor)
            return BridgeStatus(False, None, kept, 0, dead, cursor)
        wanted = frozenset(session.config.filter)
        pending = await self._store.count_pending(cursor, wanted or DEFAULT_TYPES, inbound_only=not wanted)
        return BridgeStatus(True, session.config, stored, pending, dead, cursor)

    async def dead_letters(self, page_size: int, offset: int) -> DeadLetterPage:
        if page_size < 0:
            raise InvalidArgument(
                f"page_size must not be negative, got {page_size}", Reason.INVALID_ARGUMENT, field="page_size"
            )
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        records, total = await self._store.dead_letters(offset, size)
        more = offset + len(records) < total
        return DeadLetterPage(records, offset + len(records) if more else None, total)
