"""The event log through `ecco stream` / `ecco listen` and raw gRPC, across restarts and crashes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from typing import Any

import grpc
import pytest

from ecco.v1 import event_service_pb2, event_service_pb2_grpc, node_service_pb2, node_service_pb2_grpc
from tests.integration.conftest import Ecco, wait_for_exit

pytestmark = pytest.mark.integration


def test_stream_replays_then_follows_and_resumes_after_a_crash(ecco: Ecco, node_db: Any) -> None:
    """On the node's SQLite file and on a PostgreSQL database: kill -9, restart, nothing recorded is lost."""
    first = ecco.ok("up", "--name", "alice", *node_db("alice"), "--json").json()
    follower = ecco.follow("stream", "--cursor", "0", "--json")
    try:
        started = follower.next_json()
        assert (started["cursor"], started["type"]) == (1, "node-started")
        assert started["payload"]["peerId"] == first["peerId"]
        os.kill(first["pid"], signal.SIGKILL)
        wait_for_exit(first["pid"])
        assert follower.process.wait(timeout=20) == 6  # the stream ends with UNAVAILABLE, not silently
    finally:
        follower.stop()

    ecco.ok("up", "--name", "alice", *node_db("alice"))
    resumed = ecco.follow("stream", "--cursor", str(started["cursor"]), "--json")
    try:
        seen = [resumed.next_json(), resumed.next_json()]
    finally:
        resumed.stop()
    assert [(e["cursor"], e["type"]) for e in seen] == [(2, "node-recovered"), (3, "node-started")]


def test_stream_filter_and_a_clean_stop_ends_followers_with_shutting_down(ecco: Ecco) -> None:
    ecco.ok("up", "--name", "alice")
    follower = ecco.follow("stream", "--cursor", "0", "--filter", "node-stopped,node-started", "--json")
    try:
        assert follower.next_json()["type"] == "node-started"
        ecco.ok("node", "stop")
        assert follower.process.wait(timeout=20) == 6
        assert follower.next_json()["error"]["reason"] == "SHUTTING_DOWN"
    finally:
        follower.stop()


def test_listen_hands_each_event_to_a_consumer_once(ecco: Ecco) -> None:
    ecco.ok("up", "--name", "alice")
    first = ecco.ok("listen", "--json", "--wait", "5000").json()
    assert [e["type"] for e in first["events"]] == ["node-started"] and first["cursor"] == 1
    empty = ecco.ok("listen", "--json", "--wait", "200").json()
    assert empty == {"events": [], "cursor": None}
    other = ecco.ok("listen", "--json", "--wait", "5000", "--consumer", "other", "--once").json()
    assert [e["cursor"] for e in other["events"]] == [1]  # consumers are independent

    ecco.ok("node", "stop")
    ecco.ok("up", "--name", "alice")
    after_restart = ecco.ok("listen", "--json", "--wait", "5000").json()
    assert [e["type"] for e in after_restart["events"]] == ["node-stopped", "node-started"]


def test_listen_stream_prints_and_acknowledges_as_it_goes(ecco: Ecco) -> None:
    ecco.ok("up", "--name", "alice")
    listener = ecco.follow("listen", "--stream", "--json", "--consumer", "harness")
    try:
        assert listener.next_json()["type"] == "node-started"
        ecco.ok("node", "stop")
        assert listener.process.wait(timeout=20) == 6
    finally:
        listener.stop()
    ecco.ok("up", "--name", "alice")
    pending = ecco.ok("listen", "--json", "--wait", "5000", "--consumer", "harness").json()
    assert [e["type"] for e in pending["events"]] == ["node-stopped", "node-started"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--cursor", "-1"), "INVALID_CURSOR"),
        (("--filter", "agent-request,agent-reqest"), "UNKNOWN_EVENT_TYPE"),
    ],
)
def test_bad_stream_arguments_are_invalid(ecco: Ecco, args: tuple[str, ...], reason: str) -> None:
    ecco.ok("up", "--name", "alice")
    result = ecco("stream", *args, "--json")
    assert result.code == 2
    assert result.json()["error"]["reason"] == reason


def test_tcp_listener_requires_the_token_and_serves_reflection(ecco: Ecco) -> None:
    up = ecco.ok("up", "--name", "alice", "--api-listen", "127.0.0.1:0", "--json").json()
    address = up["apiTcpAddress"]
    assert address.startswith("127.0.0.1:") and not address.endswith(":0")
    node_dir = ecco.node_dir("alice")
    assert (node_dir / "api.tcp").read_text().strip() == address
    token_file = node_dir / "api.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()

    with grpc.insecure_channel(address) as channel:
        stub = node_service_pb2_grpc.NodeServiceStub(channel)
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetStatus(node_service_pb2.GetStatusRequest(), timeout=10)
        assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as wrong:
            stub.GetStatus(node_service_pb2.GetStatusRequest(), timeout=10, metadata=[("authorization", "Bearer x")])
        assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
        good = [("authorization", f"Bearer {token}")]
        assert stub.GetStatus(node_service_pb2.GetStatusRequest(), timeout=10, metadata=good).peer_id == up["peerId"]
        events = event_service_pb2_grpc.EventServiceStub(channel)
        page = events.ListEvents(event_service_pb2.ListEventsRequest(), timeout=10, metadata=good)
        assert [e.type for e in page.events] == ["node-started"]


def test_reflection_lists_every_service_on_a_real_daemon(ecco: Ecco) -> None:
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    ecco.ok("up", "--name", "alice")
    with grpc.insecure_channel(f"unix:{ecco.node_dir('alice') / 'api.sock'}") as channel:
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    expected = {
        f"ecco.v1.{name}"
        for name in (
            "NodeService",
            "EventService",
            "MessagingService",
            "DiscoveryService",
            "ConsensusService",
            "PaymentService",
            "RegistryService",
            "BridgeService",
        )
    }
    assert expected | {"grpc.health.v1.Health"} <= services


def test_listen_wait_0_returns_what_is_waiting_now(ecco: Ecco) -> None:
    ecco.ok("up", "--name", "alice")
    waiting = ecco.ok("listen", "--json", "--wait", "0").json()
    assert [e["type"] for e in waiting["events"]] == ["node-started"] and waiting["cursor"] == 1
    assert ecco.ok("listen", "--json", "--wait", "0").json() == {"events": [], "cursor": None}


def test_a_failed_write_acknowledges_nothing(ecco: Ecco) -> None:
    ecco.ok("up", "--name", "alice")
    for target in ("/dev/full", "closed"):
        if target == "/dev/full":
            with open("/dev/full", "w") as full:
                done = subprocess.run(
                    [sys.executable, "-m", "ecco", "listen", "--json", "--wait", "0"],
                    stdout=full,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=ecco.env,
                    timeout=60,
                )
        else:
            read, write = os.pipe()
            os.close(read)  # the reader is gone before anything is written
            with os.fdopen(write, "w") as closed:
                done = subprocess.run(
                    [sys.executable, "-m", "ecco", "listen", "--wait", "0"],
                    stdout=closed,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=ecco.env,
                    timeout=60,
                )
        assert done.returncode == 6, done.stderr
        assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
        assert done.stderr.startswith("error: cannot write to stdout") and "(OUTPUT_FAILED)" in done.stderr
    again = ecco.ok("listen", "--json", "--wait", "0").json()
    assert [e["type"] for e in again["events"]] == ["node-started"]  # still there: nothing was committed


def test_a_new_consumer_starts_where_from_says(ecco: Ecco) -> None:
    ecco.ok("up", "--name", "alice")
    ecco.ok("node", "stop")
    ecco.ok("up", "--name", "alice")  # the log now holds node-started, node-stopped, node-started
    assert [e["cursor"] for e in ecco.ok("listen", "--json", "--wait", "0").json()["events"]] == [1, 2, 3]
    fresh = ecco.ok("listen", "--json", "--wait", "0", "--consumer", "late", "--from", "now").json()
    assert fresh["events"] == []
    ecco.ok("node", "stop")
    ecco.ok("up", "--name", "alice")
    # `now` was pinned by the first call: the events since are waiting, the earlier ones are not
    later = ecco.ok("listen", "--json", "--wait", "0", "--consumer", "late", "--from", "now").json()
    assert [e["type"] for e in later["events"]] == ["node-stopped", "node-started"]
    picked = ecco.ok("listen", "--json", "--wait", "0", "--consumer", "mid", "--from", "2").json()
    assert [e["cursor"] for e in picked["events"]] == [3, 4, 5]
