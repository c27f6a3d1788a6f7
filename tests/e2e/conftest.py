"""Fixtures of the end-to-end tests of the clients: a pair of running nodes (see programs.Pair)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.programs import Pair
from tests.integration.conftest import Ecco, up


@pytest.fixture(scope="module")
def nodes() -> Iterator[Pair]:
    """The pair of nodes, started once per test module (a daemon takes seconds to start on a busy machine)."""
    home = Path(tempfile.mkdtemp(prefix="ecco-e2e-", dir="/tmp"))
    ecco = Ecco(home)
    try:
        agent = up(ecco, "agent", "--api-listen", "127.0.0.1:0")
        client = up(ecco, "client", "--bootstrap", agent["addr"])
        yield Pair(ecco, agent, client)
    finally:
        ecco.kill_all()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def pair(nodes: Pair) -> Iterator[Pair]:
    """The module's pair of nodes; the programs a test starts are stopped when it ends."""
    try:
        yield nodes
    finally:
        while nodes.programs:
            nodes.programs.pop().stop()
