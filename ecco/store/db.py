"""Opening the node's database and bringing its schema up to date."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ecco.errors import Reason, Unavailable
from ecco.store.events import SqlEventStore
from ecco.store.sqlite_events import SqliteEventStore

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers; synchronous=FULL so a committed event survives a crash or power loss."""
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """An async engine for any SQLAlchemy URL; SQLite files get WAL and full sync."""
    if url.startswith("sqlite"):
        # Every use commits or rolls back inside its own begin()/connect() block, so the pool's reset-on-return
        # rollback is one more round trip to the driver thread on every append, for nothing.
        engine = create_async_engine(url, pool_reset_on_return=None)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


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
