"""The event stores on real databases: ordering, filters, consumer cursors, migrations, durability.

Every store test runs against the three ways a node stores events: SqlEventStore (SQLAlchemy) on PostgreSQL, which
is what a node with a `postgresql+asyncpg://` db_url uses; SqliteEventStore (stdlib sqlite3, one writer thread
with group commit), what a node uses on its SQLite file; and SqlEventStore on that SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from ecco.errors import EccoError, Reason, Unavailable
from ecco.services.events.log import EventLog
from ecco.services.ports import Direction, NewEvent
from ecco.store.db import create_engine, migrate, open_event_store, sqlite_url
from ecco.store.events import SqlEventStore
from ecco.store.sqlite_events import SqliteEventStore, _Pending

REPO = Path(__file__).resolve().parents[2]
KINDS = ("sqlalchemy", "sqlite3", "postgresql")
SQLITE_KINDS = ("sqlalchemy", "sqlite3")
Store = SqlEventStore | SqliteEventStore


@pytest.fixture
def db_path(short_tmp: Path) -> Path:
    return short_tmp / "ecco.db"


@contextlib.asynccontextmanager
async def opened(kind: str, url: str) -> AsyncIterator[Store]:
    """A migrated database and the chosen store on it; the store is closed, then the engine disposed."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        store = SqlEventStore(engine) if kind == "sqlalchemy" else await open_event_store(engine)
        assert type(store) is (SqliteEventStore if kind == "sqlite3" else SqlEventStore)
        try:
            yield store
        finally:
            await store.close()
    finally:
        await engine.dispose()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def url(kind: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    """The SQLite file, or a fresh PostgreSQL database for the postgresql kind."""
    return request.getfixturevalue("pg_url") if kind == "postgresql" else sqlite_url(db_path)


@pytest.fixture
async def store(kind: str, url: str) -> AsyncIterator[Store]:
    async with opened(kind, url) as opened_store:
        yield opened_store


async def test_migrate_creates_schema_and_is_idempotent(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        first = await migrate(engine)
        assert first.before is None
        assert first.after is not None
        assert first.applied and first.applied[-1] == first.after
        second = await migrate(engine)
        assert second.applied == []
        assert second.before == second.after == first.after
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"events", "consumer_cursors"} <= tables
    finally:
        await engine.dispose()


async def test_migrate_reports_an_unusable_database(short_tmp: Path) -> None:
    not_a_db = short_tmp / "ecco.db"
    not_a_db.write_bytes(b"this is not an SQLite database, just some text" * 100)
    engine = create_engine(sqlite_url(not_a_db))
    try:
        with pytest.raises(Unavailable) as info:
            await migrate(engine)
        assert info.value.reason == Reason.DATABASE_UNAVAILABLE
    finally:
        await engine.dispose()


async def test_cursors_strictly_increase_and_records_round_trip(store: Store) -> None:
    assert await store.head() == 0
    first = await store.append(
        [NewEvent("agent-request", Direction.INBOUND, "peerA", "m1", "r1", '{"x":1}'), NewEvent("ping")], 1000
    )
    second = await store.append([NewEvent("pong", Direction.OUTBOUND)], 2000)
    cursors = [r.cursor for r in first + second]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == 3
    assert await store.head() == cursors[-1]
    stored = await store.read_after(0, frozenset(), 10)
    assert stored == first + second
    assert stored[0].direction is Direction.INBOUND
    assert (stored[0].peer_id, stored[0].message_id, stored[0].request_id) == ("peerA", "m1", "r1")
    assert stored[0].payload_json == '{"x":1}'
    assert stored[2].created_at_ms == 2000
    assert len({r.id for r in stored}) == 3


async def test_read_after_respects_cursor_types_and_limit(store: Store) -> None:
    types = ["ping", "agent-request", "pong", "agent-request", "ping", "agent-request"]
    records = await store.append([NewEvent(t) for t in types], 1)
    c = [r.cursor for r in records]
    assert [r.cursor for r in await store.read_after(c[1], frozenset(), 100)] == c[2:]
    assert [r.cursor for r in await store.read_after(0, frozenset({"agent-request"}), 100)] == [c[1], c[3], c[5]]
    assert [r.cursor for r in await store.read_after(c[1], frozenset({"agent-request", "pong"}), 2)] == c[2:4]
    assert await store.read_after(c[-1], frozenset(), 100) == []


async def test_recent_inbound_lists_the_inbound_messages_of_a_window_within_a_bound(store: Store) -> None:
    def inbound(message_id: str) -> NewEvent:
        return NewEvent("agent-request", Direction.INBOUND, "12D3KooWpeer", message_id, "", "{}")

    await store.append([inbound("old")], 1_000)
    await store.append([inbound("a"), NewEvent("node-started"), inbound("")], 5_000)
    await store.append([NewEvent("agent-request", Direction.OUTBOUND, "12D3KooWpeer", "out", "", "{}")], 5_000)
    await store.append([inbound("b")], 6_000)
    assert await store.recent_inbound(5_000, 100) == [("12D3KooWpeer", "a"), ("12D3KooWpeer", "b")]
    assert await store.recent_inbound(0, 2) == [("12D3KooWpeer", "b")]  # only the newest 2 events are looked at


async def test_consumer_cursor_never_moves_back(store: Store) -> None:
    missing = await store.get_consumer_cursor("bridge")
    assert (missing.cursor, missing.updated_at_ms) == (0, None)
    assert (await store.commit_consumer_cursor("bridge", 7, 100)).cursor == 7
    back = await store.commit_consumer_cursor("bridge", 3, 200)
    assert (back.cursor, back.updated_at_ms) == (7, 100)
    assert (await store.commit_consumer_cursor("bridge", 9, 300)).cursor == 9
    assert (await store.get_consumer_cursor("other")).cursor == 0


async def test_event_log_commit_never_moves_back_on_sql(store: Store) -> None:
    log = EventLog(store)
    await log.start()
    for _ in range(5):
        await log.record("ping")
    assert (await log.commit_consumer_cursor("listen", 4)).cursor == 4
    assert (await log.commit_consumer_cursor("listen", 1)).cursor == 4
    assert (await log.get_consumer_cursor("listen")).cursor == 4


async def test_replay_then_live_tail_misses_nothing_while_appends_continue(store: Store) -> None:
    """A follower subscribed from cursor 0 gets the stored events, then the live ones, in order, once each, while
    appends keep arriving during the hand-over."""
    log = EventLog(store)
    await log.start()
    stored = [await log.record("ping") for _ in range(5)]
    received: list[int] = []
    subscribed = asyncio.Event()

    async def follow() -> None:
        async for batch in log.subscribe(0, follow=True):
            if isinstance(batch, list):
                received.extend(record.cursor for record in batch)
                subscribed.set()
            if len(received) >= 30:
                return

    follower = asyncio.ensure_future(follow())
    await asyncio.wait_for(subscribed.wait(), 30)
    live = await asyncio.gather(*(log.record("pong") for _ in range(25)))
    await asyncio.wait_for(follower, 30)
    log.close()
    assert received == sorted(r.cursor for r in stored + live)


async def test_data_and_consumer_cursors_survive_engine_recreation(kind: str, url: str) -> None:
    async with opened(kind, url) as store:
        written = await store.append([NewEvent("ping"), NewEvent("pong")], 5)
        await store.commit_consumer_cursor("listen", written[-1].cursor, 6)

    # On SQLite, reopened with the other store too: both read and write the same schema.
    others = (k for k in SQLITE_KINDS if k != kind) if kind in SQLITE_KINDS else ()
    for reopened_kind in (kind, *others):
        async with opened(reopened_kind, url) as store:
            assert (await store.get_consumer_cursor("listen")).cursor == written[-1].cursor
            assert (await store.read_after(0, frozenset(), 10))[:2] == written
            log = EventLog(store)
            await log.start()
            head = log.head_cursor
            assert head >= written[-1].cursor
            again = await store.append([NewEvent("ping")], 7)
            assert again[0].cursor > head


WRITER = """
import asyncio, json, sys
from ecco.services.ports import NewEvent
from ecco.store.db import create_engine, migrate, open_event_store
from ecco.store.events import SqlEventStore

async def writer(store, first, step):
    # Each writer appends one event at a time and acknowledges it (prints) once append has returned.
    for i in range(first, 400_000, step):
        [record] = await store.append([NewEvent("ping", payload_json=json.dumps({"i": i}))], i)
        print(record.cursor, i, flush=True)

async def main():
    engine = create_engine(sys.argv[1])
    await migrate(engine)
    store = SqlEventStore(engine) if sys.argv[2] == "sqlalchemy" else await open_event_store(engine)
    print(type(store).__name__, flush=True)
    # Several concurrent writers, so that SqliteEventStore commits groups of appends while being killed.
    await asyncio.gather(*(writer(store, k, 4) for k in range(4)))

asyncio.run(main())
"""


ACKNOWLEDGED = 200


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


async def test_acknowledged_events_survive_sigkill(kind: str, short_tmp: Path, url: str) -> None:
    script = short_tmp / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), url, kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    acknowledged: dict[int, int] = {}
    try:
        expected = "SqliteEventStore" if kind == "sqlite3" else "SqlEventStore"
        assert lines.get(timeout=60) == f"{expected}\n", proc.stderr.read() if proc.poll() is not None else ""
        for _ in range(ACKNOWLEDGED):
            line = lines.get(timeout=30)
            assert line is not None, "the writer exited early"
            cursor, i = map(int, line.split())
            acknowledged[cursor] = i
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(acknowledged) == ACKNOWLEDGED

    async with opened(kind, url) as store:
        stored = await store.read_after(0, frozenset(), 1_000_000)
    by_cursor = {r.cursor: json.loads(r.payload_json)["i"] for r in stored}
    missing = set(acknowledged) - set(by_cursor)
    assert not missing, f"acknowledged but lost after SIGKILL: {sorted(missing)}"
    assert all(by_cursor[c] == i for c, i in acknowledged.items())


# ---------------------------------------------------------------- SqliteEventStore: group commit and errors


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteEventStore]:
    async with opened("sqlite3", sqlite_url(db_path)) as opened_store:
        assert isinstance(opened_store, SqliteEventStore)
        yield opened_store


async def hold_writer(store: SqliteEventStore) -> tuple[threading.Event, asyncio.Future[object]]:
    """Park the writer thread inside a transaction until the returned event is set; queued writes pile up."""
    entered, release = threading.Event(), threading.Event()

    def job(_conn: sqlite3.Connection) -> None:
        entered.set()
        assert release.wait(30), "the test never released the writer"

    pending = _Pending(job, asyncio.get_running_loop())
    store._writer.submit(pending)
    assert await asyncio.to_thread(entered.wait, 30)
    return release, pending.future


async def test_group_commit_keeps_call_order_and_batches_queued_appends(sqlite_store: SqliteEventStore) -> None:
    release, held = await hold_writer(sqlite_store)
    transactions = sqlite_store._writer.transactions
    callers, per_caller = 20, 10
    # Tasks start in creation order and each queues its append before its first await: call order is i.
    calls = [
        asyncio.ensure_future(
            sqlite_store.append([NewEvent("ping", payload_json=json.dumps({"caller": i % callers, "n": i}))], i)
        )
        for i in range(callers * per_caller)
    ]
    consumer = asyncio.ensure_future(sqlite_store.commit_consumer_cursor("listen", 1, 5))
    # Ready callbacks run in FIFO order: every task above has queued its write before the writer is released.
    asyncio.get_running_loop().call_soon(release.set)
    await held
    records = [record for call in calls for record in await call]
    assert (await consumer).cursor == 1
    # The held transaction and everything queued behind it: at most two commits for 201 writes.
    assert sqlite_store._writer.transactions - transactions <= 2

    cursors = [r.cursor for r in records]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    for caller in range(callers):
        mine = [r.cursor for r in records if json.loads(r.payload_json)["caller"] == caller]
        assert len(mine) == per_caller and mine == sorted(mine)
    assert await sqlite_store.read_after(0, frozenset(), 1000) == records


async def test_concurrent_appends_are_all_durable_after_close(db_path: Path) -> None:
    async with opened("sqlite3", sqlite_url(db_path)) as store:

        async def caller(k: int) -> list[int]:
            cursors = []
            for n in range(25):
                [record] = await store.append([NewEvent("ping", payload_json=json.dumps([k, n]))], n)
                cursors.append(record.cursor)
            return cursors

        per_caller = await asyncio.gather(*(caller(k) for k in range(16)))
        # The last writes are still queued when close starts: close commits them before it returns.
        tail = [asyncio.ensure_future(store.append([NewEvent("pong")], 1)) for _ in range(50)]
        closing = asyncio.ensure_future(store.close())
        tail_cursors = [(await call)[0].cursor for call in tail]
        await closing
        assert store.closed
    for cursors in per_caller:
        assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    assert tail_cursors == sorted(tail_cursors)
    acknowledged = {c for cursors in per_caller for c in cursors} | set(tail_cursors)
    assert len(acknowledged) == 16 * 25 + 50
    assert min(tail_cursors) > max(c for cursors in per_caller for c in cursors)

    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        stored = {cursor for (cursor,) in conn.execute("SELECT cursor FROM events")}
    assert stored == acknowledged


async def test_a_failing_write_does_not_fail_its_group(sqlite_store: SqliteEventStore) -> None:
    release, held = await hold_writer(sqlite_store)
    before = asyncio.ensure_future(sqlite_store.append([NewEvent("ping")], 1))

    def duplicate_id(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO events (id, type, direction, payload, created_at_ms) VALUES ('x', 'ping', 3, '{}', 1)"
        )
        conn.execute(
            "INSERT INTO events (id, type, direction, payload, created_at_ms) VALUES ('x', 'ping', 3, '{}', 1)"
        )

    loop = asyncio.get_running_loop()
    failing = _Pending(duplicate_id, loop)
    loop.call_soon(sqlite_store._writer.submit, failing)  # FIFO with the tasks: queued between the two appends
    after = asyncio.ensure_future(sqlite_store.append([NewEvent("pong")], 2))
    loop.call_soon(release.set)
    await held
    [first], [second] = await before, await after
    with pytest.raises(EccoError) as info:
        await failing.future
    assert info.value.reason == Reason.INTERNAL
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    stored = await sqlite_store.read_after(0, frozenset(), 10)
    assert stored == [first, second]  # nothing of the failed write, and both neighbours committed


async def test_a_closed_store_refuses_every_call(sqlite_store: SqliteEventStore) -> None:
    await sqlite_store.append([NewEvent("ping")], 1)
    await sqlite_store.close()
    await sqlite_store.close()  # idempotent
    calls = [
        sqlite_store.append([NewEvent("ping")], 2),
        sqlite_store.read_after(0, frozenset(), 10),
        sqlite_store.head(),
        sqlite_store.get_consumer_cursor("listen"),
        sqlite_store.commit_consumer_cursor("listen", 1, 3),
    ]
    for call in calls:
        with pytest.raises(Unavailable) as info:
            await call
        assert info.value.reason == Reason.SHUTTING_DOWN


async def test_a_file_that_is_not_sqlite_is_unavailable(short_tmp: Path) -> None:
    not_a_db = short_tmp / "ecco.db"
    not_a_db.write_bytes(b"this is not an SQLite database, just some text" * 100)
    with pytest.raises(Unavailable) as info:
        await SqliteEventStore.open(not_a_db)
    assert info.value.reason == Reason.DATABASE_UNAVAILABLE
    assert "just some text" not in info.value.message


async def test_a_missing_file_or_schema_is_unavailable(short_tmp: Path) -> None:
    missing = short_tmp / "missing.db"
    with pytest.raises(Unavailable) as info:
        await SqliteEventStore.open(missing)
    assert info.value.reason == Reason.DATABASE_UNAVAILABLE
    assert not missing.exists()  # opening never creates the file: Alembic does, through migrate

    empty = short_tmp / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(Unavailable) as info:
        await SqliteEventStore.open(empty)
    assert info.value.reason == Reason.DATABASE_UNAVAILABLE


async def test_the_factory_keeps_sqlalchemy_for_other_databases(pg_url: str) -> None:
    memory = create_engine("sqlite+aiosqlite://")
    try:
        assert type(await open_event_store(memory)) is SqlEventStore
    finally:
        await memory.dispose()
    postgres = create_engine(pg_url)
    try:
        await migrate(postgres)
        store = await open_event_store(postgres)
        assert type(store) is SqlEventStore
        [record] = await store.append([NewEvent("ping")], 1)
        assert await store.head() == record.cursor
    finally:
        await postgres.dispose()


async def test_the_sqlite_store_uses_wal_and_full_sync(sqlite_store: SqliteEventStore, db_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for thread in (sqlite_store._writer, sqlite_store._reader):
        pending = _Pending(
            lambda conn: [conn.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS], asyncio.get_running_loop()
        )
        thread.submit(pending)
        assert await pending.future == ["wal", 2, 5000]  # synchronous=2 is FULL


PRAGMAS = ("journal_mode", "synchronous", "busy_timeout")
