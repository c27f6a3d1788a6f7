"""Messaging between real daemons over libp2p on 127.0.0.1, driven through the `ecco` CLI: requests and replies
(built-in responders and a harness answering with `ecco send`), fire-and-forget messages, peers, bad input, frames
crafted by a malicious in-test peer, and a responder killed mid-request."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import signal
import socket
import time
from dataclasses import replace
from typing import Any

import pytest
from libp2p.utils.varint import encode_uvarint

from ecco.errors import EccoError, Reason
from ecco.services.envelope import MAX_FRAME_BYTES, encode_frame, new_message, now_ms, sign_message
from ecco.transport.keys import Ed25519Signer
from tests.integration.conftest import (
    Ecco,
    RawPeer,
    error_of,
    list_events,
    log_entries,
    up,
    wait_for_event,
    wait_for_exit,
)

pytestmark = pytest.mark.integration

# The README's exit-code table (ecco/cli/output.py), for the gRPC codes these tests meet.
LINE_WAIT_S = 15.0


def next_line(reader: Any, timeout: float = LINE_WAIT_S) -> str | None:
    return reader.lines.get(timeout=timeout)


def exchange(events: list[dict[str, Any]], request_id: str) -> list[tuple[str, str]]:
    """(type, direction) of the events about one request, in order."""
    return [(e["type"], e["direction"]) for e in events if e["requestId"] == request_id]


# ---------------------------------------------------------------------------------------------------------------------
# Requests answered by the built-in responders
# ---------------------------------------------------------------------------------------------------------------------


def test_echo_and_exec_responders_answer_requests(ecco: Ecco) -> None:
    gate = ecco.home / "gate"  # the exec responder's "gated" answer waits for a line on this FIFO
    os.mkfifo(gate)
    responder = (
        'exec:prompt=$(cat); case "$prompt" in '
        'fail) echo "it broke" >&2; exit 3;; '
        f'gated) printf "one\\n"; read -r _ < {gate}; printf "two\\n";; '
        '*) printf "one\\ntwo\\n";; esac'
    )
    alice = up(ecco, "alice", "--responder", "echo")
    bob = up(ecco, "bob", "--responder", responder, "--bootstrap", alice["addr"])
    assert bob["connectedPeers"] == 1  # bootstrap peers are dialled before `up` returns

    # echo, human output: the text and a newline
    human = ecco.ok("request", alice["peerId"], "--prompt", "hello alice", "--node", "bob")
    assert (human.stdout, human.stderr) == ("hello alice\n", "")

    # echo, --json, with a request id of our choosing
    reply = ecco.ok(
        "request", alice["peerId"], "--prompt", "hi again", "--request-id", "req-echo-1", "--node", "bob", "--json"
    ).json()
    assert reply["peerId"] == alice["peerId"] and reply["requestId"] == "req-echo-1"
    assert (reply["text"], reply["finishReason"], reply["chunks"]) == ("hi again", "stop", [])
    assert reply["latencyMs"] >= 0

    # both sides recorded the exchange, each from its own point of view
    at_alice = exchange(list_events(ecco, "alice"), "req-echo-1")
    assert at_alice == [("agent-request", "inbound"), ("agent-response", "outbound")]
    at_bob = exchange(list_events(ecco, "bob"), "req-echo-1")
    assert at_bob == [("agent-request", "outbound"), ("agent-response", "inbound")]
    request_in = next(e for e in list_events(ecco, "alice", "agent-request") if e["requestId"] == "req-echo-1")
    assert (request_in["messageId"], request_in["peerId"]) == ("req-echo-1", bob["peerId"])
    assert request_in["payload"] == {"prompt": "hi again"}

    # exec, --json: each stdout line is a chunk, the whole output is the text
    streamed = ecco.ok("request", bob["peerId"], "--prompt", "stream", "--node", "alice", "--json").json()
    assert (streamed["chunks"], streamed["text"]) == (["one\n", "two\n"], "one\ntwo\n")
    assert (streamed["finishReason"], streamed["peerId"]) == ("stop", bob["peerId"])
    at_alice = exchange(list_events(ecco, "alice"), streamed["requestId"])
    assert at_alice == [
        ("agent-request", "outbound"),
        ("stream-chunk", "inbound"),
        ("stream-chunk", "inbound"),
        ("stream-complete", "inbound"),
        ("agent-response", "inbound"),
    ]

    # exec, human output: chunks are printed as they arrive, before the command has finished
    fd = os.open(gate, os.O_RDWR | os.O_NONBLOCK)  # read-write: opening never blocks, the responder's read waits
    follower = ecco.follow("request", bob["peerId"], "--prompt", "gated", "--timeout", "20000", "--node", "alice")
    try:
        assert next_line(follower) == "one\n"
        assert follower.process.poll() is None  # "two" is not written yet: the responder waits on the gate
        os.write(fd, b"go\n")
        assert next_line(follower) == "two\n"
        assert follower.process.wait(timeout=LINE_WAIT_S) == 0
        assert next_line(follower) is None  # nothing after the chunks: the text ends with a newline
    finally:
        follower.stop()
        os.close(fd)

    # exec with a non-zero exit: an error reply, exit 1 with AGENT_FAILED
    failed = ecco("request", bob["peerId"], "--prompt", "fail", "--node", "alice")
    assert failed.code == 1 and failed.stdout == ""
    assert failed.stderr.startswith("error: the agent answered with an error: ")
    assert "exited with status 3: it broke" in failed.stderr and failed.stderr.rstrip().endswith("(AGENT_FAILED)")

    # peers on both sides: connected, with addresses
    (alice_seen,) = ecco.ok("peers", "--node", "bob", "--json").json()["peers"]
    assert alice_seen["peerId"] == alice["peerId"] and alice_seen["connected"] is True
    assert alice_seen["addresses"] == [alice["addr"]]  # the address bob dialled
    assert alice_seen["lastSeenTime"]
    (bob_seen,) = ecco.ok("peers", "--node", "alice", "--connected", "--json").json()["peers"]
    assert bob_seen["peerId"] == bob["peerId"] and bob_seen["connected"] is True
    assert bob_seen["addresses"] == [bob["addr"]]  # where bob listens (identify), not its inbound source port
    table = ecco.ok("peers", "--node", "bob").stdout.splitlines()
    assert table[0] == "1 peers (1 connected)"
    assert table[1].startswith(f"{alice['peerId']}  connected")
    assert f"    {alice['addr']}" in table

    for name in ("alice", "bob"):
        (connected,) = list_events(ecco, name, "peer-connected")
        assert connected["peerId"] == (bob if name == "alice" else alice)["peerId"]


def test_an_error_reply_with_json_output_is_one_error_document(ecco: Ecco) -> None:
    failing = up(ecco, "failing", "--responder", "exec:echo 'it broke' >&2; exit 3")
    up(ecco, "asker", "--bootstrap", failing["addr"])
    result = ecco("request", failing["peerId"], "--prompt", "fail", "--node", "asker", "--json")
    error = result.json()["error"]
    assert error["reason"] == "AGENT_FAILED"
    assert "the responder command exited with status 3: it broke" in error["message"]
    assert result.code == 1


# ---------------------------------------------------------------------------------------------------------------------
# A harness answers: no responder, requests seen through `ecco listen`, replies sent with `ecco send`
# ---------------------------------------------------------------------------------------------------------------------


def test_a_harness_answers_requests_with_ecco_send(ecco: Ecco, raw_peer: RawPeer) -> None:
    harness = up(ecco, "harness")
    client = up(ecco, "client", "--bootstrap", harness["addr"])

    def next_request() -> dict[str, Any]:
        listened = ecco.ok(
            "listen", "--node", "harness", "--filter", "agent-request", "--wait", "15000", "--json"
        ).json()
        (event,) = listened["events"]
        assert (event["type"], event["direction"], event["peerId"]) == ("agent-request", "inbound", client["peerId"])
        assert event["requestId"] == event["messageId"]
        return event

    def answer(type: str, payload: dict[str, Any], *extra: str) -> dict[str, Any]:
        args = extra or ("--payload", json.dumps(payload))
        sent = ecco.ok("send", client["peerId"], "--type", type, *args, "--node", "harness", "--json").json()
        assert (sent["type"], sent["from"], sent["to"]) == (type, harness["peerId"], client["peerId"])
        return sent

    # 1. human output: the chunk is printed while the request is still pending, then the reply ends it
    follower = ecco.follow(
        "request", harness["peerId"], "--prompt", "write a haiku", "--timeout", "30000", "--node", "client"
    )
    try:
        first = next_request()
        assert first["payload"] == {"prompt": "write a haiku"}
        request_id = first["requestId"]
        answer("stream-chunk", {"requestId": request_id, "chunk": "an old silent pond\n", "partial": True})
        assert next_line(follower) == "an old silent pond\n"
        assert follower.process.poll() is None
        answer(
            "agent-response",
            {"requestId": request_id, "response": {"text": "an old silent pond\n", "finishReason": "stop"}},
        )
        assert follower.process.wait(timeout=LINE_WAIT_S) == 0
        assert next_line(follower) is None
    finally:
        follower.stop()

    # 2. --json; a reply from a peer that was not asked is recorded but answers nothing; the real reply comes from a
    #    --payload-file, with a stream-complete before it
    follower = ecco.follow(
        "request", harness["peerId"], "--prompt", "second", "--timeout", "30000", "--node", "client", "--json"
    )
    try:
        second = next_request()
        request_id = second["requestId"]
        raw_peer.connect(client["addr"])
        raw_peer.send(
            raw_peer.message(
                client["peerId"], "agent-response", {"requestId": request_id, "response": {"text": "spoofed"}}
            )
        )
        spoofed = wait_for_event(
            ecco, "client", lambda e: e["peerId"] == raw_peer.peer_id and e["requestId"] == request_id
        )
        assert (spoofed["type"], spoofed["direction"]) == ("agent-response", "inbound")
        answer("stream-chunk", {"requestId": request_id, "chunk": "partial ", "partial": True})
        answer("stream-complete", {"requestId": request_id, "text": "partial ", "complete": True})
        reply_file = ecco.home / "reply.json"
        final = {"requestId": request_id, "response": {"text": "partial answer ✓", "finishReason": "stop"}}
        reply_file.write_text(json.dumps(final, ensure_ascii=False), encoding="utf-8")
        sent = answer("agent-response", final, "--payload-file", str(reply_file))
        document = follower.next_json()
        assert follower.process.wait(timeout=LINE_WAIT_S) == 0
    finally:
        follower.stop()
    assert document["requestId"] == request_id and document["peerId"] == harness["peerId"]
    assert (document["text"], document["finishReason"]) == ("partial answer ✓", "stop")
    assert document["chunks"] == ["partial "]

    # the events on each side carry the direction and the request id
    at_harness = [
        (e["type"], e["direction"], e["peerId"]) for e in list_events(ecco, "harness") if e["requestId"] == request_id
    ]
    assert at_harness == [
        ("agent-request", "inbound", client["peerId"]),
        ("stream-chunk", "outbound", client["peerId"]),
        ("stream-complete", "outbound", client["peerId"]),
        ("agent-response", "outbound", client["peerId"]),
    ]
    at_client = [
        (e["type"], e["direction"], e["peerId"]) for e in list_events(ecco, "client") if e["requestId"] == request_id
    ]
    assert at_client == [
        ("agent-request", "outbound", harness["peerId"]),
        ("agent-response", "inbound", raw_peer.peer_id),
        ("stream-chunk", "inbound", harness["peerId"]),
        ("stream-complete", "inbound", harness["peerId"]),
        ("agent-response", "inbound", harness["peerId"]),
    ]
    reply_in = next(e for e in list_events(ecco, "client", "agent-response") if e["messageId"] == sent["messageId"])
    assert reply_in["payload"] == final  # the file's UTF-8 text arrives intact


def test_msg_is_fire_and_forget_retries_are_dropped_and_unanswered_requests_time_out(ecco: Ecco) -> None:
    harness = up(ecco, "harness")
    client = up(ecco, "client", "--bootstrap", harness["addr"])

    sent = ecco.ok("msg", harness["peerId"], "are you there?", "--node", "client", "--json").json()
    assert (sent["type"], sent["from"], sent["to"]) == ("agent-request", client["peerId"], harness["peerId"])
    received = wait_for_event(ecco, "harness", lambda e: e["messageId"] == sent["messageId"], "agent-request")
    assert (received["direction"], received["peerId"], received["requestId"]) == (
        "inbound",
        client["peerId"],
        sent["messageId"],
    )
    assert received["payload"] == {"prompt": "are you there?"}
    (outbound,) = [e for e in list_events(ecco, "client", "agent-request") if e["messageId"] == sent["messageId"]]
    assert (outbound["direction"], outbound["peerId"]) == ("outbound", harness["peerId"])

    human = ecco.ok("msg", harness["peerId"], "hello", "--node", "client")
    assert human.stdout.startswith("sent agent-request ") and human.stdout.rstrip().endswith(f"to {harness['peerId']}")

    # a retried message (same --request-id, hence the same message id) reaches the harness once
    for _ in range(2):
        ecco.ok("msg", harness["peerId"], "only once", "--request-id", "retry-1", "--node", "client")
    barrier = ecco.ok("msg", harness["peerId"], "after the retry", "--node", "client", "--json").json()
    wait_for_event(ecco, "harness", lambda e: e["messageId"] == barrier["messageId"], "agent-request")
    copies = [e for e in list_events(ecco, "harness", "agent-request") if e["messageId"] == "retry-1"]
    assert len(copies) == 1
    (dropped,) = [e for e in log_entries(ecco, "harness") if e.get("reason") == "MESSAGE_DUPLICATE"]
    assert (dropped["msg"], dropped["peer"], dropped["level"]) == (
        "rejected inbound message",
        client["peerId"],
        "warning",
    )
    assert not list_events(ecco, "harness", "message-rejected")  # duplicates are only logged

    # nobody answers: DEADLINE_EXCEEDED after --timeout, recorded as a failed request
    started = time.monotonic()
    timed_out = ecco(
        "request", harness["peerId"], "--prompt", "anyone?", "--timeout", "1000", "--node", "client", "--json"
    )
    elapsed = time.monotonic() - started
    error = error_of(timed_out)
    assert (timed_out.code, error["code"], error["reason"]) == (7, "DEADLINE_EXCEEDED", "REQUEST_TIMEOUT")
    assert 1.0 <= elapsed < 8.0
    failures = list_events(ecco, "client", "request-failed")
    assert [(f["payload"], f["peerId"]) for f in failures] == [({"reason": "REQUEST_TIMEOUT"}, harness["peerId"])]
    assert failures[0]["requestId"]
    human = ecco("request", harness["peerId"], "--prompt", "anyone?", "--timeout", "500", "--node", "client")
    assert human.code == 7 and human.stderr.rstrip().endswith("(REQUEST_TIMEOUT)") and human.stdout == ""


# ---------------------------------------------------------------------------------------------------------------------
# Bad input on the command line
# ---------------------------------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_bad_command_line_input_gets_a_clear_error(ecco: Ecco) -> None:
    bogus = ecco("up", "--name", "ghost", "--responder", "bogus", "--json")
    error = error_of(bogus)
    assert (error["reason"], error["field"]) == ("INVALID_ARGUMENT", "--responder") and "bogus" in error["message"]
    assert not ecco.node_dir("ghost").exists()  # refused before any daemon started
    empty = ecco("up", "--name", "ghost", "--responder", "exec:  ", "--json")
    assert error_of(empty)["field"] == "--responder" and not ecco.node_dir("ghost").exists()

    solo = up(ecco, "solo")
    stranger = Ed25519Signer(os.urandom(32)).peer_id  # well-formed, but no node has it
    own_id = solo["peerId"]
    cases: list[tuple[tuple[str, ...], set[str], str]] = [
        (("connect", "/ip4/127.0.0.1/tcp/4001"), {"INVALID_MULTIADDR"}, "/p2p/<peer id>"),
        (("connect", "not-a-multiaddr"), {"INVALID_MULTIADDR"}, "not-a-multiaddr"),
        (("connect", "/ip4/300.1.2.3/tcp/1/p2p/" + stranger), {"INVALID_MULTIADDR"}, "300.1.2.3"),
        (("connect", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWnotapeer"), {"INVALID_MULTIADDR"}, "12D3KooWnotapeer"),
        (("connect", solo["addr"]), {"INVALID_MULTIADDR"}, "itself"),
        (("connect", f"/ip4/127.0.0.1/tcp/{_closed_port()}/p2p/{stranger}"), {"PEER_UNREACHABLE"}, stranger),
        (("msg", "not-a-peer", "hi"), {"INVALID_PEER_ID"}, "not-a-peer"),
        (("request", "not-a-peer", "--prompt", "hi"), {"INVALID_PEER_ID"}, "not-a-peer"),
        (("msg", stranger[:-1] + "0", "hi"), {"INVALID_PEER_ID"}, stranger[:-1] + "0"),  # '0' is not base58
        (("msg", own_id, "hi"), {"INVALID_PEER_ID"}, "itself"),
        (("msg", stranger, "hi"), {"PEER_NOT_FOUND", "PEER_UNREACHABLE"}, stranger),
        (
            ("request", stranger, "--prompt", "hi", "--timeout", "5000"),
            {"PEER_NOT_FOUND", "PEER_UNREACHABLE"},
            stranger,
        ),
        (("send", stranger, "--type", "ping", "--payload", "{}"), {"PEER_NOT_FOUND", "PEER_UNREACHABLE"}, stranger),
        (("send", stranger, "--type", "ping", "--payload", "{bad"), {"INVALID_PAYLOAD"}, "invalid JSON"),
        (("send", stranger, "--type", "ping", "--payload", "NaN"), {"INVALID_PAYLOAD"}, "not valid JSON"),
        (
            ("send", stranger, "--type", "ping", "--payload-file", str(ecco.home / "none.json")),
            {"INVALID_PAYLOAD"},
            "none.json",
        ),
        (("send", stranger, "--type", "telepathy", "--payload", "{}"), {"INVALID_MESSAGE_TYPE"}, "telepathy"),
        (("send", stranger, "--type", "ping"), {"INVALID_ARGUMENT"}, "--payload"),
    ]
    for args, reasons, mentioned in cases:
        result = ecco(*args, "--node", "solo", "--json")
        error = error_of(result)
        assert error["reason"] in reasons, (args, error)
        assert mentioned in error["message"], (args, error)
        human = ecco(*args, "--node", "solo")
        assert (human.code, human.stdout) == (result.code, ""), args
        assert human.stderr.startswith("error: ") and human.stderr.rstrip().endswith(f"({error['reason']})"), args

    usage = ecco("request", stranger, "--prompt", "hi", "--timeout", "0", "--node", "solo")
    assert usage.code == 2 and "--timeout" in usage.stderr

    # nothing of this reached the network or upset the node
    assert [e["type"] for e in list_events(ecco, "solo")] == ["node-started"]
    assert ecco.ok("node", "status", "--node", "solo", "--json").json()["pid"] == solo["pid"]


def test_a_malformed_bootstrap_address_is_refused_before_any_daemon_starts(ecco: Ecco) -> None:
    result = ecco("up", "--name", "lost", "--bootstrap", "/ip4/127.0.0.1/tcp/4001", "--json")
    error = error_of(result)
    assert (result.code, error["reason"]) == (2, "INVALID_MULTIADDR")
    assert not (ecco.node_dir("lost") / "daemon.pid").exists()


# ---------------------------------------------------------------------------------------------------------------------
# Frames crafted by a malicious peer
# ---------------------------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_crafted_frames_are_rejected_with_a_reason_and_the_node_keeps_serving(ecco: Ecco, raw_peer: RawPeer) -> None:
    alice = up(ecco, "alice", "--responder", "echo")
    up(ecco, "bob", "--bootstrap", alice["addr"])
    assert raw_peer.connect(alice["addr"]) == alice["peerId"]
    target, me = alice["peerId"], raw_peer.peer_id
    other = Ed25519Signer(os.urandom(32))  # a key that is not the raw peer's

    def prompt(text: str, **kwargs: Any) -> Any:
        return raw_peer.message(target, "agent-request", {"prompt": text}, **kwargs)

    def is_reply_to(request_id: str) -> Any:
        return lambda m: m.type == "agent-response" and m.payload.get("requestId") == request_id

    # a correct request first: the crafted frames below differ from it in one thing each
    first = prompt("first")
    raw_peer.send(first)
    assert raw_peer.next_message(is_reply_to(first.id)).payload["response"]["text"] == "first"

    signed = prompt("tampered")
    tampered = replace(signed, payload={"prompt": "tampered!"})
    original = prompt("bit flip")
    signature = bytearray(base64.b64decode(original.signature))
    signature[0] ^= 1
    flipped = replace(original, signature=_b64(bytes(signature)))
    impostor = other.sign(new_message(me, target, "agent-request", {"prompt": "impostor"}).signing_input())
    signed_by_other = replace(
        new_message(me, target, "agent-request", {"prompt": "impostor"}),
        signature=_b64(impostor),
        public_key=_b64(other.public_key),
    )
    relayed = sign_message(new_message(other.peer_id, target, "agent-request", {"prompt": "relayed"}), other)
    unsigned = new_message(me, target, "agent-request", {"prompt": "unsigned"})
    stale = prompt("stale", timestamp_ms=now_ms() - 120_000)
    future = prompt("future", timestamp_ms=now_ms() + 60_000)
    not_utf8 = b'{"id":"x","from":"' + me.encode() + b'","to":"y","data":[255,254],"timestamp":1}'

    crafted: list[tuple[bytes, str, str]] = [
        (encode_frame(tampered), "SIGNATURE_INVALID", "the signature does not verify"),
        (encode_frame(flipped), "SIGNATURE_INVALID", "the signature does not verify"),
        (encode_frame(signed_by_other), "SIGNATURE_INVALID", "the signing key does not belong to the sender"),
        (encode_frame(relayed), "SIGNATURE_INVALID", "the sender is not the peer that delivered the message"),
        (encode_frame(unsigned), "SIGNATURE_INVALID", "the message is unsigned"),
        (encode_frame(stale), "MESSAGE_STALE", "ms old"),
        (encode_frame(future), "MESSAGE_STALE", "in the future"),
        (b"{this is not json", "INVALID_PAYLOAD", "the frame is not JSON"),
        (b"[1, 2, 3]", "INVALID_PAYLOAD", "not a TransportMessage"),
        (not_utf8, "INVALID_PAYLOAD", "not UTF-8 JSON"),
    ]
    for frame, _, _ in crafted:
        raw_peer.send_frame(target, frame)

    replayed = prompt("replayed")
    raw_peer.send(replayed)
    raw_peer.send(replayed)  # the same frame again: dropped as a duplicate
    unknown = raw_peer.message(target, "telepathy", {"prompt": "read my mind"})
    raw_peer.send(unknown)  # recorded as unknown-message, not answered

    # oversize: our own transport refuses to send it; written raw on a 1.0.0 stream, the node refuses it unread
    oversize = encode_frame(prompt("huge"))
    oversize += b" " * (MAX_FRAME_BYTES + 1 - len(oversize))  # still valid JSON, one byte over the limit
    with pytest.raises(EccoError) as refused:
        raw_peer.send_frame(target, oversize)
    assert refused.value.reason == Reason.MESSAGE_TOO_LARGE
    # written raw, the node refuses it after the length prefix and ends the stream at once (a hang fails the call);
    # the same for a prefix that claims 1 TiB and is followed by two bytes
    ended = raw_peer.send_raw_v10(target, encode_uvarint(len(oversize)) + oversize)
    assert ended in ("StreamReset", "eof")
    ended = raw_peer.send_raw_v10(target, encode_uvarint(2**40) + b"{}")
    assert ended in ("StreamReset", "eof")

    # frames on one stream are handled in order: once this one is answered, every frame above has been handled
    last = prompt("still there?")
    raw_peer.send(last)
    assert raw_peer.next_message(is_reply_to(last.id)).payload["response"]["text"] == "still there?"

    rejected = list_events(ecco, "alice", "message-rejected")
    assert [(e["payload"]["reason"], e["direction"], e["peerId"]) for e in rejected] == [
        (reason, "inbound", me) for _, reason, _ in crafted
    ]
    for event, (_, _, detail) in zip(rejected, crafted, strict=True):
        assert detail in event["payload"]["detail"], event

    requests_in = [e["messageId"] for e in list_events(ecco, "alice", "agent-request") if e["peerId"] == me]
    assert requests_in == [first.id, replayed.id, last.id]  # nothing crafted got through; the replay counted once
    (mystery,) = list_events(ecco, "alice", "unknown-message")
    assert (mystery["direction"], mystery["peerId"], mystery["messageId"]) == ("inbound", me, unknown.id)
    assert mystery["payload"] == {"type": "telepathy", "payload": {"prompt": "read my mind"}}
    answered = [e["requestId"] for e in list_events(ecco, "alice", "agent-response") if e["peerId"] == me]
    assert answered == [first.id, replayed.id, last.id]  # the replay was answered once
    outbound = [e for e in list_events(ecco, "alice") if e["direction"] == "outbound" and e["peerId"] == me]
    assert {e["type"] for e in outbound} == {"version-handshake", "agent-response"}
    assert not [e for e in outbound if unknown.id in (e["messageId"], e["requestId"])]  # not acted on

    # every rejection is in the log with its reason, the transport-level ones too; nothing crashed
    log = log_entries(ecco, "alice")
    logged = [e["reason"] for e in log if e["msg"] == "rejected inbound message" and e.get("peer") == me]
    assert logged == [reason for _, reason, _ in crafted] + ["MESSAGE_DUPLICATE"]
    too_large = [e["msg"] for e in log if e["msg"].startswith("refused a ")]
    assert too_large == [
        f"refused a {len(oversize)}-byte frame from {me} (limit {MAX_FRAME_BYTES})",
        f"refused a {2**40}-byte frame from {me} (limit {MAX_FRAME_BYTES})",
    ]
    assert not [e for e in log if e["level"] in ("error", "critical") or "exc" in e]

    status = ecco.ok("node", "status", "--node", "alice", "--json").json()
    assert status["pid"] == alice["pid"] and status["connectedPeers"] == 2
    reply = ecco.ok("request", alice["peerId"], "--prompt", "all good?", "--node", "bob", "--json").json()
    assert reply["text"] == "all good?"


# ---------------------------------------------------------------------------------------------------------------------
# A responder killed mid-request, then restarted
# ---------------------------------------------------------------------------------------------------------------------


def test_a_peer_killed_mid_request_fails_it_promptly_and_is_reachable_after_restart(ecco: Ecco) -> None:
    started_fifo = ecco.home / "started"  # the responder command writes its pid here when it starts
    os.mkfifo(started_fifo)
    fd = os.open(started_fifo, os.O_RDWR | os.O_NONBLOCK)
    sleepers: list[int] = []
    try:
        slow = up(ecco, "slow", "--responder", f"exec:echo $$ > {started_fifo}; exec sleep 30")
        client = up(ecco, "client", "--bootstrap", slow["addr"])

        follower = ecco.follow(
            "request", slow["peerId"], "--prompt", "take your time", "--timeout", "20000", "--node", "client", "--json"
        )
        try:
            ready, _, _ = select.select([fd], [], [], LINE_WAIT_S)
            assert ready, "the responder command did not start"
            sleepers.append(int(os.read(fd, 64).split()[0]))
            killed_at = time.monotonic()
            os.kill(slow["pid"], signal.SIGKILL)
            wait_for_exit(slow["pid"])
            code = follower.process.wait(timeout=LINE_WAIT_S)
            elapsed = time.monotonic() - killed_at
            error = follower.next_json()["error"]
        finally:
            follower.stop()
        assert elapsed < 10.0, f"the request took {elapsed:.1f}s to fail"
        assert (code, error["code"], error["reason"]) in {
            (6, "UNAVAILABLE", "PEER_UNREACHABLE"),
            (7, "DEADLINE_EXCEEDED", "REQUEST_TIMEOUT"),
        }
        wait_for_event(ecco, "client", lambda e: e["peerId"] == slow["peerId"], "peer-disconnected")
        (failure,) = list_events(ecco, "client", "request-failed")
        assert (failure["peerId"], failure["payload"]) == (slow["peerId"], {"reason": error["reason"]})

        # the same node comes back (same name, same key, so the same peer id) on a new port
        again = up(ecco, "slow", "--responder", "echo")
        assert again["peerId"] == slow["peerId"] and again["pid"] != slow["pid"]
        connected = ecco.ok("connect", again["addr"], "--node", "client", "--json").json()
        assert connected == {"peerId": slow["peerId"], "alreadyConnected": False}
        reply = ecco.ok("request", slow["peerId"], "--prompt", "welcome back", "--node", "client", "--json").json()
        assert (reply["text"], reply["peerId"]) == ("welcome back", slow["peerId"])
        assert ecco.ok("node", "status", "--node", "client", "--json").json()["pid"] == client["pid"]
    finally:
        for pid in sleepers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.close(fd)
