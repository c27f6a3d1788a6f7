"""The event log on SQLAlchemy: an append-only table whose autoincrement key is the cursor."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ecco.services.ports import ConsumerCursor, Direction, EventRecord, NewEvent
from ecco.store.tables import consumer_cursors, events


def event_record(row: object) -> EventRecord:
    cursor, id_, type_, direction, peer_id, message_id, request_id, payload, created = row  # type: ignore[misc]
    return EventRecord(cursor, id_, type_, Direction(direction), peer_id, message_id, request_id, payload, created)


EVENT_COLUMNS = (
    events.c.cursor,
    events.c.id,
    events.c.type,
    events.c.direction,
    events.c.peer_id,
    events.c.message_id,
    events.c.request_id,
    events.c.payload,
    events.c.created_at_ms,
)


_INSERT_RETURNING = insert(events).returning(events.c.cursor, events.c.id)
# PostgreSQL: a transaction-scoped advisory lock taken before each write, so writes from several processes commit
# one at a time, in cursor order (a sequence hands out numbers at INSERT, not at COMMIT).
_SERIALISE_WRITES = text("SELECT pg_advisory_xact_lock(1701012336)")  # "ecco" + 1


class SqlEventStore:
    """EventStore on one engine. Appends are serialised so cursors commit in order, which lets readers treat
    "cursor > last seen" as "everything new". On PostgreSQL, where sequences may commit out of order, they are also
    serialised across processes: the daemon's writer lock (ecco.store.db.WriterLock) keeps a second node off the
    database, and each write takes a transaction advisory lock so even a second writer cannot break the order."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_lock = asyncio.Lock()
        self._serialise = engine.dialect.name == "postgresql"

    async def append(self, new: Sequence[NewEvent], now_ms: int) -> list[EventRecord]:
        rows = [
            {
                "id": str(uuid.uuid4()),
                "type": e.type,
                "direction": int(e.direction),
                "peer_id": e.peer_id,
                "message_id": e.message_id,
                "request_id": e.request_id,
                "payload": e.payload_json,
                "created_at_ms": now_ms,
            }
            for e in new
        ]
        async with self._write_lock, self._engine.begin() as conn:
            if self._serialise:
                await conn.execute(_SERIALISE_WRITES)
            # One multi-row INSERT; RETURNING order is not guaranteed for many rows, so map cursors back by id.
            result = await conn.execute(_INSERT_RETURNING, rows)
            cursor_by_id = {event_id: cursor for cursor, event_id in result.all()}
        records = [
            EventRecord(
                cursor_by_id[r["id"]],
                r["id"],
                r["type"],
                Direction(r["direction"]),
                r["peer_id"],
                r["message_id"],
                r["request_id"],
                r["payload"],
                now_ms,
            )
            for r in rows
        ]
        return sorted(records, key=lambda record: record.cursor)

    async def read_after(self, cursor: int, types: frozenset[str], limit: int) -> list[EventRecord]:
        query = select(*EVENT_COLUMNS).where(events.c.cursor > cursor).order_by(events.c.cursor).limit(limit)
        if types:
            query = query.where(events.c.type.in_(sorted(types)))
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [event_record(row) for row in result.all()]

    async def head(self) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.max(events.c.cursor)))).scalar() or 0)

    async def recent_inbound(self, since_ms: int, max_events: int) -> list[tuple[str, str]]:
        newest = select(func.coalesce(func.max(events.c.cursor), 0)).scalar_subquery()
        query = (
            select(events.c.peer_id, events.c.message_id)
            .where(
                events.c.cursor > newest - max_events,
                events.c.created_at_ms >= since_ms,
                events.c.direction == int(Direction.INBOUND),
                events.c.message_id != "",
            )
            .order_by(events.c.cursor)
        )
        async with self._engine.connect() as conn:
            return [(peer_id, message_id) for peer_id, message_id in (await conn.execute(query)).all()]

    async def get_consumer_cursor(self, consumer: str) -> ConsumerCursor:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(consumer_cursors.c.cursor, consumer_cursors.c.updated_at_ms).where(
                        consumer_cursors.c.consumer == consumer
                    )
                )
            ).first()
        return ConsumerCursor(consumer, row[0], row[1]) if row else ConsumerCursor(consumer, 0, None)

    async def commit_consumer_cursor(self, consumer: str, cursor: int, now_ms: int) -> ConsumerCursor:
        async with self._write_lock, self._engine.begin() as conn:
            if self._serialise:
                await conn.execute(_SERIALISE_WRITES)
            where = consumer_cursors.c.consumer == consumer
            current = (await conn.execute(select(consumer_cursors.c.cursor).where(where))).scalar()
            if current is None:
                await conn.execute(
                    insert(consumer_cursors).values(consumer=consumer, cursor=cursor, updated_at_ms=now_ms)
                )
            elif cursor > current:
                await conn.execute(update(consumer_cursors).where(where).values(cursor=cursor, updated_at_ms=now_ms))
        return await self.get_consumer_cursor(consumer)

    async def close(self) -> None:
        """Nothing to release: the engine belongs to whoever created it."""
