"""Attacks on the wire by a peer that speaks both /ecco/direct versions: unfinished giant frames on many streams
must not grow the node's memory without bound, and the node keeps serving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from integration_helpers import Ecco, RawPeer, up, wait_for_event

from ecco.limits import MAX_FRAME_BYTES

STREAMS = 40
RSS_GROWTH_BOUND = 160 * 2**20  # README "Limits and security": what the 40-stream attack may add to the daemon
RSS_LEFTOVER_BOUND = 80 * 2**20  # ... and what may remain once the peer has left


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def hold_unfinished_frames(peer: RawPeer, to: str, protocol: str, streams: int) -> list[str]:
    """Open `streams` streams, on each write all of a MAX_FRAME_BYTES - 1 frame but its last byte, and keep them
    open. Returns how each write ended: "held" (all written, the stream still open) or the error's name."""
    import trio
    from libp2p.custom_types import TProtocol
    from libp2p.peer.id import ID
    from libp2p.utils.varint import encode_uvarint

    host = peer.transport._runtime.host
    length = MAX_FRAME_BYTES - 1
    partial = encode_uvarint(length) + b" " * (length - 1)
    outcomes: list[str] = []

    async def one() -> None:
        try:
            stream = await host.new_stream(ID.from_base58(to), [TProtocol(protocol)])
            await stream.write(partial)
            outcomes.append("held")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    async def attack() -> list[str]:
        with trio.fail_after(120):
            async with trio.open_nursery() as nursery:
                for _ in range(streams):
                    nursery.start_soon(one)
        return outcomes

    return peer._run(peer.transport._thread.call(attack, timeout=150), 160)


def test_unfinished_giant_frames_on_many_streams_keep_memory_bounded(
    ecco: Ecco, raw_peer: RawPeer, tmp_path: Path
) -> None:
    from ecco.services.transport_port import DIRECT_PROTOCOL_V10, DIRECT_PROTOCOL_V11

    alice = up(ecco, "alice", "--responder", "echo")
    pid = ecco.pid("alice")
    raw_peer.connect(alice["addr"])
    wait_for_event(ecco, "alice", lambda e: e["peerId"] == raw_peer.peer_id, "peer-connected")
    baseline = rss_bytes(pid)

    outcomes: dict[str, Any] = {}
    for protocol in (DIRECT_PROTOCOL_V10, DIRECT_PROTOCOL_V11):
        outcomes[protocol] = hold_unfinished_frames(raw_peer, alice["peerId"], protocol, STREAMS // 2)
    under_attack = rss_bytes(pid)
    assert under_attack - baseline < RSS_GROWTH_BOUND, (baseline, under_attack, outcomes)
    assert any(o != "held" for found in outcomes.values() for o in found), outcomes  # streams beyond were reset

    raw_peer._run(raw_peer.transport.disconnect(alice["peerId"]))  # the peer leaves
    wait_for_event(ecco, "alice", lambda e: e["peerId"] == raw_peer.peer_id, "peer-disconnected")
    # the node still serves: a well-behaved peer gets its answer
    other = RawPeer(tmp_path / "other.key")
    try:
        other.connect(alice["addr"])
        request = other.message(alice["peerId"], "agent-request", {"prompt": "still there?"})
        other.send(request)
        reply = other.next_message(lambda m: m.type == "agent-response")
        assert reply.payload["response"]["text"] == "still there?"
    finally:
        other.close()
    after = rss_bytes(pid)
    assert after - baseline < RSS_LEFTOVER_BOUND, (baseline, under_attack, after)
