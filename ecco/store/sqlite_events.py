"""The event log on a SQLite file through the stdlib `sqlite3`: one writer thread with group commit.

Why not SQLAlchemy here: an append through SQLAlchemy async + aiosqlite costs ~0.5-0.9 ms of CPU (about five
hand-offs to aiosqlite's thread per append), against ~0.08 ms for the same INSERT ... RETURNING + COMMIT on a plain
`sqlite3` connection with the same pragmas (bench/README.md, "Problems found", item 4). The schema is still
created and migrated by Alembic (ecco.store.db.migrate) before this store opens the file.

Writes (appends and consumer-cursor commits) go to ONE connection owned by ONE writer thread, in the order they
were called. The writer takes every write queued while its previous transaction was committing and stores them in
the next single transaction (group commit), then resolves each caller's future only after that COMMIT returned:
with WAL and synchronous=FULL the events are on disk before anyone is told they were recorded. Cursors strictly
increase in call order. Reads run on a separate read-only connection on a reader thread; WAL lets it read while
the writer commits, and each read statement sees every transaction committed before it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ecco.errors import EccoError, Reason, Unavailable
from ecco.services.ports import ConsumerCursor, Direction, EventRecord, NewEvent

log = logging.getLogger("ecco.store")

BUSY_TIMEOUT_MS = 5000
# At most this many queued writes go into one transaction (a single append may hold any number of events).
MAX_GROUP = 512

_INSERT = (
    "INSERT INTO events (id, type, direction, peer_id, message_id, request_id, payload, created_at_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING cursor"
)
_UPSERT_CONSUMER = (
    "INSERT INTO consumer_cursors (consumer, cursor, updated_at_ms) VALUES (?, ?, ?)"
    " ON CONFLICT (consumer) DO UPDATE SET cursor = excluded.cursor, updated_at_ms = excluded.updated_at_ms"
    " WHERE excluded.cursor > consumer_cursors.cursor"
)
_SELECT_CONSUMER = "SELECT cursor, updated_at_ms FROM consumer_cursors WHERE consumer = ?"
_COLUMNS = "cursor, id, type, direction, peer_id, message_id, request_id, payload, created_at_ms"
_READ_AFTER = f"SELECT {_COLUMNS} FROM events WHERE cursor > ? ORDER BY cursor LIMIT ?"
_HEAD = "SELECT max(cursor) FROM events"
_RECENT_INBOUND = (
    "SELECT peer_id, message_id FROM events WHERE cursor > (SELECT coalesce(max(cursor), 0) FROM events) - ?"
    " AND created_at_ms >= ? AND direction = ? AND message_id != '' ORDER BY cursor"
)
# Prepared on open: a file that is not SQLite, or one without the schema, fails here rather than on first use.
_SCHEMA_CHECKS = (
    f"SELECT {_COLUMNS} FROM events LIMIT 0",
    "SELECT consumer, cursor, updated_at_ms FROM consumer_cursors LIMIT 0",
)

_DIRECTIONS = {int(d): d for d in Direction}

# A job runs on a store thread with that thread's connection; its result (or exception) goes to the caller.
Job = Callable[[sqlite3.Connection], Any]


def _shutting_down() -> Unavailable:
    return Unavailable("the event store is closed; the node is shutting down", Reason.SHUTTING_DOWN)


def _unavailable(exc: BaseException) -> EccoError:
    """The domain error for a sqlite3 failure; the message never carries the exception text (it is chained)."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return EccoError(f"the event store rejected a write ({type(exc).__name__}); see daemon.log", Reason.INTERNAL)
    return Unavailable(
        f"the event database is unavailable ({type(exc).__name__}); see daemon.log", Reason.DATABASE_UNAVAILABLE
    )


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """A connection with the daemon's pragmas (WAL, synchronous=FULL, busy timeout); never creates the file."""
    conn = sqlite3.connect(
        f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        pragmas = ["journal_mode=WAL", "synchronous=FULL", f"busy_timeout={BUSY_TIMEOUT_MS}", "foreign_keys=ON"]
        if read_only:
            pragmas.append("query_only=ON")
        for pragma in pragmas:
            conn.execute(f"PRAGMA {pragma}").fetchall()
        for check in _SCHEMA_CHECKS:
            conn.execute(check).fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


class _Pending:
    """One write waiting for the writer: its job, and the caller's future on the caller's loop."""

    __slots__ = ("future", "job", "loop")

    def __init__(self, job: Job, loop: asyncio.AbstractEventLoop) -> None:
        self.job = job
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    """On the caller's loop: hand each caller its result or error (a cancelled caller no longer listens)."""
    for future, result, error in outcomes:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _deliver(batch: list[_Pending], outcomes: list[tuple[Any, BaseException | None]]) -> None:
    """From a store thread: one wake-up per loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
    for pending, (result, error) in zip(batch, outcomes, strict=True):
        by_loop.setdefault(pending.loop, []).append((pending.future, result, error))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the caller's loop is gone: nobody is waiting any more
            loop.call_soon_threadsafe(_settle, settled)


class _StoreThread(threading.Thread):
    """A thread that owns one connection and runs the jobs queued for it, in order.

    The writer (group=True) runs every job queued while it was busy inside one BEGIN IMMEDIATE ... COMMIT and
    answers them only after the COMMIT; a reader runs each job on its own (autocommit: one snapshot per statement).
    """

    def __init__(self, path: Path, *, name: str, group: bool) -> None:
        super().__init__(name=name, daemon=True)
        self._path = path
        self._group = group
        self._jobs: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._conn: sqlite3.Connection | None = None
        self.opened = threading.Event()
        self.open_error: BaseException | None = None
        self.transactions = 0  # committed by the writer; lets tests see groups form

    def submit(self, pending: _Pending | None) -> None:
        self._jobs.put(pending)

    def run(self) -> None:
        try:
            self._conn = _connect(self._path, read_only=not self._group)
        except BaseException as exc:
            self.open_error = exc
            self.opened.set()
            return
        self.opened.set()
        try:
            while (first := self._jobs.get()) is not None:
                batch = [first]
                stop = False
                while self._group and len(batch) < MAX_GROUP:
                    try:
                        more = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    batch.append(more)
                _deliver(batch, self._outcomes(batch))
                if stop:
                    break
        finally:
            self._conn.close()

    def _outcomes(self, batch: list[_Pending]) -> list[tuple[Any, BaseException | None]]:
        """Every job in the batch gets an answer, whatever happens: the thread must outlive any failure."""
        try:
            return self._commit(batch) if self._group else [self._run_one(batch[0])]
        except Exception as exc:
            log.exception("event store thread failed a batch")
            _rollback(self._conn)
            return [(None, _translated(exc) if isinstance(exc, sqlite3.Error) else exc) for _ in batch]

    def _run_one(self, pending: _Pending) -> tuple[Any, BaseException | None]:
        assert self._conn is not None
        try:
            return pending.job(self._conn), None
        except sqlite3.Error as exc:
            log.warning("event store read failed", exc_info=True)
            return None, _translated(exc)
        except Exception as exc:
            return None, exc

    def _commit(self, batch: list[_Pending]) -> list[tuple[Any, BaseException | None]]:
        """Run the batch in one transaction; if a statement fails, roll back and give each job its own."""
        conn = self._conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            log.error("event store cannot begin a transaction", exc_info=True)
            return [(None, _translated(exc)) for _ in batch]
        try:
            results = [pending.job(conn) for pending in batch]
        except Exception:
            _rollback(conn)
            return [self._commit_alone(pending) for pending in batch]
        try:
            conn.execute("COMMIT")
            self.transactions += 1
        except sqlite3.Error as exc:
            # Not retried: whether a failed COMMIT left anything on disk is not knowable here.
            log.error("event store commit failed", exc_info=True)
            _rollback(conn)
            return [(None, _translated(exc)) for _ in batch]
        return [(result, None) for result in results]

    def _commit_alone(self, pending: _Pending) -> tuple[Any, BaseException | None]:
        conn = self._conn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = pending.job(conn)
            conn.execute("COMMIT")
            self.transactions += 1
        except sqlite3.Error as exc:
            log.error("event store write failed", exc_info=True)
            _rollback(conn)
            return None, _translated(exc)
        except Exception as exc:
            _rollback(conn)
            return None, exc
        return result, None


def _rollback(conn: sqlite3.Connection | None) -> None:
    """End an open transaction, if any; a failure here is already reported by the statement that caused it."""
    if conn is not None and conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _translated(exc: sqlite3.Error) -> BaseException:
    error = _unavailable(exc)
    error.__cause__ = exc
    return error


def _append_job(new: Sequence[NewEvent], now_ms: int) -> Job:
    rows = [
        (
            str(uuid.uuid4()),
            e.type,
            int(e.direction),
            e.peer_id,
            e.message_id,
            e.request_id,
            e.payload_json,
            now_ms,
        )
        for e in new
    ]

    def append(conn: sqlite3.Connection) -> list[EventRecord]:
        out = []
        for row in rows:
            (cursor,) = conn.execute(_INSERT, row).fetchone()
            out.append(EventRecord(cursor, row[0], row[1], _DIRECTIONS[row[2]], *row[3:]))
        return out

    return append


def _consumer_job(consumer: str, cursor: int, now_ms: int) -> Job:
    def commit(conn: sqlite3.Connection) -> ConsumerCursor:
        conn.execute(_UPSERT_CONSUMER, (consumer, cursor, now_ms))
        stored, updated = conn.execute(_SELECT_CONSUMER, (consumer,)).fetchone()
        return ConsumerCursor(consumer, stored, updated)

    return commit


def _read_after_job(after: int, types: frozenset[str], limit: int) -> Job:
    if types:
        marks = ", ".join("?" * len(types))
        sql = f"SELECT {_COLUMNS} FROM events WHERE cursor > ? AND type IN ({marks}) ORDER BY cursor LIMIT ?"
        params: tuple[Any, ...] = (after, *sorted(types), limit)
    else:
        sql, params = _READ_AFTER, (after, limit)

    def read(conn: sqlite3.Connection) -> list[EventRecord]:
        directions = _DIRECTIONS
        return [
            EventRecord(c, i, t, directions[d], p, m, r, pl, at)
            for c, i, t, d, p, m, r, pl, at in conn.execute(sql, params)
        ]

    return read


def _head_job(conn: sqlite3.Connection) -> int:
    return int(conn.execute(_HEAD).fetchone()[0] or 0)


def _get_consumer_job(consumer: str) -> Job:
    def get(conn: sqlite3.Connection) -> ConsumerCursor:
        row = conn.execute(_SELECT_CONSUMER, (consumer,)).fetchone()
        return ConsumerCursor(consumer, row[0], row[1]) if row else ConsumerCursor(consumer, 0, None)

    return get


class SqliteEventStore:
    """EventStore on a SQLite file (schema already migrated): one writer thread with group commit, one reader.

    Open with `await SqliteEventStore.open(path)`; `await close()` commits every write already accepted, then
    closes the connections. After close every call raises Unavailable(SHUTTING_DOWN).
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._writer = _StoreThread(self._path, name="ecco-events-writer", group=True)
        self._reader = _StoreThread(self._path, name="ecco-events-reader", group=False)
        self._closed = True

    @classmethod
    async def open(cls, path: Path | str) -> SqliteEventStore:
        """Open the writer and reader connections; Unavailable(DATABASE_UNAVAILABLE) if the file is unusable."""
        store = cls(Path(path))
        await store._start()
        return store

    async def _start(self) -> None:
        # The writer first: it switches the file to WAL before the reader opens it.
        for thread in (self._writer, self._reader):
            thread.start()
            await asyncio.to_thread(thread.opened.wait)
            if thread.open_error is not None:
                await self._stop_threads()
                exc = thread.open_error
                if isinstance(exc, sqlite3.Error):
                    raise Unavailable(
                        f"cannot open the event database {self._path.name} ({type(exc).__name__}); see daemon.log",
                        Reason.DATABASE_UNAVAILABLE,
                    ) from exc
                raise exc
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _submit(self, thread: _StoreThread, job: Job) -> asyncio.Future[Any]:
        if self._closed:
            raise _shutting_down()
        pending = _Pending(job, asyncio.get_running_loop())
        thread.submit(pending)
        return pending.future

    async def append(self, events: Sequence[NewEvent], now_ms: int) -> list[EventRecord]:
        # Queued before the first await, so concurrent appends get their cursors in the order they were called.
        return await self._submit(self._writer, _append_job(events, now_ms))

    async def read_after(self, cursor: int, types: frozenset[str], limit: int) -> list[EventRecord]:
        return await self._submit(self._reader, _read_after_job(cursor, types, limit))

    async def head(self) -> int:
        return await self._submit(self._reader, _head_job)

    async def recent_inbound(self, since_ms: int, max_events: int) -> list[tuple[str, str]]:
        params = (max_events, since_ms, int(Direction.INBOUND))
        return await self._submit(self._reader, lambda conn: conn.execute(_RECENT_INBOUND, params).fetchall())

    async def get_consumer_cursor(self, consumer: str) -> ConsumerCursor:
        return await self._submit(self._reader, _get_consumer_job(consumer))

    async def commit_consumer_cursor(self, consumer: str, cursor: int, now_ms: int) -> ConsumerCursor:
        return await self._submit(self._writer, _consumer_job(consumer, cursor, now_ms))

    async def close(self) -> None:
        """Commit every write already accepted, then close both connections; idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._stop_threads()

    async def _stop_threads(self) -> None:
        for thread in (self._writer, self._reader):
            if thread.is_alive():
                thread.submit(None)  # after every job already queued
                await asyncio.to_thread(thread.join)
