"""The Messenger between two nodes over an in-memory transport: signing, checks, replies, responders, handshake."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ecco.errors import DeadlineExceeded, InvalidArgument, NotFound, Reason, Unavailable
from ecco.services import envelope
from ecco.services.events.log import EventLog
from ecco.services.messaging.messenger import Chunk, Complete, Messenger, Reply, Sent
from ecco.services.messaging.responders import EchoResponder, ExecResponder
from ecco.services.ports import Direction
from ecco.services.transport_port import ConnectedPeer, ConnectionHandler, FrameHandler
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier
from tests.unit.conftest import FakeEventStore

TIMEOUT = 10


@dataclass
class FakeTransport:
    """Delivers frames straight to the other side's handler, like a connection that never fails."""

    peer_id: str
    network: dict[str, FakeTransport]
    handler: FrameHandler | None = None
    on_connection: ConnectionHandler | None = None
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)

    def set_handler(self, handler: FrameHandler | None) -> None:
        self.handler = handler

    def set_overload_handler(self, handler: object) -> None:
        pass

    def set_connection_handler(self, handler: ConnectionHandler | None) -> None:
        self.on_connection = handler

    def listen_addrs(self) -> list[str]:
        return []

    async def send(self, peer_id: str, frame: bytes, timeout: float = 10.0) -> None:
        target = self.network.get(peer_id)
        if target is None:
            raise NotFound(f"no address known for {peer_id}", Reason.PEER_NOT_FOUND)
        self.sent.append((peer_id, frame))
        if target.handler is not None:
            await target.handler(self.peer_id, frame)

    async def connect(self, multiaddr: str, timeout: float = 10.0) -> str:
        return multiaddr.rsplit("/", 1)[-1]

    async def disconnect(self, peer_id: str, timeout: float = 10.0) -> None:
        self.disconnected.append(peer_id)

    async def peers(self) -> list[ConnectedPeer]:
        return [ConnectedPeer(p, (), 1.0, None) for p in self.network if p != self.peer_id]


@dataclass
class Node:
    messenger: Messenger
    transport: FakeTransport
    events: EventLog
    signer: Ed25519Signer

    async def types(self, direction: Direction | None = None) -> list[str]:
        records = await self.events._store.read_after(0, frozenset(), 1000)
        return [r.type for r in records if direction is None or r.direction == direction]


async def make_node(network: dict[str, FakeTransport], *, responder=None, net: str = "testnet") -> Node:
    signer = Ed25519Signer(os.urandom(32))
    transport = FakeTransport(signer.peer_id, network)
    network[signer.peer_id] = transport
    events = EventLog(FakeEventStore())
    await events.start()
    messenger = Messenger(transport, signer, Ed25519Verifier(), events, network=net, responder=responder)
    messenger.start()
    return Node(messenger, transport, events, signer)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Node, Node]]:
    network: dict[str, FakeTransport] = {}
    asker = await make_node(network)
    echo = await make_node(network, responder=EchoResponder())
    yield asker, echo
    await asker.messenger.stop()
    await echo.messenger.stop()


async def test_request_to_the_echo_responder_gets_the_prompt_back(pair) -> None:
    asker, echo = pair
    items = [item async for item in asker.messenger.request(echo.signer.peer_id, "hello", TIMEOUT)]
    assert isinstance(items[0], Sent) and isinstance(items[-1], Reply)
    reply = items[-1]
    assert (reply.text, reply.finish_reason, reply.error) == ("hello", "stop", "")
    assert reply.request_message_id == items[0].message.id
    assert await echo.types(Direction.INBOUND) == ["agent-request"]
    assert await echo.types(Direction.OUTBOUND) == ["agent-response"]
    assert await asker.types(Direction.OUTBOUND) == ["agent-request"]


async def test_sent_frames_are_signed_upstream_envelopes(pair) -> None:
    asker, echo = pair
    message = await asker.messenger.send(echo.signer.peer_id, "ping", {"n": 1})
    peer, frame = asker.transport.sent[-1]
    decoded = envelope.decode_frame(frame).message
    envelope.verify_message(decoded, Ed25519Verifier())
    assert (peer, decoded.id, decoded.from_, decoded.payload) == (
        echo.signer.peer_id,
        message.id,
        asker.signer.peer_id,
        {"n": 1},
    )


async def test_exec_responder_streams_lines_then_completes() -> None:
    network: dict[str, FakeTransport] = {}
    asker = await make_node(network)
    worker = await make_node(network, responder=ExecResponder("cat; printf 'second line\\n'"))
    items = [item async for item in asker.messenger.request(worker.signer.peer_id, "first line\n", TIMEOUT)]
    chunks = [i.text for i in items if isinstance(i, Chunk)]
    complete = [i for i in items if isinstance(i, Complete)]
    assert chunks == ["first line\n", "second line\n"]
    assert complete[0].text == "first line\nsecond line\n" and complete[0].chunk_count == 2
    assert items[-1].text == "first line\nsecond line\n" and items[-1].chunk_count == 2
    assert await worker.types(Direction.OUTBOUND) == [
        "stream-chunk",
        "stream-chunk",
        "stream-complete",
        "agent-response",
    ]
    await asker.messenger.stop()
    await worker.messenger.stop()


async def test_exec_responder_failure_is_an_error_reply() -> None:
    network: dict[str, FakeTransport] = {}
    asker = await make_node(network)
    worker = await make_node(network, responder=ExecResponder("echo broken >&2; exit 3"))
    reply = await asker.messenger.prompt(worker.signer.peer_id, "x", TIMEOUT)
    assert "status 3" in reply.error and "broken" in reply.error and reply.text == ""
    await asker.messenger.stop()
    await worker.messenger.stop()


async def test_harness_reply_is_matched_only_from_the_peer_asked() -> None:
    network: dict[str, FakeTransport] = {}
    asker = await make_node(network)
    harness = await make_node(network)  # no responder: a harness answers with send()
    stranger = await make_node(network)
    stream = asker.messenger.request(harness.signer.peer_id, "question", TIMEOUT)
    sent = await anext(stream)
    request_id = sent.message.id
    await stranger.messenger.send(
        asker.signer.peer_id, "agent-response", {"requestId": request_id, "response": {"text": "forged"}}
    )
    await harness.messenger.send(
        asker.signer.peer_id, "stream-chunk", {"requestId": request_id, "chunk": "part", "partial": True}
    )
    await harness.messenger.send(
        asker.signer.peer_id,
        "agent-response",
        {"requestId": request_id, "response": {"text": "answer", "finishReason": "stop"}},
    )
    rest = [item async for item in stream]
    assert [type(i).__name__ for i in rest] == ["Chunk", "Reply"]
    assert rest[-1].text == "answer" and rest[-1].chunk_count == 1
    for node in (asker, harness, stranger):
        await node.messenger.stop()


@pytest.mark.parametrize(
    "response",
    [
        {"text": "Paris", "finishReason": "stop"},
        {"requestId": "<id>", "response": {"text": "Paris", "finishReason": "stop"}},  # upstream's built-in responder
    ],
    ids=["single-wrapped", "double-wrapped"],
)
async def test_a_reply_in_either_upstream_shape_gives_its_text(response: dict) -> None:
    """What `ecco request`, `ecco ask` and consensus read from an agent-response (they all use this Reply)."""
    network: dict[str, FakeTransport] = {}
    asker = await make_node(network)
    upstream = await make_node(network)
    stream = asker.messenger.request(upstream.signer.peer_id, "capital of France?", TIMEOUT)
    request_id = (await anext(stream)).message.id
    payload = json.loads(json.dumps({"requestId": request_id, "response": response}).replace("<id>", request_id))
    await upstream.messenger.send(asker.signer.peer_id, "agent-response", payload)
    [reply] = [item async for item in stream]
    assert (reply.text, reply.finish_reason, reply.error) == ("Paris", "stop", "")
    for node in (asker, upstream):
        await node.messenger.stop()


async def test_request_times_out_and_records_the_failure() -> None:
    network: dict[str, FakeTransport] = {}
    asker = await make_node(network)
    silent = await make_node(network)
    with pytest.raises(DeadlineExceeded) as info:
        await asker.messenger.prompt(silent.signer.peer_id, "anyone?", 0.05)
    assert info.value.reason == Reason.REQUEST_TIMEOUT
    assert "request-failed" in await asker.types()


async def test_disconnect_fails_pending_requests_at_once() -> None:
    network: dict[str, FakeTransport] = {}
    asker = await make_node(network)
    silent = await make_node(network)
    task = asyncio.ensure_future(asker.messenger.prompt(silent.signer.peer_id, "hello?", TIMEOUT))
    await asyncio.wait_for(_until(lambda: asker.messenger._pending), TIMEOUT)
    await asker.transport.on_connection(silent.signer.peer_id, False)
    with pytest.raises(Unavailable) as info:
        await asyncio.wait_for(task, TIMEOUT)
    assert info.value.reason == Reason.PEER_UNREACHABLE
    assert "peer-disconnected" in await asker.types()


async def test_tampered_and_unknown_messages_are_recorded_not_acted_on(pair) -> None:
    asker, echo = pair
    good = envelope.sign_message(
        envelope.new_message(asker.signer.peer_id, echo.signer.peer_id, "agent-request", {"prompt": "a"}), asker.signer
    )
    tampered = envelope.Message(**{**good.__dict__, "payload": {"prompt": "b"}})
    await echo.transport.handler(asker.signer.peer_id, envelope.encode_frame(tampered))
    odd = envelope.sign_message(
        envelope.new_message(asker.signer.peer_id, echo.signer.peer_id, "telepathy", {"x": 1}), asker.signer
    )
    await echo.transport.handler(asker.signer.peer_id, envelope.encode_frame(odd))
    await echo.transport.handler(asker.signer.peer_id, b"{not json")
    records = await echo.events._store.read_after(0, frozenset(), 100)
    assert [r.type for r in records] == ["message-rejected", "unknown-message", "message-rejected"]
    assert json.loads(records[0].payload_json)["reason"] == "SIGNATURE_INVALID"
    assert json.loads(records[1].payload_json) == {"type": "telepathy", "payload": {"x": 1}}
    assert json.loads(records[2].payload_json)["reason"] == "INVALID_PAYLOAD"
    assert echo.transport.sent == []  # nothing was answered


async def test_a_replayed_message_is_dropped_quietly(pair) -> None:
    asker, echo = pair
    message = envelope.sign_message(
        envelope.new_message(asker.signer.peer_id, echo.signer.peer_id, "ping", {}), asker.signer
    )
    frame = envelope.encode_frame(message)
    await echo.transport.handler(asker.signer.peer_id, frame)
    await echo.transport.handler(asker.signer.peer_id, frame)
    assert await echo.types() == ["ping"]


@pytest.mark.parametrize(
    ("peer", "type_", "reason"),
    [("not-a-peer", "ping", Reason.INVALID_PEER_ID), (None, "telepathy", Reason.INVALID_MESSAGE_TYPE)],
)
async def test_bad_sends_are_invalid(pair, peer, type_, reason) -> None:
    asker, echo = pair
    with pytest.raises(InvalidArgument) as info:
        await asker.messenger.send(peer or echo.signer.peer_id, type_, {})
    assert info.value.reason == reason


async def test_handshake_is_sent_on_connect_and_a_mismatch_is_refused() -> None:
    network: dict[str, FakeTransport] = {}
    main = await make_node(network, net="mainnet")
    test = await make_node(network, net="testnet")
    await test.transport.on_connection(main.signer.peer_id, True)  # test greets main with a testnet handshake
    await asyncio.wait_for(_until(lambda: main.transport.disconnected), TIMEOUT)
    sent_types = [envelope.decode_frame(f).message.type for _, f in main.transport.sent]
    assert sent_types[:2] == ["version-handshake-response", "version-incompatible-notice"]
    response = envelope.decode_frame(main.transport.sent[0][1]).message
    assert response.payload["accepted"] is False
    assert main.transport.disconnected == [test.signer.peer_id]  # mainnet is strict
    for node in (main, test):
        await node.messenger.stop()


async def _until(condition) -> None:
    """Yield to the loop until `condition()` holds; callers bound it with wait_for."""
    while not condition():
        await asyncio.sleep(0)


async def test_a_reconnection_replaces_the_pending_handshake_timer() -> None:
    """The timer of an earlier connection must not time out the handshake of the new one."""
    network: dict[str, FakeTransport] = {}
    a = await make_node(network)
    b = await make_node(network)
    await a.transport.on_connection(b.signer.peer_id, True)
    first = a.messenger._handshake_timers[b.signer.peer_id]
    await a.transport.on_connection(b.signer.peer_id, True)
    assert first.cancelled()
    assert not a.messenger._handshake_timers[b.signer.peer_id].cancelled()
    for node in (a, b):
        await node.messenger.stop()
