"""Local reputation on SQLAlchemy: one row per peer in `local_reputation`."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ecco.services.ports import ReputationRecord
from ecco.services.reputation import LocalReputation
from ecco.store.tables import local_reputation

_COLUMNS = (
    local_reputation.c.peer_id,
    local_reputation.c.local_score,
    local_reputation.c.total_jobs,
    local_reputation.c.successful_jobs,
    local_reputation.c.failed_jobs,
    local_reputation.c.last_interaction_at_ms,
)


def _record(row: object) -> ReputationRecord:
    peer_id, score, total, successful, failed, last = row  # type: ignore[misc]
    return ReputationRecord(peer_id, score, total, successful, failed, last)


class SqlReputationStore:
    """ReputationPort on one engine. Updates are read-modify-write in one transaction, serialised by a lock so
    concurrent outcomes in this process never overwrite each other (the node lock makes it the only writer)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_lock = asyncio.Lock()

    async def get(self, peer_id: str) -> ReputationRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(local_reputation.c.peer_id == peer_id))).first()
        return None if row is None else _record(row)

    async def list(self) -> list[ReputationRecord]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(*_COLUMNS).order_by(local_reputation.c.peer_id))).all()
        return [_record(row) for row in rows]

    async def record(self, peer_id: str, success: bool, now_ms: int) -> ReputationRecord:
        async with self._write_lock, self._engine.begin() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(local_reputation.c.peer_id == peer_id))).first()
            before = LocalReputation() if row is None else _local(_record(row))
            after = before.record(success, now_ms)
            values = {
                "local_score": after.local_score,
                "total_jobs": after.total_jobs,
                "successful_jobs": after.successful_jobs,
                "failed_jobs": after.failed_jobs,
                "last_interaction_at_ms": after.last_interaction_at,
            }
            if row is None:
                await conn.execute(insert(local_reputation).values(peer_id=peer_id, **values))
            else:
                await conn.execute(
                    update(local_reputation).where(local_reputation.c.peer_id == peer_id).values(**values)
                )
        return ReputationRecord(peer_id, **values)


def _local(record: ReputationRecord) -> LocalReputation:
    return LocalReputation(
        record.local_score,
        record.total_jobs,
        record.successful_jobs,
        record.failed_jobs,
        record.last_interaction_at_ms,
    )
