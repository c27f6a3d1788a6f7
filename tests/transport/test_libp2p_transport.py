"""Real py-libp2p transports talking over 127.0.0.1, each with its own trio thread, in this test process."""

from __future__ import annotations

import asyncio
import time

import pytest
import trio
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from multiaddr import Multiaddr

from ecco.errors import DeadlineExceeded, EccoError, InvalidArgument, NotFound, Reason, Unavailable
from ecco.services.envelope import MAX_FRAME_BYTES, InboundGuard, encode_frame, new_message, sign_message
from ecco.services.transport_port import DIRECT_PROTOCOL_V10, DIRECT_PROTOCOL_V11, Transport
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier
from ecco.transport.libp2p import Libp2pTransport
from tests.transport.conftest import WAIT, ConnectionEvents, Factory, Inbox, new_identity

pytestmark = pytest.mark.timeout(30)


def tcp_addr(transport: Libp2pTransport) -> str:
    return next(a for a in transport.listen_addrs() if "/ws" not in a)


async def peer_info(transport: Libp2pTransport, peer_id: str):
    return next(p for p in await transport.peers() if p.peer_id == peer_id)


async def test_listen_addrs_are_full_multiaddrs(make_transport: Factory) -> None:
    a = await make_transport(listen=("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"))
    assert isinstance(a, Transport)
    addrs = a.listen_addrs()
    assert len(addrs) == 2 and any("/ws/" in x for x in addrs)
    for addr in addrs:
        assert addr.startswith("/ip4/127.0.0.1/tcp/") and addr.endswith(f"/p2p/{a.peer_id}")


async def test_wildcard_listen_addresses_are_expanded(make_transport: Factory) -> None:
    a = await make_transport(listen=("/ip4/0.0.0.0/tcp/0",))
    addrs = a.listen_addrs()
    assert addrs[0].startswith("/ip4/127.0.0.1/tcp/")
    assert not any("0.0.0.0" in x for x in addrs)


async def test_frames_flow_both_ways_over_one_long_lived_1_1_0_stream(make_transport: Factory) -> None:
    a, b = await make_transport(), await make_transport()
    inbox_a, inbox_b, events_a, events_b = Inbox(), Inbox(), ConnectionEvents(), ConnectionEvents()
    a.set_handler(inbox_a)
    b.set_handler(inbox_b)
    a.set_connection_handler(events_a)
    b.set_connection_handler(events_b)

    assert await a.connect(tcp_addr(b)) == b.peer_id
    await events_a.wait_for(b.peer_id, True)
    await events_b.wait_for(a.peer_id, True)

    frames = [f"frame {i}".encode() for i in range(20)]
    for frame in frames:
        await a.send(b.peer_id, frame)
    assert [await inbox_b.get() for _ in frames] == [(a.peer_id, f) for f in frames]

    await b.send(a.peer_id, b"reply")
    assert await inbox_a.get() == (b.peer_id, b"reply")

    assert b.inbound_stream_counts == {DIRECT_PROTOCOL_V11: 1}  # 20 frames, one stream
    assert a.inbound_stream_counts == {DIRECT_PROTOCOL_V11: 1}
    assert (await peer_info(a, b.peer_id)).direct_protocol == DIRECT_PROTOCOL_V11
    assert (await peer_info(b, a.peer_id)).direct_protocol == DIRECT_PROTOCOL_V11


async def test_falls_back_to_1_0_0_when_the_peer_only_offers_it(make_transport: Factory) -> None:
    modern, legacy = await make_transport(), await make_transport(offer_v11=False)
    inbox_modern, inbox_legacy = Inbox(), Inbox()
    modern.set_handler(inbox_modern)
    legacy.set_handler(inbox_legacy)
    await modern.connect(tcp_addr(legacy))

    for i in range(3):
        await modern.send(legacy.peer_id, b"to legacy %d" % i)
    assert [await inbox_legacy.get() for _ in range(3)] == [(modern.peer_id, b"to legacy %d" % i) for i in range(3)]
    assert legacy.inbound_stream_counts == {DIRECT_PROTOCOL_V10: 3}  # one stream per frame, like upstream
    assert (await peer_info(modern, legacy.peer_id)).direct_protocol == DIRECT_PROTOCOL_V10

    await legacy.send(modern.peer_id, b"to modern")
    assert await inbox_modern.get() == (legacy.peer_id, b"to modern")
    assert modern.inbound_stream_counts == {DIRECT_PROTOCOL_V10: 1}


async def test_an_upstream_style_1_0_0_stream_with_one_frame_is_delivered(make_transport: Factory) -> None:
    """A raw libp2p host does exactly what upstream does: new stream, varint-prefixed frame, close."""
    a = await make_transport()
    inbox = Inbox()
    a.set_handler(inbox)
    frame = b'{"id":"x","from":"y","to":"z","data":[123,125],"timestamp":1}'

    def upstream_send() -> str:
        async def main() -> str:
            from libp2p.custom_types import TProtocol
            from libp2p.utils.varint import encode_varint_prefixed

            host = new_host(key_pair=create_new_key_pair(), listen_addrs=[Multiaddr("/ip4/127.0.0.1/tcp/0")])
            async with host.run([Multiaddr("/ip4/127.0.0.1/tcp/0")]):
                with trio.fail_after(WAIT):
                    await host.connect(info_from_p2p_addr(Multiaddr(tcp_addr(a))))
                    stream = await host.new_stream(ID.from_base58(a.peer_id), [TProtocol(DIRECT_PROTOCOL_V10)])
                    await stream.write(encode_varint_prefixed(frame))
                    await stream.close()
                    return host.get_id().to_base58()

        return trio.run(main)

    sender = await asyncio.to_thread(upstream_send)
    assert await inbox.get() == (sender, frame)


async def test_websocket_addresses_can_be_dialled_from_a_tcp_only_host(make_transport: Factory) -> None:
    a = await make_transport()  # listens on TCP only
    b = await make_transport(listen=("/ip4/127.0.0.1/tcp/0/ws",))
    inbox = Inbox()
    b.set_handler(inbox)
    (ws,) = b.listen_addrs()
    assert "/ws/" in ws
    await a.connect(ws)
    await a.send(b.peer_id, b"over websocket")
    assert await inbox.get() == (a.peer_id, b"over websocket")


def _plaintext_dial(target: str) -> tuple[str, str]:
    """Dial `target` with a host that offers only /plaintext/2.0.0 (libp2p-notes §5.2); as a control, the same dialer
    against a host with libp2p's default security set (which includes plaintext). Returns both outcomes."""

    def plaintext_host():
        pair = create_new_key_pair()
        return new_host(
            key_pair=pair,
            sec_opt={PLAINTEXT_PROTOCOL_ID: InsecureTransport(pair)},
            listen_addrs=[Multiaddr("/ip4/127.0.0.1/tcp/0")],
        )

    async def attempt(host, addr: str) -> str:
        try:
            with trio.fail_after(WAIT):
                await host.connect(info_from_p2p_addr(Multiaddr(addr)))
        except Exception as exc:
            return type(exc).__name__
        return "connected"

    async def main() -> tuple[str, str]:
        dialer = plaintext_host()
        default = new_host(key_pair=create_new_key_pair(), listen_addrs=[Multiaddr("/ip4/127.0.0.1/tcp/0")])
        listen = [Multiaddr("/ip4/127.0.0.1/tcp/0")]
        async with dialer.run(listen), default.run(listen):
            control = await attempt(dialer, str(default.get_addrs()[0]))
            refused = await attempt(dialer, target)
            return control, refused

    return trio.run(main)


async def test_a_plaintext_only_dialer_is_refused(make_transport: Factory) -> None:
    a = await make_transport()
    inbox, events = Inbox(), ConnectionEvents()
    a.set_handler(inbox)
    a.set_connection_handler(events)
    control, outcome = await asyncio.to_thread(_plaintext_dial, tcp_addr(a))
    assert control == "connected"  # the dialer works against libp2p's default (unsafe) security set
    assert outcome != "connected"  # ...and is refused by ours
    assert await a.peers() == []
    assert events.queue.empty()


async def test_oversize_frames_are_refused_on_read(make_transport: Factory) -> None:
    receiver = await make_transport()
    sender = await make_transport(max_frame_bytes=2 * MAX_FRAME_BYTES)  # a peer that ignores the limit
    inbox = Inbox()
    receiver.set_handler(inbox)
    await sender.connect(tcp_addr(receiver))

    await sender.send(receiver.peer_id, b"small")
    assert await inbox.get() == (sender.peer_id, b"small")

    with pytest.raises(EccoError):  # the receiver resets the stream after reading the length prefix
        await sender.send(receiver.peer_id, b"x" * (MAX_FRAME_BYTES + 1))

    exactly = b"y" * MAX_FRAME_BYTES  # the limit itself is accepted
    await sender.send(receiver.peer_id, exactly, timeout=WAIT)
    peer, frame = await inbox.get()
    assert (peer, len(frame), frame == exactly) == (sender.peer_id, MAX_FRAME_BYTES, True)

    await sender.send(receiver.peer_id, b"after")
    assert await inbox.get() == (sender.peer_id, b"after")
    assert inbox.empty()


async def test_our_sender_refuses_oversize_frames_locally(make_transport: Factory) -> None:
    a = await make_transport()
    with pytest.raises(InvalidArgument) as info:
        # the varint prefix counts too: upstream limits the whole stream to 10 MiB
        await a.send(new_identity().peer_id, b"z" * MAX_FRAME_BYTES)
    assert info.value.reason == Reason.MESSAGE_TOO_LARGE


async def test_a_restarted_peer_on_a_new_port_is_reachable_after_connect(make_transport: Factory) -> None:
    a = await make_transport()
    identity = new_identity()
    b = await make_transport(identity)
    events = ConnectionEvents()
    a.set_connection_handler(events)
    old_addr = tcp_addr(b)
    await a.connect(old_addr)
    await a.send(b.peer_id, b"before")

    await b.stop()
    assert b.listen_addrs() == []
    await events.wait_for(b.peer_id, False)
    started = time.monotonic()
    with pytest.raises(Unavailable) as info:  # the old address is dead; this also puts b in the dial-failure cache
        await a.send(b.peer_id, b"while down", timeout=WAIT)
    assert info.value.reason == Reason.PEER_UNREACHABLE
    assert time.monotonic() - started < WAIT

    b2 = await make_transport(identity)  # same peer id, new port
    assert tcp_addr(b2) != old_addr
    inbox = Inbox()
    b2.set_handler(inbox)
    assert await a.connect(tcp_addr(b2)) == identity.peer_id
    await a.send(identity.peer_id, b"after restart")
    assert await inbox.get() == (a.peer_id, b"after restart")


async def test_reconnecting_right_after_a_restart_on_the_same_port(make_transport: Factory) -> None:
    """No waiting for the disconnect to be noticed: connect() must not trust the old, dead connection."""
    a = await make_transport()
    identity = new_identity()
    b = await make_transport(identity)
    addr = tcp_addr(b)
    await a.connect(addr)
    await a.send(b.peer_id, b"before")
    await b.stop()
    b2 = await make_transport(identity, listen=(addr.split("/p2p/")[0],))
    inbox = Inbox()
    b2.set_handler(inbox)
    assert await a.connect(addr) == identity.peer_id
    await a.send(identity.peer_id, b"after restart")
    assert await inbox.get() == (a.peer_id, b"after restart")


async def test_sending_to_an_unknown_peer_fails_at_once(make_transport: Factory) -> None:
    a = await make_transport()
    started = time.monotonic()
    with pytest.raises(NotFound) as info:
        await a.send(new_identity().peer_id, b"hello?")
    assert info.value.reason == Reason.PEER_NOT_FOUND
    assert time.monotonic() - started < 1.0


async def test_connecting_to_a_closed_port_fails_promptly(make_transport: Factory) -> None:
    a = await make_transport()
    b = await make_transport()
    dead = tcp_addr(b)
    await b.stop()
    started = time.monotonic()
    with pytest.raises(Unavailable) as info:
        await a.connect(dead, timeout=WAIT)
    assert info.value.reason == Reason.PEER_UNREACHABLE
    assert time.monotonic() - started < WAIT


async def test_a_silent_peer_hits_the_deadline_instead_of_hanging(make_transport: Factory) -> None:
    """A TCP listener that accepts and never speaks: the Noise handshake would wait forever."""
    a = await make_transport()
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            await a.connect(f"/ip4/127.0.0.1/tcp/{port}/p2p/{new_identity().peer_id}", timeout=0.5)
        assert info.value.reason == Reason.REQUEST_TIMEOUT
        assert time.monotonic() - started < 0.5 + 1.0
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_invalid_input_and_lifecycle_errors(make_transport: Factory) -> None:
    a = await make_transport()
    for bad in ("not a multiaddr", "/ip4/127.0.0.1/tcp/1", f"/ip4/127.0.0.1/tcp/1/p2p/{a.peer_id}"):
        with pytest.raises(InvalidArgument) as info:
            await a.connect(bad)
        assert info.value.reason == Reason.INVALID_MULTIADDR
    for bad in ("", "nope", "12D3KooW", a.peer_id):
        with pytest.raises(InvalidArgument) as info:
            await a.send(bad, b"x")
        assert info.value.reason == Reason.INVALID_PEER_ID
    with pytest.raises(InvalidArgument):
        Libp2pTransport(new_identity(), ["/ip4/999.0.0.1/tcp/0"])

    idle = Libp2pTransport(new_identity(), ["/ip4/127.0.0.1/tcp/0"])
    with pytest.raises(Unavailable) as info:
        await idle.send(a.peer_id, b"x")
    assert info.value.reason == Reason.NODE_NOT_RUNNING
    await a.stop()
    await a.stop()  # idempotent
    with pytest.raises(Unavailable) as info:
        await a.send(new_identity().peer_id, b"x")
    assert info.value.reason == Reason.SHUTTING_DOWN


async def test_start_fails_when_a_listen_address_is_taken(make_transport: Factory) -> None:
    a = await make_transport()
    taken = tcp_addr(a).split("/p2p/")[0]
    b = Libp2pTransport(new_identity(), [taken])
    with pytest.raises(Unavailable) as info:  # libp2p itself only logs the failure and runs without the address
        await b.start()
    assert info.value.reason == Reason.NODE_START_FAILED
    await b.stop()


async def test_ping_and_connected_peers(make_transport: Factory) -> None:
    a, b = await make_transport(), await make_transport()
    await a.connect(tcp_addr(b))
    rtt = await a.ping(b.peer_id)
    assert 0 < rtt < 1000
    (info,) = await a.peers()
    assert info.peer_id == b.peer_id
    assert info.latency_ms is not None
    assert info.addrs and all(x.startswith("/ip4/127.0.0.1/tcp/") for x in info.addrs)
    await a.disconnect(b.peer_id)
    assert await a.peers() == []


async def test_bootstrap_peers_are_dialled_on_start(make_transport: Factory) -> None:
    a = await make_transport()
    events = ConnectionEvents()
    a.set_connection_handler(events)
    c = await make_transport(bootstrap=[tcp_addr(a)])
    await events.wait_for(c.peer_id, True)


async def test_a_failing_handler_does_not_break_the_stream(make_transport: Factory) -> None:
    a, b = await make_transport(), await make_transport()
    inbox = Inbox()

    async def picky(peer_id: str, frame: bytes) -> None:
        if frame == b"bad":
            raise ValueError("handler bug")
        await inbox(peer_id, frame)

    b.set_handler(picky)
    await a.connect(tcp_addr(b))
    await a.send(b.peer_id, b"bad")
    await a.send(b.peer_id, b"good")
    assert await inbox.get() == (a.peer_id, b"good")
    assert b.inbound_stream_counts == {DIRECT_PROTOCOL_V11: 1}


async def test_signed_envelopes_end_to_end(make_transport: Factory) -> None:
    """The pieces together: A signs and sends; B checks every frame with the InboundGuard; C replays A's frame."""
    id_a, id_c = new_identity(), new_identity()
    a, b, c = await make_transport(id_a), await make_transport(), await make_transport(id_c)
    guard = InboundGuard(Ed25519Verifier())
    accepted: asyncio.Queue[str] = asyncio.Queue()
    rejected: asyncio.Queue[str] = asyncio.Queue()

    async def handle(peer_id: str, frame: bytes) -> None:
        try:
            envelope = guard.check(peer_id, frame)
        except EccoError as exc:
            await rejected.put(f"{peer_id}:{exc.reason}")
            raise
        await accepted.put(envelope.message.payload["prompt"])

    b.set_handler(handle)
    await a.connect(tcp_addr(b))
    await c.connect(tcp_addr(b))
    signed = sign_message(
        new_message(a.peer_id, b.peer_id, "agent-request", {"prompt": "hi \U0001f600"}),
        Ed25519Signer.from_identity(id_a),
    )
    frame = encode_frame(signed)
    await a.send(b.peer_id, frame)
    assert await asyncio.wait_for(accepted.get(), WAIT) == "hi \U0001f600"

    await a.send(b.peer_id, frame)  # a duplicate
    assert await asyncio.wait_for(rejected.get(), WAIT) == f"{a.peer_id}:MESSAGE_DUPLICATE"
    await c.send(b.peer_id, frame)  # relayed by someone else
    assert await asyncio.wait_for(rejected.get(), WAIT) == f"{c.peer_id}:{Reason.SIGNATURE_INVALID}"


def test_the_frame_budget_holds_per_peer_and_in_all() -> None:
    from ecco.transport.framing import FrameBudget

    budget = FrameBudget(per_peer=10, total=15)
    assert budget.reserve("a", 6) and not budget.reserve("a", 5)  # a's share is full
    assert budget.reserve("b", 9) and not budget.reserve("c", 1)  # all shares together are full
    budget.release("a", 6)
    assert budget.held == 9 and budget.reserve("c", 6)
