"""The webhook bridge's records on SQLAlchemy: session counters in `bridge_state`, dead letters in
`bridge_dead_letters` (read together with the event they failed to deliver)."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ecco.services.bridge import BridgeCounters, DeadLetterRecord, DeliveryReport, Outcome
from ecco.services.ports import Direction
from ecco.store.events import EVENT_COLUMNS, event_record
from ecco.store.tables import bridge_dead_letters, bridge_state, events

_DEAD_LETTER_COLUMNS = (
    bridge_dead_letters.c.id,
    bridge_dead_letters.c.hook_path,
    bridge_dead_letters.c.attempts,
    bridge_dead_letters.c.last_http_status,
    bridge_dead_letters.c.last_error,
    bridge_dead_letters.c.first_attempt_at_ms,
    bridge_dead_letters.c.created_at_ms,
)


class SqlBridgeStore:
    """BridgeStore on one engine; writes are serialised so counter updates never overwrite each other."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_lock = asyncio.Lock()
        # The larger of two values: SQLite's two-argument max(), GREATEST elsewhere.
        self._greatest = func.max if engine.dialect.name == "sqlite" else func.greatest

    async def start_session(self, consumer: str, now_ms: int) -> None:
        async with self._write_lock, self._engine.begin() as conn:
            exists = (
                await conn.execute(select(bridge_state.c.consumer).where(bridge_state.c.consumer == consumer))
            ).first()
            fresh = {
                "started_at_ms": now_ms,
                "delivered_count": 0,
                "failed_count": 0,
                "last_error": "",
                "last_error_at_ms": None,
            }
            if exists is None:
                await conn.execute(insert(bridge_state).values(consumer=consumer, **fresh))
            else:
                await conn.execute(update(bridge_state).where(bridge_state.c.consumer == consumer).values(**fresh))

    async def record(self, consumer: str, report: DeliveryReport, now_ms: int) -> None:
        row = bridge_state.c
        if report.outcome == Outcome.DELIVERED:
            values = {
                "delivered_count": row.delivered_count + 1,
                "last_delivered_cursor": self._greatest(row.last_delivered_cursor, report.event_cursor),
            }
        else:
            values = {"failed_count": row.failed_count + 1, "last_error": report.error, "last_error_at_ms": now_ms}
        async with self._write_lock, self._engine.begin() as conn:
            await conn.execute(update(bridge_state).where(row.consumer == consumer).values(**values))
            if report.outcome != Outcome.DEAD_LETTER:
                return
            stored = (
                await conn.execute(
                    select(bridge_dead_letters.c.id).where(bridge_dead_letters.c.event_cursor == report.event_cursor)
                )
            ).first()
            if stored is None:
                await conn.execute(
                    insert(bridge_dead_letters).values(
                        id=str(uuid.uuid4()),
                        event_cursor=report.event_cursor,
                        hook_path=report.hook_path,
                        attempts=report.attempts,
                        last_http_status=report.http_status,
                        last_error=report.error,
                        first_attempt_at_ms=report.first_attempt_ms or now_ms,
                        created_at_ms=now_ms,
                    )
                )

    async def counters(self, consumer: str) -> BridgeCounters:
        row = bridge_state.c
        query = select(
            row.started_at_ms,
            row.delivered_count,
            row.failed_count,
            row.last_error,
            row.last_error_at_ms,
            row.last_delivered_cursor,
        ).where(row.consumer == consumer)
        async with self._engine.connect() as conn:
            found = (await conn.execute(query)).first()
            if found is None:
                return BridgeCounters()
            started, delivered, failed, error, error_at, last_cursor = found
            given_up = select(func.count()).select_from(bridge_dead_letters)
            given_up = given_up.where(bridge_dead_letters.c.created_at_ms >= (started or 0))
            failed_events = int((await conn.execute(given_up)).scalar_one())
        return BridgeCounters(started, delivered, failed, error, error_at, last_cursor, failed_events)

    async def count_pending(self, after_cursor: int, types: frozenset[str], inbound_only: bool) -> int:
        query = select(func.count()).select_from(events).where(events.c.cursor > after_cursor)
        if types:
            query = query.where(events.c.type.in_(sorted(types)))
        if inbound_only:
            query = query.where(events.c.direction == int(Direction.INBOUND))
        else:
            query = query.where(events.c.direction != int(Direction.OUTBOUND))
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def dead_letters(self, offset: int, limit: int) -> tuple[list[DeadLetterRecord], int]:
        async with self._engine.connect() as conn:
            total = int((await conn.execute(select(func.count()).select_from(bridge_dead_letters))).scalar_one())
            if limit <= 0:
                return [], total
            query = (
                select(*_DEAD_LETTER_COLUMNS, *EVENT_COLUMNS)
                .join(events, events.c.cursor == bridge_dead_letters.c.event_cursor)
                .order_by(bridge_dead_letters.c.seq.desc())
                .offset(offset)
                .limit(limit)
            )
            rows = (await conn.execute(query)).all()
        letters = [
            DeadLetterRecord(
                id=row[0],
                event=event_record(row[len(_DEAD_LETTER_COLUMNS) :]),
                hook_path=row[1],
                attempts=row[2],
                last_http_status=row[3],
                last_error=row[4],
                first_attempt_ms=row[5],
                created_at_ms=row[6],
            )
            for row in rows
        ]
        return letters, total
