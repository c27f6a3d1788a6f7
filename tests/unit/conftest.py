"""Fixtures for the unit tests: an in-memory EventStore fake and short-lived state directories in /tmp."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import pytest

from ecco.services.ports import ConsumerCursor, Direction, EventRecord, NewEvent

Hook = Callable[[int], Awaitable[None]]


class FakeEventStore:
    """An in-memory implementation of ecco.services.ports.EventStore.

    `before_read` / `after_read` let a test run code inside a read: before the snapshot is taken, or after it
    was taken but before it is returned, which is exactly the replay-to-live hand-over window.
    """

    def __init__(self) -> None:
        self.records: list[EventRecord] = []
        self.consumers: dict[str, ConsumerCursor] = {}
        self.before_read: Hook | None = None
        self.after_read: Hook | None = None
        self.reads = 0

    async def append(self, events: Sequence[NewEvent], now_ms: int) -> list[EventRecord]:
        await asyncio.sleep(0)
        added = []
        for new in events:
            record = EventRecord(
                len(self.records) + 1,
                str(uuid.uuid4()),
                new.type,
                new.direction,
                new.peer_id,
                new.message_id,
                new.request_id,
                new.payload_json,
                now_ms,
            )
            self.records.append(record)
            added.append(record)
        return added

    async def recent_inbound(self, since_ms: int, max_events: int) -> list[tuple[str, str]]:
        return [
            (r.peer_id, r.message_id)
            for r in self.records[-max_events:]
            if r.created_at_ms >= since_ms and r.direction == Direction.INBOUND and r.message_id
        ]

    async def read_after(self, cursor: int, types: frozenset[str], limit: int) -> list[EventRecord]:
        self.reads += 1
        if self.before_read is not None:
            await self.before_read(cursor)
        found = [r for r in self.records if r.cursor > cursor and (not types or r.type in types)][:limit]
        if self.after_read is not None:
            await self.after_read(cursor)
        await asyncio.sleep(0)
        return found

    async def head(self) -> int:
        return self.records[-1].cursor if self.records else 0

    async def get_consumer_cursor(self, consumer: str) -> ConsumerCursor:
        return self.consumers.get(consumer, ConsumerCursor(consumer, 0, None))

    async def commit_consumer_cursor(self, consumer: str, cursor: int, now_ms: int) -> ConsumerCursor:
        current = self.consumers.get(consumer)
        if current is None or cursor > current.cursor:
            self.consumers[consumer] = ConsumerCursor(consumer, cursor, now_ms)
        return self.consumers[consumer]


@pytest.fixture
def fake_store() -> FakeEventStore:
    return FakeEventStore()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory under /tmp with a short path (unix socket paths must stay below 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="ecco-u-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
