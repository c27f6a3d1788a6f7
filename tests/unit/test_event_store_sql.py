"""The SQL event store on a real SQLite file: ordering, filters, consumer cursors, migrations, durability."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from ecco.errors import Reason, Unavailable
from ecco.services.events import EventLog
from ecco.services.ports import Direction, NewEvent
from ecco.store.db import create_engine, migrate, sqlite_url
from ecco.store.events import SqlEventStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(short_tmp: Path) -> Path:
    return short_tmp / "ecco.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqlEventStore]:
    engine = create_engine(sqlite_url(db_path))
    await migrate(engine)
    try:
        yield SqlEventStore(engine)
    finally:
        await engine.dispose()


async def test_migrate_creates_schema_and_is_idempotent(db_path: Path) -> None:
    engine = create_engine(sqlite_url(db_path))
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


async def test_cursors_strictly_increase_and_records_round_trip(store: SqlEventStore) -> None:
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


async def test_read_after_respects_cursor_types_and_limit(store: SqlEventStore) -> None:
    types = ["ping", "agent-request", "pong", "agent-request", "ping", "agent-request"]
    records = await store.append([NewEvent(t) for t in types], 1)
    c = [r.cursor for r in records]
    assert [r.cursor for r in await store.read_after(c[1], frozenset(), 100)] == c[2:]
    assert [r.cursor for r in await store.read_after(0, frozenset({"agent-request"}), 100)] == [c[1], c[3], c[5]]
    assert [r.cursor for r in await store.read_after(c[1], frozenset({"agent-request", "pong"}), 2)] == c[2:4]
    assert await store.read_after(c[-1], frozenset(), 100) == []


async def test_consumer_cursor_never_moves_back(store: SqlEventStore) -> None:
    missing = await store.get_consumer_cursor("bridge")
    assert (missing.cursor, missing.updated_at_ms) == (0, None)
    assert (await store.commit_consumer_cursor("bridge", 7, 100)).cursor == 7
    back = await store.commit_consumer_cursor("bridge", 3, 200)
    assert (back.cursor, back.updated_at_ms) == (7, 100)
    assert (await store.commit_consumer_cursor("bridge", 9, 300)).cursor == 9
    assert (await store.get_consumer_cursor("other")).cursor == 0


async def test_event_log_commit_never_moves_back_on_sql(store: SqlEventStore) -> None:
    log = EventLog(store)
    await log.start()
    for _ in range(5):
        await log.record("ping")
    assert (await log.commit_consumer_cursor("listen", 4)).cursor == 4
    assert (await log.commit_consumer_cursor("listen", 1)).cursor == 4
    assert (await log.get_consumer_cursor("listen")).cursor == 4


async def test_data_and_consumer_cursors_survive_engine_recreation(db_path: Path) -> None:
    engine = create_engine(sqlite_url(db_path))
    await migrate(engine)
    store = SqlEventStore(engine)
    written = await store.append([NewEvent("ping"), NewEvent("pong")], 5)
    await store.commit_consumer_cursor("listen", written[-1].cursor, 6)
    await engine.dispose()

    engine = create_engine(sqlite_url(db_path))
    try:
        assert (await migrate(engine)).applied == []
        store = SqlEventStore(engine)
        assert (await store.get_consumer_cursor("listen")).cursor == written[-1].cursor
        assert await store.read_after(0, frozenset(), 10) == written
        log = EventLog(store)
        await log.start()
        assert log.head_cursor == written[-1].cursor
        again = await store.append([NewEvent("ping")], 7)
        assert again[0].cursor > written[-1].cursor
    finally:
        await engine.dispose()


WRITER = """
import asyncio, json, sys
from pathlib import Path
from ecco.services.ports import NewEvent
from ecco.store.db import create_engine, migrate, sqlite_url
from ecco.store.events import SqlEventStore

async def main():
    engine = create_engine(sqlite_url(Path(sys.argv[1])))
    await migrate(engine)
    store = SqlEventStore(engine)
    print("ready", flush=True)
    for i in range(100_000):
        [record] = await store.append([NewEvent("ping", payload_json=json.dumps({"i": i}))], i)
        print(record.cursor, i, flush=True)

asyncio.run(main())
"""


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


async def test_acknowledged_events_survive_sigkill(short_tmp: Path, db_path: Path) -> None:
    script = short_tmp / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db_path)],
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
        assert lines.get(timeout=60) == "ready\n", proc.stderr.read() if proc.poll() is not None else ""
        for _ in range(40):
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
    assert len(acknowledged) == 40

    engine = create_engine(sqlite_url(db_path))
    try:
        await migrate(engine)
        stored = await SqlEventStore(engine).read_after(0, frozenset(), 1_000_000)
    finally:
        await engine.dispose()
    by_cursor = {r.cursor: json.loads(r.payload_json)["i"] for r in stored}
    missing = set(acknowledged) - set(by_cursor)
    assert not missing, f"acknowledged but lost after SIGKILL: {sorted(missing)}"
    assert all(by_cursor[c] == i for c, i in acknowledged.items())
