"""Opening the node's database and bringing its schema up to date."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ecco.errors import AlreadyExists, EccoError, Reason, Unavailable
from ecco.store.events import SqlEventStore
from ecco.store.sqlite_events import SqliteEventStore

log = logging.getLogger("ecco.store")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers; synchronous=FULL so a committed event survives a crash or power loss."""
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def database_unavailable(exc: BaseException) -> Unavailable:
    """The error a caller sees when the database server cannot be reached; the cause goes to daemon.log only (its
    text may name hosts or users). Logged at info: a CLI process (`ecco db push`) has no log handler and must not
    print a traceback, while a daemon logs info by default."""
    log.info("database unavailable", exc_info=exc)
    error = Unavailable(
        f"the database is unavailable ({type(exc).__name__}); see daemon.log", Reason.DATABASE_UNAVAILABLE
    )
    error.__cause__ = exc
    return error


def _connect(dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> Any:
    """Open a server connection; a server that is down, restarting or refusing us is DATABASE_UNAVAILABLE.

    The connection is named after this process (`ecco pid N`), which is how the single-writer error tells the
    operator who holds a database."""
    if dialect.driver == "asyncpg":
        settings = cparams.setdefault("server_settings", {})
        settings.setdefault("application_name", f"ecco pid {os.getpid()}")
    try:
        return dialect.connect(*cargs, **cparams)
    except EccoError:
        raise
    except Exception as exc:  # OSError, asyncpg's CannotConnectNowError, InvalidCatalogNameError, timeouts...
        raise database_unavailable(exc) from exc


def _on_error(context: ExceptionContext) -> None:
    """A connection lost in the middle of a statement (server restart, network, pg_terminate_backend) becomes
    DATABASE_UNAVAILABLE; the pool drops the connection and the next call connects afresh. Pre-ping failures are
    left to the pool, which reconnects silently."""
    if context.is_disconnect and not context.is_pre_ping:
        raise database_unavailable(context.sqlalchemy_exception or context.original_exception)


def create_engine(url: str) -> AsyncEngine:
    """An async engine for any SQLAlchemy URL; SQLite files get WAL and full sync; a server database reports
    connection failures as DATABASE_UNAVAILABLE and recovers when the server is back (pre-ping)."""
    if url.startswith("sqlite"):
        # Every use commits or rolls back inside its own begin()/connect() block, so the pool's reset-on-return
        # rollback is one more round trip to the driver thread on every append, for nothing.
        engine = create_async_engine(url, pool_reset_on_return=None)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    engine = create_async_engine(url, pool_pre_ping=True)
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "handle_error", _on_error)
    return engine


@dataclass(frozen=True)
class MigrationResult:
    before: str | None
    after: str | None
    applied: list[str]


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> MigrationResult:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = _alembic_config(connection)
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(config, "head")
    after = MigrationContext.configure(connection).get_current_revision()
    script = ScriptDirectory.from_config(config)
    applied = [rev.revision for rev in script.iterate_revisions(after, before)][::-1] if after != before else []
    return MigrationResult(before, after, applied)


async def migrate(engine: AsyncEngine) -> MigrationResult:
    """Apply every pending migration; idempotent."""
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(_upgrade)
    except EccoError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise Unavailable(
            f"cannot open or migrate the database ({type(exc).__name__}); see daemon.log",
            Reason.DATABASE_UNAVAILABLE,
        ) from exc


def sqlite_file(engine: AsyncEngine) -> Path | None:
    """The database file of a SQLite engine that names a plain file; None for any other database (or in-memory
    and URI-style SQLite, which a second connection could not reach by path)."""
    url = engine.url
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    if url.query.get("uri") or url.query.get("mode"):
        return None
    return Path(database)


async def open_event_store(engine: AsyncEngine) -> SqlEventStore | SqliteEventStore:
    """The event store for a migrated database: on a SQLite file, SqliteEventStore (stdlib sqlite3, one writer
    thread, group commit); on anything else, SqlEventStore on the engine. Either way `await store.close()` when
    done (it leaves the engine to its owner)."""
    path = sqlite_file(engine)
    if path is None:
        return SqlEventStore(engine)
    return await SqliteEventStore.open(path)


# pg_try_advisory_lock key of a node's database: "ecco" in ASCII (below 2**32, so pg_locks shows it as objid).
WRITER_LOCK_KEY = 0x6563636F
LOCK_HEARTBEAT_S = 2.0


class WriterLock:
    """The single-writer rule on a database server: a PostgreSQL session advisory lock, held on a connection of its
    own for the daemon's life. On one machine the node's flock keeps a second daemon off its state directory; two
    machines (or two node names) pointed at one database would both write, so the database itself refuses the
    second. The server drops the lock when the holder's connection ends, so a killed daemon never leaves it behind.

    If the lock's connection is lost (server restart, connection cut), `watch` takes the lock again once the server
    answers; if another process took it meanwhile, this node must stop writing, and `watch` asks it to stop.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    @staticmethod
    def needed(engine: AsyncEngine) -> bool:
        return engine.dialect.name == "postgresql"

    async def acquire(self) -> None:
        """Take the lock; AlreadyExists(NODE_ALREADY_RUNNING) naming the holder when another process has it."""
        conn = await self._engine.connect()
        try:
            held = (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": WRITER_LOCK_KEY})).scalar()
            holder = None if held else await _lock_holder(conn)
            await conn.commit()  # the lock belongs to the session; no transaction stays open on this connection
        except BaseException:
            await conn.close()
            raise
        if not held:
            await conn.close()
            raise AlreadyExists(
                f"another ecco node ({holder or 'unknown process'}) is using this database; each node needs its own "
                "database (or stop the other node)",
                Reason.NODE_ALREADY_RUNNING,
            )
        self._conn = conn

    async def _alive(self) -> bool:
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except (EccoError, SQLAlchemyError, OSError):
            await self._drop()
            return False

    async def watch(self, on_lost: Callable[[], None]) -> None:
        """Run for the daemon's life: check the lock's connection every LOCK_HEARTBEAT_S and re-take the lock when
        it was lost; `on_lost()` when another process holds it now."""
        while True:
            await asyncio.sleep(LOCK_HEARTBEAT_S)
            if await self._alive():
                continue
            try:
                await self.acquire()
                log.warning("database connection was lost; the writer lock is held again")
            except AlreadyExists:
                log.error("another process took this node's database while its connection was lost; stopping")
                on_lost()
                return
            except (EccoError, SQLAlchemyError, OSError):
                log.warning("database still unavailable; the writer lock will be re-taken when it is back")

    async def _drop(self) -> None:
        """Invalidate the lock's connection: the pool must not hand out a session that holds (or held) the lock."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except (EccoError, SQLAlchemyError, OSError):
                log.debug("closing the lock connection failed", exc_info=True)

    async def release(self) -> None:
        """Give the lock back: ending the lock's session releases it."""
        await self._drop()


async def _lock_holder(conn: AsyncConnection) -> str | None:
    """The application name of the session holding the writer lock (`ecco pid N`), when the server tells us."""
    result = await conn.execute(
        text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"key": WRITER_LOCK_KEY},
    )
    return result.scalar() or None
