"""`ecco up`, `node status`, `node stop` against real daemon processes."""

from __future__ import annotations

import json
import os
import signal
import stat

import pytest

from tests.integration.conftest import Ecco, wait_for_exit

pytestmark = pytest.mark.integration


def test_up_returns_a_healthy_node_and_stop_ends_it(ecco: Ecco) -> None:
    up = ecco.ok("up", "--name", "alice", "--capability", "code-review", "--json").json()
    assert up["name"] == "alice"
    assert up["peerId"].startswith("12D3KooW")
    assert up["capabilities"] == [{"type": "agent", "name": "code-review", "version": "1.0.0", "metadata": {}}]
    os.kill(up["pid"], 0)  # the daemon process exists

    status = ecco.ok("node", "status", "--json").json()
    assert status["peerId"] == up["peerId"] and status["pid"] == up["pid"]

    node_dir = ecco.node_dir("alice")
    assert stat.S_IMODE(node_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((node_dir / "api.sock").stat().st_mode) == 0o600
    assert stat.S_IMODE((node_dir / "identity.key").stat().st_mode) == 0o600

    log_lines = [json.loads(line) for line in (node_dir / "daemon.log").read_text().splitlines()]
    started = [entry for entry in log_lines if entry["msg"] == "node started"]
    assert started and started[0]["peer_id"] == up["peerId"] and started[0]["level"] == "info"

    stopped = ecco.ok("node", "stop", "--json").json()
    assert stopped == {"name": "alice", "pid": up["pid"], "stopped": True}
    wait_for_exit(up["pid"])
    assert not (node_dir / "api.sock").exists() and not (node_dir / "daemon.pid").exists()

    after = ecco("node", "status", "--node", "alice", "--json")
    assert after.code == 3
    assert after.json()["error"]["reason"] == "NODE_NOT_FOUND"


def test_peer_id_is_stable_across_restarts(ecco: Ecco) -> None:
    first = ecco.ok("up", "--name", "alice", "--json").json()
    ecco.ok("node", "stop")
    second = ecco.ok("node", "start", "--name", "alice", "--json").json()
    assert second["peerId"] == first["peerId"]
    assert second["pid"] != first["pid"]


def test_encrypted_identity_needs_the_password(ecco: Ecco) -> None:
    secret = {"ECCO_KEY_PASSWORD": "correct horse"}
    first = ecco.ok("up", "--name", "alice", "--json", env=secret).json()
    ecco.ok("node", "stop")
    assert "encrypted" in (ecco.node_dir("alice") / "identity.key").read_text()

    wrong = ecco("up", "--name", "alice", "--json", env={"ECCO_KEY_PASSWORD": "wrong"})
    assert wrong.code == 4
    assert wrong.json()["error"]["reason"] == "IDENTITY_INVALID"
    assert not ecco.node_dir("alice").joinpath("daemon.pid").exists()

    again = ecco.ok("up", "--name", "alice", "--json", env=secret).json()
    assert again["peerId"] == first["peerId"]


def test_second_up_with_the_same_name_starts_no_daemon(ecco: Ecco) -> None:
    first = ecco.ok("up", "--name", "alice", "--json").json()
    second = ecco("up", "--name", "alice", "--json")
    assert second.code == 4
    error = second.json()["error"]
    assert error["reason"] == "NODE_ALREADY_RUNNING"
    assert str(first["pid"]) in error["message"]
    assert ecco.pid("alice") == first["pid"]
    assert ecco.ok("node", "status", "--json").json()["pid"] == first["pid"]


def test_sigterm_shuts_down_gracefully(ecco: Ecco) -> None:
    up = ecco.ok("up", "--name", "alice", "--json").json()
    os.kill(up["pid"], signal.SIGTERM)
    wait_for_exit(up["pid"])
    assert not ecco.node_dir("alice").joinpath("daemon.pid").exists()
    ecco.ok("up", "--name", "alice")
    types = [e["type"] for e in _all_events(ecco)]
    assert types == ["node-started", "node-stopped", "node-started"]


def test_stale_pid_file_after_sigkill_is_detected_and_cleaned(ecco: Ecco) -> None:
    up = ecco.ok("up", "--name", "alice", "--json").json()
    os.kill(up["pid"], signal.SIGKILL)
    wait_for_exit(up["pid"])
    assert ecco.node_dir("alice").joinpath("daemon.pid").exists()  # left behind by the crash

    status = ecco("node", "status", "--json")
    assert status.code == 3 and status.json()["error"]["reason"] == "NODE_NOT_RUNNING"

    restarted = ecco.ok("up", "--name", "alice", "--json").json()
    assert restarted["pid"] != up["pid"]
    assert ecco.pid("alice") == restarted["pid"]
    types = [e["type"] for e in _all_events(ecco)]
    assert types == ["node-started", "node-recovered", "node-started"]


def test_unknown_node_name_lists_the_running_ones(ecco: Ecco) -> None:
    ecco.ok("up", "--name", "alice")
    ecco.ok("up", "--name", "bob")
    missing = ecco("node", "status", "--node", "carol")
    assert missing.code == 3
    assert "running nodes: alice, bob" in missing.stderr
    assert missing.stderr.startswith("error: ") and "(NODE_NOT_FOUND)" in missing.stderr

    ambiguous = ecco("node", "status", "--json")
    assert ambiguous.code == 4 and ambiguous.json()["error"]["reason"] == "NODE_AMBIGUOUS"
    assert ecco.ok("node", "status", "--json", env={"ECCO_NODE": "bob"}).json()["name"] == "bob"


def _all_events(ecco: Ecco) -> list[dict]:
    return ecco.ok("listen", "--consumer", "test-all", "--wait", "2000", "--json").json()["events"]
