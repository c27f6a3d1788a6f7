"""Migrations on SQLite and PostgreSQL: from an empty database and from every earlier revision, the schema ends
up exactly as ecco.store.tables declares it, and rows written under an old revision survive the upgrade."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from ecco.store.db import _alembic_config, create_engine, migrate
from ecco.store.tables import metadata

# Every revision, oldest first; None is the empty database.
REVISIONS = [
    rev.revision for rev in reversed(list(ScriptDirectory.from_config(_alembic_config(None)).walk_revisions()))
]


def _columns(conn: Connection) -> dict[str, dict[str, str]]:
    """Every table's columns with their types as the database reports them (lengths included)."""
    inspector = inspect(conn)
    return {
        table: {c["name"]: str(c["type"].compile(dialect=conn.dialect)) for c in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def _declared(conn: Connection) -> dict[str, dict[str, str]]:
    return {
        name: {c.name: str(c.type.compile(dialect=conn.dialect)) for c in table.columns}
        for name, table in metadata.tables.items()
    }


def _upgrade_to(revision: str):
    def run(conn: Connection) -> None:
        command.upgrade(_alembic_config(conn), revision)

    return run


@pytest.mark.parametrize("start", [None, *REVISIONS[:-1]])
async def test_migrating_from_any_revision_reaches_the_declared_schema(db_url: str, start: str | None) -> None:
    engine = create_engine(db_url)
    try:
        if start is not None:
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade_to(start))
                # An event written under the old revision (every revision has the events table).
                await conn.execute(
                    text(
                        "INSERT INTO events (id, type, direction, payload, created_at_ms)"
                        " VALUES ('old', 'ping', 3, '{}', 1)"
                    )
                )
        result = await migrate(engine)
        assert result.before == start
        assert result.after == REVISIONS[-1]
        assert result.applied == REVISIONS[REVISIONS.index(start) + 1 :] if start else REVISIONS
        async with engine.connect() as conn:
            # Same tables, columns and types (a String(16) here and String(32) there would differ).
            assert await conn.run_sync(_columns) == await conn.run_sync(_declared)
            if start is not None:
                assert (await conn.execute(text("SELECT id FROM events"))).scalars().all() == ["old"]
        assert (await migrate(engine)).applied == []  # idempotent
    finally:
        await engine.dispose()
