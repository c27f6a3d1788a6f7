"""Fixtures shared by every test directory: the PostgreSQL server and the `db_url` each store test runs on.

A store test that takes `db_url` runs twice: on a SQLite file and on a fresh PostgreSQL database (tests/postgres.py
explains where the server comes from). A missing PostgreSQL is a failure, never a skip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ecco.store.db import sqlite_url
from tests import postgres

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg() -> Iterator[postgres.PgServer]:
    """The session's PostgreSQL server (started on first use, stopped at the end of the session)."""
    try:
        yield postgres.server()
    finally:
        postgres.shutdown()


@pytest.fixture
def pg_url(pg: postgres.PgServer) -> Iterator[str]:
    """A fresh PostgreSQL database for this test; dropped afterwards."""
    url = pg.new_database()
    try:
        yield url
    finally:
        pg.drop_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of this test's backend: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return sqlite_url(tmp_path / "ecco.db")
    return request.getfixturevalue("pg_url")
