"""Real daemons on a real PostgreSQL server (`--db-url postgresql+asyncpg://...`): two nodes on one server, each on
its own database; the single-writer rule across nodes; the server restarting under a running node.

The paid request and the crash between broadcast and receipt (test_payments.py) and kill -9 with a restart
(test_events.py) run on PostgreSQL too, through the `node_db` fixture."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Ecco, error_of, up
from tests.postgres import PgServer

pytestmark = pytest.mark.integration


def test_two_nodes_on_one_server_each_on_its_own_database(ecco: Ecco, pg: PgServer) -> None:
    alice_db, bob_db = pg.new_database("alice"), pg.new_database("bob")
    try:
        alice = up(ecco, "alice", "--db-url", alice_db, "--capability", "capital", "--responder", "exec:echo Paris")
        bob = up(ecco, "bob", "--db-url", bob_db, "--bootstrap", alice["addr"])

        reply = ecco.ok("request", alice["peerId"], "--prompt", "hi", "--request-id", "r-1", "--node", "bob", "--json")
        assert reply.json()["text"] == "Paris\n"
        discover = ("peer", "discover", "--phases", "local", "--phase-timeout", "30000", "--min-peers", "1")
        ecco.ok(*discover, "--name", "capital", "--node", "bob", "--json")
        doc = ecco.ok("consensus", "request", "Capital of France?", "--name", "capital", "--node", "bob", "--json")
        assert (doc.json()["text"], doc.json()["achieved"]) == ("Paris\n", True)

        # Each node's log is in its own database.
        alice_types = {t for (t,) in pg.fetch(alice_db, "SELECT type FROM events")}
        bob_types = {t for (t,) in pg.fetch(bob_db, "SELECT type FROM events")}
        assert {"node-started", "agent-request"} <= alice_types and "consensus-completed" not in alice_types
        assert {"node-started", "agent-response", "consensus-completed"} <= bob_types
        assert "agent-request" not in {t for (t,) in pg.fetch(bob_db, "SELECT type FROM events WHERE direction = 1")}

        # A third node pointed at alice's database is refused, naming the process that holds it.
        third = ecco("up", "--name", "carol", "--db-url", alice_db, "--json")
        error = error_of(third)
        assert error["reason"] == "NODE_ALREADY_RUNNING"
        assert f"ecco pid {alice['pid']}" in error["message"] and alice_db not in error["message"]
        assert not ecco.node_dir("carol").joinpath("daemon.pid").exists()
        ecco.ok("node", "stop", "--node", "alice")
        ecco.ok("up", "--name", "carol", "--db-url", alice_db)  # free once alice stopped
        assert bob["pid"] == ecco.pid("bob")
    finally:
        ecco.kill_all()
        pg.drop_database(alice_db)
        pg.drop_database(bob_db)


def test_a_server_restart_under_a_running_node_is_a_clear_error_then_recovers(ecco: Ecco, pg: PgServer) -> None:
    if not pg.owned:
        pytest.skip("restarts the server: only on the cluster the suite starts itself, not on ECCO_TEST_PG_URL")
    url = pg.new_database("alice")
    try:
        alice = up(ecco, "alice", "--db-url", url)
        first = ecco.ok("listen", "--json", "--wait", "5000").json()
        assert [e["type"] for e in first["events"]] == ["node-started"]
        pg.crash()
        try:
            down = ecco("listen", "--json", "--wait", "1000")
            error = error_of(down)
            assert (error["code"], error["reason"]) == ("UNAVAILABLE", "DATABASE_UNAVAILABLE")
            assert "see daemon.log" in error["message"]
        finally:
            pg.start()
        # Same daemon, same database: what was acknowledged is there, and it writes again (a consumer cursor,
        # then node-stopped on a clean stop).
        assert ecco.pid("alice") == alice["pid"]
        other = ecco.ok("listen", "--json", "--wait", "5000", "--consumer", "other").json()
        assert [e["type"] for e in other["events"]] == ["node-started"]
        cursors = dict(pg.fetch(url, "SELECT consumer, cursor FROM consumer_cursors"))
        assert cursors == {"listen": first["cursor"], "other": first["cursor"]}
        ecco.ok("node", "stop", "--node", "alice")
        assert [t for (t,) in pg.fetch(url, "SELECT type FROM events ORDER BY cursor")] == [
            "node-started",
            "node-stopped",
        ]
    finally:
        ecco.kill_all()
        pg.drop_database(url)


def test_a_node_on_an_unreachable_server_does_not_start_and_says_why(ecco: Ecco) -> None:
    url = "postgresql+asyncpg://ecco:s3cret@127.0.0.1:1/ecco_alice"  # port 1: nothing listens there
    for command in (("up", "--name", "alice"), ("db", "push", "--name", "alice")):
        result = ecco(*command, "--db-url", url, "--json")
        error = error_of(result)
        assert (error["code"], error["reason"]) == ("UNAVAILABLE", "DATABASE_UNAVAILABLE")
        assert "s3cret" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert not ecco.node_dir("alice").joinpath("daemon.pid").exists()
