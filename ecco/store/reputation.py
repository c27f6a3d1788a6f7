"""Local reputation on SQLAlchemy: one row per peer in `local_reputation`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ecco.services.discovery import LocalReputation
from ecco.services.ports import ReputationRecord
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
    concurrent outcomes in this process never overwrite each other (the node lock makes it the only writer).

    Outcomes recorded while a write is committing go into the next transaction together (group commit): a consensus
    query ending 30 requests at once costs a couple of commits, not 30 one after another."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_lock = asyncio.Lock()
        self._queued: list[_Outcome] = []

    async def get(self, peer_id: str) -> ReputationRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(local_reputation.c.peer_id == peer_id))).first()
        return None if row is None else _record(row)

    async def list(self) -> list[ReputationRecord]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(*_COLUMNS).order_by(local_reputation.c.peer_id))).all()
        return [_record(row) for row in rows]

    async def record(self, peer_id: str, success: bool, now_ms: int) -> ReputationRecord:
        """Returns once the transaction holding this outcome committed (whoever's call ran it)."""
        outcome = _Outcome(peer_id, success, now_ms, asyncio.get_running_loop().create_future())
        self._queued.append(outcome)
        async with self._write_lock:
            if not outcome.done.done():
                batch, self._queued = self._queued, []
                try:
                    async with self._engine.begin() as conn:
                        results = await _apply(conn, batch)
                except asyncio.CancelledError:
                    self._queued[:0] = batch  # rolled back: the next writer takes them
                    raise
                except Exception as exc:
                    for queued in batch:
                        if queued is not outcome:
                            queued.done.set_exception(exc)
                    raise
                for queued, result in zip(batch, results, strict=True):
                    queued.done.set_result(result)
        return await outcome.done


@dataclass
class _Outcome:
    peer_id: str
    success: bool
    now_ms: int
    done: asyncio.Future[ReputationRecord]


async def _apply(conn: AsyncConnection, batch: list[_Outcome]) -> list[ReputationRecord]:
    """Each outcome of the batch in order, each peer's row read once and written once (the reputation book
    hands over many outcomes of the same peer at a time); returns the record after each outcome."""
    by_peer: dict[str, list[int]] = {}
    for index, outcome in enumerate(batch):
        by_peer.setdefault(outcome.peer_id, []).append(index)
    results: list[ReputationRecord | None] = [None] * len(batch)
    for peer_id, indexes in by_peer.items():
        row = (await conn.execute(select(*_COLUMNS).where(local_reputation.c.peer_id == peer_id))).first()
        counts = LocalReputation.of(None if row is None else _record(row))
        for index in indexes:
            counts = counts.record(batch[index].success, batch[index].now_ms)
            results[index] = counts.as_record(peer_id)
        values = {
            "local_score": counts.local_score,
            "total_jobs": counts.total_jobs,
            "successful_jobs": counts.successful_jobs,
            "failed_jobs": counts.failed_jobs,
            "last_interaction_at_ms": counts.last_interaction_at,
        }
        if row is None:
            await conn.execute(insert(local_reputation).values(peer_id=peer_id, **values))
        else:
            await conn.execute(update(local_reputation).where(local_reputation.c.peer_id == peer_id).values(**values))
    return [result for result in results if result is not None]
