"""A node holds against hostile peers and careless operators: big events never wedge a reader, the API port is
exclusive, a retried request stays a duplicate across a restart, stop is prompt, daemon.log stays JSON lines."""

from __future__ import annotations

import json
import time

from conftest import Ecco, RawPeer, error_of, list_events, log_entries, up, wait_for_event, wait_for_exit

from ecco.client import NodeClient
from ecco.v1 import node_service_pb2

STOP_BOUND_S = 10.0  # README: `ecco node stop` returns within 10 s, busy responders included
BIG_PROMPT_BYTES = 2_500_000  # two of these exceed gRPC's default 4 MiB in one reply; one frame stays under 10 MiB


def test_two_big_events_from_a_peer_can_be_replayed_and_consumed(ecco: Ecco, raw_peer: RawPeer) -> None:
    alice = up(ecco, "alice")
    raw_peer.connect(alice["addr"])
    sent = [raw_peer.message(alice["peerId"], "agent-request", {"prompt": c * BIG_PROMPT_BYTES}) for c in "ab"]
    for message in sent:
        raw_peer.send(message)
    wait_for_event(ecco, "alice", lambda event: event["messageId"] == sent[1].id, "agent-request")

    # replay from the start with `ecco stream --cursor`
    follower = ecco.follow("stream", "--cursor", "0", "--filter", "agent-request", "--json", "--node", "alice")
    try:
        replayed = [follower.next_json()["messageId"] for _ in sent]
    finally:
        stderr = follower.stop()
    assert replayed == [m.id for m in sent], stderr

    # a `listen` consumer crosses both, each call continuing where the previous stopped
    consumed: list[str] = []
    for _ in range(4):  # bounded: two calls suffice
        batch = ecco.ok("listen", "--filter", "agent-request", "--wait", "10000", "--json", "--node", "alice").json()
        consumed += [event["messageId"] for event in batch["events"]]
        if len(consumed) >= len(sent):
            break
    assert consumed == [m.id for m in sent]


def test_an_api_port_in_use_is_refused_at_start(ecco: Ecco) -> None:
    first = up(ecco, "first", "--api-listen", "127.0.0.1:0")
    address = first["apiTcpAddress"]
    refused = ecco("up", "--name", "second", "--api-listen", address, "--json")
    error = error_of(refused)
    assert address in error["message"] and "in use" in error["message"]
    assert not (ecco.node_dir("second") / "daemon.pid").exists()
    # every call on the port reaches the first node, with its token
    token = (ecco.node_dir("first") / "api.token").read_text().strip()
    with NodeClient(address, token=token) as client:
        for _ in range(6):
            status = client.call(client.stub("NodeService").GetStatus, node_service_pb2.GetStatusRequest())
            assert status.peer_id == first["peerId"]


def test_a_retried_request_id_is_still_dropped_after_the_receiver_restarts(ecco: Ecco) -> None:
    client = up(ecco, "client")
    harness_id = up(ecco, "harness", "--bootstrap", client["addr"])["peerId"]
    ecco.ok("msg", harness_id, "only once", "--request-id", "retry-restart", "--node", "client")
    wait_for_event(ecco, "harness", lambda e: e["messageId"] == "retry-restart", "agent-request")

    ecco.ok("node", "stop", "--node", "harness")
    up(ecco, "harness", "--bootstrap", client["addr"])  # dials the client, so the retry has a connection to use
    ecco.ok("msg", harness_id, "only once", "--request-id", "retry-restart", "--node", "client")
    barrier = ecco.ok("msg", harness_id, "after the retry", "--node", "client", "--json").json()
    wait_for_event(ecco, "harness", lambda e: e["messageId"] == barrier["messageId"], "agent-request")
    copies = [e for e in list_events(ecco, "harness", "agent-request") if e["messageId"] == "retry-restart"]
    assert len(copies) == 1
    assert [e["peer"] for e in log_entries(ecco, "harness") if e.get("reason") == "MESSAGE_DUPLICATE"] == [
        client["peerId"]
    ]


def test_node_stop_ends_a_busy_responder_group_and_fails_its_request_promptly(ecco: Ecco) -> None:
    # the shell and a background child, both in the responder's process group: the first chunk names them
    provider = up(ecco, "provider", "--responder", "exec:sleep 45 & echo $$ $!; wait")
    up(ecco, "client", "--bootstrap", provider["addr"])
    requester = ecco.follow("request", provider["peerId"], "--prompt", "hi", "--timeout", "60000", "--node", "client")
    try:
        pids = [int(pid) for pid in requester.lines.get(timeout=20).split()]
        assert len(pids) == 2
        started = time.monotonic()
        ecco.ok("node", "stop", "--node", "provider")
        assert time.monotonic() - started < STOP_BOUND_S
        for pid in pids:
            wait_for_exit(pid, timeout=1)
        assert requester.process.wait(timeout=10) != 0
    finally:
        stderr = requester.stop()
    assert "shutting down" in stderr


def test_every_daemon_log_line_is_json_also_after_meeting_a_peer_that_is_not_ecco(
    ecco: Ecco, raw_peer: RawPeer
) -> None:
    from ecco.services.transport_port import DIRECT_PROTOCOL_V10, DIRECT_PROTOCOL_V11

    host = raw_peer.transport._runtime.host  # a bare libp2p peer: it speaks neither /ecco/direct version

    async def forget_ecco() -> None:
        for protocol in (DIRECT_PROTOCOL_V10, DIRECT_PROTOCOL_V11):
            host.remove_stream_handler(protocol)

    raw_peer._run(raw_peer.transport._thread.call(forget_ecco, timeout=10))
    alice = up(ecco, "alice")
    raw_peer.connect(alice["addr"])
    failed = ecco("msg", raw_peer.peer_id, "hello?", "--node", "alice")  # libp2p logs a multi-line error
    assert failed.code != 0
    ecco.ok("node", "stop", "--node", "alice")

    lines = (ecco.node_dir("alice") / "daemon.log").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]  # every line, none skipped
    assert all(isinstance(entry, dict) and {"ts", "level", "logger", "msg"} <= entry.keys() for entry in entries)
    assert any(e["logger"].startswith("libp2p") and "\n" in e["msg"] for e in entries), entries
    assert entries[-1]["msg"] == "node stopped"


def test_big_unknown_messages_grow_the_database_by_a_bounded_amount(ecco: Ecco, raw_peer: RawPeer) -> None:
    alice = up(ecco, "alice")
    raw_peer.connect(alice["addr"])
    database = ecco.node_dir("alice") / "ecco.db"

    def stored_bytes() -> int:  # the database with its write-ahead log
        return sum(path.stat().st_size for path in database.parent.glob("ecco.db*"))

    before = stored_bytes()
    body = {"blob": "a" * 3_000_000}  # 3 MB, a 9 MB frame
    sent = [raw_peer.message(alice["peerId"], "telepathy", {**body, "n": n}) for n in range(20)]
    for message in sent:
        raw_peer.send(message)
    last = raw_peer.message(alice["peerId"], "telepathy", {"small": True})
    raw_peer.send(last)  # frames on one stream are handled in order
    wait_for_event(ecco, "alice", lambda e: e["messageId"] == last.id, "unknown-message")

    kept = [e for e in list_events(ecco, "alice", "unknown-message") if e["messageId"] != last.id]
    assert 1 <= len(kept) < len(sent)  # the byte budget (20 MiB, then 2 MiB/s) let only the first ones in
    for event in kept:
        assert event["payload"]["type"] == "telepathy" and event["payload"]["payloadBytes"] > 3_000_000
        assert len(event["payload"]["payloadSha256"]) == 64 and "blob" not in json.dumps(event["payload"])
    assert stored_bytes() - before < 1_000_000  # 60 MB sent
    limited = [e for e in log_entries(ecco, "alice") if e.get("reason") == "RATE_LIMITED"]
    assert limited and all("byte rate" in e["detail"] for e in limited)
