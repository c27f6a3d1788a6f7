"""What only a real PostgreSQL server shows: the single-writer rule across processes, concurrent writers, and a
connection lost or a server restarted while the node runs (clear error, recovery, nothing acknowledged lost)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from ecco.errors import AlreadyExists, Reason, Unavailable
from ecco.services.ports import NewEvent
from ecco.store import db
from ecco.store.db import WriterLock, create_engine, migrate
from ecco.store.events import SqlEventStore
from tests.postgres import PgServer


@contextlib.asynccontextmanager
async def engine_on(url: str) -> AsyncIterator[object]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


def owned(pg: PgServer) -> PgServer:
    if not pg.owned:
        pytest.skip("restarts the server: only on the cluster the suite starts itself, not on ECCO_TEST_PG_URL")
    return pg


async def test_a_second_writer_is_refused_naming_the_holder_until_the_first_lets_go(pg_url: str) -> None:
    async with engine_on(pg_url) as first_engine, engine_on(pg_url) as second_engine:
        first, second = WriterLock(first_engine), WriterLock(second_engine)
        await first.acquire()
        with pytest.raises(AlreadyExists) as info:
            await second.acquire()
        assert info.value.reason == Reason.NODE_ALREADY_RUNNING
        assert "ecco pid" in info.value.message and "its own database" in info.value.message
        await first.release()
        await second.acquire()  # released with its session: the next node may start
        await second.release()


async def test_the_writer_lock_is_per_database(pg: PgServer, pg_url: str) -> None:
    other = pg.new_database()
    try:
        async with engine_on(pg_url) as a, engine_on(other) as b:
            locks = [WriterLock(a), WriterLock(b)]
            for lock in locks:
                await lock.acquire()  # two nodes on one server, each its own database
            for lock in locks:
                await lock.release()
    finally:
        pg.drop_database(other)


async def test_concurrent_writers_commit_in_cursor_order_so_a_tail_misses_nothing(pg_url: str) -> None:
    """Two stores on separate engines (as two processes would be) append at once while a reader follows
    "cursor > last seen": every event reaches the reader, because writes commit in cursor order."""
    async with engine_on(pg_url) as e1, engine_on(pg_url) as e2, engine_on(pg_url) as e3:
        await migrate(e1)
        writers, reader = [SqlEventStore(e1), SqlEventStore(e2)], SqlEventStore(e3)
        done = asyncio.Event()

        async def write(store: SqlEventStore, k: int) -> set[int]:
            acknowledged = set()
            for n in range(150):
                [record] = await store.append([NewEvent("ping", payload_json=json.dumps([k, n]))], n)
                acknowledged.add(record.cursor)
            return acknowledged

        async def follow() -> list[int]:
            seen, last = [], 0
            for _ in range(100_000):  # bounded
                finished = done.is_set()
                batch = await reader.read_after(last, frozenset(), 1000)
                seen += [r.cursor for r in batch]
                last = seen[-1] if seen else 0
                if finished and not batch:
                    return seen
            raise AssertionError("the reader never caught up")

        tail = asyncio.ensure_future(follow())
        acknowledged = await asyncio.gather(*(write(store, k) for k, store in enumerate(writers * 2)))
        done.set()
        seen = await tail
        assert seen == sorted(set().union(*acknowledged))


async def test_a_cut_connection_is_invisible_and_a_restart_is_a_clear_error_then_recovery(
    pg: PgServer, pg_url: str
) -> None:
    owned(pg)
    async with engine_on(pg_url) as engine:
        await migrate(engine)
        store = SqlEventStore(engine)
        acknowledged = [r.cursor for r in await store.append([NewEvent("ping")], 1)]

        pg.terminate_connections(pg_url)  # idle pooled connections die: pre-ping reconnects
        acknowledged += [r.cursor for r in await store.append([NewEvent("ping")], 2)]

        async with engine.connect() as held:  # a connection in use when the server crashes
            pg.crash()
            with pytest.raises(Unavailable) as mid:
                await held.execute(text("SELECT 1"))
            assert mid.value.reason == Reason.DATABASE_UNAVAILABLE
        try:
            for call in (store.read_after(0, frozenset(), 10), store.append([NewEvent("ping")], 3)):
                with pytest.raises(Unavailable) as down:
                    await call
                assert down.value.reason == Reason.DATABASE_UNAVAILABLE
                assert "see daemon.log" in down.value.message and pg_url not in down.value.message
        finally:
            pg.start()
        acknowledged += [r.cursor for r in await store.append([NewEvent("pong")], 4)]
        stored = [r.cursor for r in await store.read_after(0, frozenset(), 100)]
        assert stored == acknowledged


async def test_the_writer_lock_is_taken_again_after_a_restart_or_the_node_stops(
    pg: PgServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    owned(pg)
    monkeypatch.setattr(db, "LOCK_HEARTBEAT_S", 0.05)
    async with engine_on(pg_url) as mine, engine_on(pg_url) as theirs:
        lock, stopped = WriterLock(mine), asyncio.Event()
        await lock.acquire()
        watcher = asyncio.ensure_future(lock.watch(stopped.set))
        try:
            pg.restart()
            # Re-taken: another node is refused again (bounded wait: the watcher retries every 50 ms).
            other = WriterLock(theirs)
            for _ in range(200):
                try:
                    await other.acquire()
                except AlreadyExists:
                    break
                await other.release()
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the writer lock was not taken again after the restart")
            assert not stopped.is_set()

            # Lost for good: someone else took it while our connection was down; the node is asked to stop.
            monkeypatch.setattr(db, "LOCK_HEARTBEAT_S", 2.0)
            await asyncio.sleep(0.2)  # the watcher's short sleep ends; it now checks again only after 2 s
            pg.terminate_connections(pg_url)
            await other.acquire()
            await asyncio.wait_for(stopped.wait(), 10)
            await other.release()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await lock.release()
