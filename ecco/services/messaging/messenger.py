"""Messaging between nodes: signed messages out, checked messages in, requests matched to their replies.

Every inbound message that passes the InboundGuard is written to the event log before the node acts on it, so a
harness following the log sees every request it may have to answer. Requests this node sent are matched by
`payload.requestId` (falling back to the reply's own id, as upstream) and only from the peer that was asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ecco.errors import (
    DeadlineExceeded,
    EccoError,
    InvalidArgument,
    Reason,
    Unavailable,
)
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.envelope import (
    ABSENT,
    InboundGuard,
    Message,
    canonical_json,
    encode_frame,
    new_message,
    now_ms,
    sign_message,
)
from ecco.services.events import MESSAGE_TYPES, EventLog
from ecco.services.messaging import handshake
from ecco.services.messaging.responders import Responder, ResponderFailed
from ecco.services.ports import Direction, NewEvent
from ecco.services.transport_port import ConnectedPeer, Transport

log = logging.getLogger("ecco.messaging")

PEER_ID_PATTERN = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,128}$")
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,160}$")
DEFAULT_REQUEST_TIMEOUT_S = 60.0
MAX_REQUEST_TIMEOUT_S = 3600.0
SEND_TIMEOUT_S = 10.0
ANSWER_STOP_GRACE_S = 2.0  # at stop, how long ended answers have to send their error replies
MAX_KNOWN_PEERS = 10_000  # upstream's peer cache is an LRU of 10,000
REPLY_TYPES = frozenset({"agent-response", "stream-chunk", "stream-complete"})
# Rejections that a flooding peer can cause at will are logged, not written to the event log.
UNKNOWN_PAYLOAD_MAX_BYTES = 4096  # larger bodies of unknown message types are stored as size and digest only
QUIET_REJECTIONS = frozenset({Reason.RATE_LIMITED, Reason.MESSAGE_DUPLICATE})


def validate_peer_id(peer_id: str, field: str = "peer_id") -> str:
    if not PEER_ID_PATTERN.match(peer_id or ""):
        raise InvalidArgument(
            f"{peer_id!r} is not a libp2p peer id (e.g. 12D3KooW...)", Reason.INVALID_PEER_ID, field=field
        )
    return peer_id


def validate_request_id(request_id: str) -> str:
    """A client-chosen request_id becomes the message id, so a retry is the same message (receivers drop it)."""
    if request_id and not REQUEST_ID_PATTERN.match(request_id):
        raise InvalidArgument(
            "request_id must be 1-160 characters of letters, digits, '.', '_', ':' or '-'",
            Reason.INVALID_ARGUMENT,
            field="request_id",
        )
    return request_id


def validate_timeout(timeout_ms: int) -> float:
    if timeout_ms < 0 or timeout_ms > MAX_REQUEST_TIMEOUT_S * 1000:
        raise InvalidArgument(
            f"timeout must be between 1 and {int(MAX_REQUEST_TIMEOUT_S * 1000)} ms, got {timeout_ms}",
            Reason.INVALID_ARGUMENT,
            field="timeout_ms",
        )
    return timeout_ms / 1000 if timeout_ms else DEFAULT_REQUEST_TIMEOUT_S


def request_id_of(message: Message) -> str:
    """The request a message belongs to: a reply's requestId, or an agent-request's own id."""
    payload = message.payload
    if isinstance(payload, dict) and isinstance(payload.get("requestId"), str):
        return payload["requestId"]
    return message.id if message.type == "agent-request" else ""


def prompt_of(payload: Any) -> str | None:
    """The prompt of an agent-request: `{"prompt": str}`, or AI-SDK messages whose user text parts are joined."""
    if not isinstance(payload, dict):
        return None
    prompt = payload.get("prompt")
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        texts = []
        for item in prompt:
            if not isinstance(item, dict) or item.get("role") != "user":
                continue
            content = item.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts += [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(texts) if texts else None
    return None


@dataclass(frozen=True)
class Sent:
    message: Message


@dataclass(frozen=True)
class Chunk:
    text: str
    index: int
    message: Message


@dataclass(frozen=True)
class Complete:
    text: str
    chunk_count: int
    message: Message


@dataclass(frozen=True)
class Reply:
    peer_id: str
    request_message_id: str
    text: str
    finish_reason: str
    error: str
    latency_ms: int
    chunk_count: int
    message: Message


RequestEvent = Sent | Chunk | Complete | Reply
MessageHandler = Callable[[Message], Awaitable[None]]
SendHook = Callable[[str, str, str], Awaitable[None]]


@dataclass
class _Pending:
    peer_id: str
    started: float
    queue: asyncio.Queue[Chunk | Complete | Reply | EccoError] = field(default_factory=asyncio.Queue)
    chunks: int = 0


@dataclass
class KnownPeer:
    peer_id: str
    addresses: list[str] = field(default_factory=list)
    last_seen_ms: int = 0
    handshake: str = "pending"  # pending | accepted | rejected | skipped


@dataclass(frozen=True)
class ReplyContent:
    """What an agent-response says: its text, finishReason and error (each "" when absent)."""

    text: str
    finish_reason: str
    error: str


def reply_content(payload: Any) -> ReplyContent:
    """Read an agent-response payload in either shape an agent sends (upstream-ecco §4.4, §5.1):

        {requestId, response: {text, finishReason}}                       (ours, the SDKs, harnesses)
        {requestId, response: {requestId, response: {text, finishReason}}} (upstream's built-in responder)

    and the error forms `{requestId, response: {error}}` and a top-level `{error}`. A response object without text
    or error is returned as its canonical JSON text (a custom handler's structured answer); a string as itself."""
    payload = payload if isinstance(payload, dict) else {}
    response = payload.get("response")
    if (
        isinstance(response, dict)
        and not isinstance(response.get("text"), str)
        and not isinstance(response.get("error"), str)
        and isinstance(response.get("response"), dict | str)
    ):
        response = response["response"]  # upstream's dispatcher wrapped its handler's {requestId, response} again
    text, error, finish = "", "", ""
    if isinstance(response, dict):
        text = response.get("text") if isinstance(response.get("text"), str) else ""
        error = response.get("error") if isinstance(response.get("error"), str) else ""
        finish = response.get("finishReason") if isinstance(response.get("finishReason"), str) else ""
        if not text and not error and response:
            text = canonical_json(response)
    elif isinstance(response, str):
        text = response
    if not error and isinstance(payload.get("error"), str):
        error = payload["error"]
    return ReplyContent(text, finish, error)


def _reply_from(message: Message, pending: _Pending) -> Reply:
    content = reply_content(message.payload)
    latency = int((time.monotonic() - pending.started) * 1000)
    return Reply(
        message.from_,
        request_id_of(message) or message.id,
        content.text,
        content.finish_reason,
        content.error,
        latency,
        pending.chunks,
        message,
    )


class Messenger:
    def __init__(
        self,
        transport: Transport,
        signer: Signer,
        verifier: Verifier,
        events: EventLog,
        *,
        network: str,
        responder: Responder | None = None,
        guard: InboundGuard | None = None,
        on_outcome: Callable[[str, bool], Awaitable[object]] | None = None,
    ) -> None:
        """`on_outcome(peer_id, success)` is awaited once for each request this node sent that ended with the
        peer: a reply without error is a success; an error reply, a timeout or an unreachable peer a failure.
        Requests refused before sending (bad input) or cut short by shutdown or the caller are not reported."""
        self._transport = transport
        self._signer = signer
        self._events = events
        self._network = network
        self._responder = responder
        self._guard = guard or InboundGuard(verifier)
        self._pending: dict[str, _Pending] = {}
        self._peers: dict[str, KnownPeer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._answering: set[asyncio.Task[None]] = set()
        self._handshake_timers: dict[str, asyncio.TimerHandle] = {}
        self._connection_listeners: list[Callable[[str], Awaitable[None]]] = []
        self._on_outcome = on_outcome
        self._message_handlers: dict[str, list[MessageHandler]] = {}
        self._before_send: list[SendHook] = []

    @property
    def peer_id(self) -> str:
        return self._signer.peer_id

    def add_connection_listener(self, listener: Callable[[str], Awaitable[None]]) -> None:
        """`await listener(peer_id)` after each new connection (e.g. to re-announce capabilities)."""
        self._connection_listeners.append(listener)

    def add_message_handler(self, type: str, handler: MessageHandler) -> None:
        """`await handler(message)` for every accepted inbound message of `type`, after it is in the event log
        (in its own task, so a slow handler, e.g. one asking a chain, never holds up the connection)."""
        self._message_handlers.setdefault(type, []).append(handler)

    def add_send_hook(self, hook: SendHook) -> None:
        """`await hook(peer_id, type, message_id)` before each message is sent; an error stops the send
        (e.g. payments record the expected invoice of an agent-request before the provider can answer)."""
        self._before_send.append(hook)

    def start(self) -> None:
        self._transport.set_handler(self._on_frame)
        self._transport.set_connection_handler(self._on_connection)
        self._transport.set_overload_handler(self._on_overload)

    async def stop(self) -> None:
        """Stop taking messages; end the responder's answers in progress, which tell their requesters that this
        node is shutting down (within the responder's grace plus ANSWER_STOP_GRACE_S); then end the rest."""
        self._transport.set_handler(None)
        if self._responder is not None:
            await self._responder.close()
            if self._answering:
                await asyncio.wait(self._answering, timeout=ANSWER_STOP_GRACE_S)
        self._transport.set_connection_handler(None)
        self._transport.set_overload_handler(None)
        for timer in self._handshake_timers.values():
            timer.cancel()
        for pending in self._pending.values():
            pending.queue.put_nowait(Unavailable("the node is shutting down", Reason.SHUTTING_DOWN))
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._answering.discard)
        return task

    def _known(self, peer_id: str) -> KnownPeer:
        if peer_id not in self._peers:
            if len(self._peers) >= MAX_KNOWN_PEERS:
                # Forget the peer heard from least recently, so new keys cannot grow the table without bound.
                stalest = min(self._peers.values(), key=lambda known: known.last_seen_ms)
                del self._peers[stalest.peer_id]
            self._peers[peer_id] = KnownPeer(peer_id)
        return self._peers[peer_id]

    # ------------------------------------------------------------------------------------------------ outbound

    async def send(self, peer_id: str, type: str, payload: Any, *, message_id: str = "") -> Message:
        """Sign and deliver one message; it is logged as an outbound event once handed to the connection."""
        validate_peer_id(peer_id)
        if type not in MESSAGE_TYPES:
            raise InvalidArgument(
                f"unknown message type {type!r}; known types: {', '.join(sorted(MESSAGE_TYPES))}",
                Reason.INVALID_MESSAGE_TYPE,
                field="type",
            )
        if peer_id == self.peer_id:
            return await self._answer_own_request(type, payload, message_id)
        message = sign_message(
            new_message(self.peer_id, peer_id, type, payload, id=validate_request_id(message_id) or None),
            self._signer,
        )
        for hook in self._before_send:
            await hook(peer_id, type, message.id)
        await self._transport.send(peer_id, encode_frame(message), SEND_TIMEOUT_S)
        await self._events.append(
            NewEvent(type, Direction.OUTBOUND, peer_id, message.id, request_id_of(message), _payload_json(message))
        )
        return message

    async def request(
        self, peer_id: str, prompt: str, timeout_s: float, *, message_id: str = "", system: str = ""
    ) -> AsyncIterator[RequestEvent]:
        """Send an agent-request and yield Sent, then any Chunk/Complete, then the Reply (the last item).
        A `system` instruction travels as `payload.system` (as in upstream's generation-request)."""
        validate_peer_id(peer_id)
        message_id = validate_request_id(message_id) or str(uuid.uuid4())
        if message_id in self._pending:
            raise InvalidArgument(
                f"a request with id {message_id} is already pending", Reason.IDEMPOTENCY_CONFLICT, field="request_id"
            )
        pending = _Pending(peer_id, time.monotonic())
        self._pending[message_id] = pending
        deadline = pending.started + timeout_s
        try:
            try:
                payload = {"prompt": prompt, "system": system} if system else {"prompt": prompt}
                sent = await self.send(peer_id, "agent-request", payload, message_id=message_id)
            except EccoError as error:
                if not isinstance(error, InvalidArgument):
                    await self._report(peer_id, False)
                raise
            yield Sent(sent)
            while True:
                remaining = deadline - time.monotonic()
                try:
                    item = await asyncio.wait_for(pending.queue.get(), max(remaining, 0))
                except TimeoutError:
                    await self._report(peer_id, False)
                    await self._events.record(
                        "request-failed",
                        {"reason": str(Reason.REQUEST_TIMEOUT)},
                        peer_id=peer_id,
                        request_id=message_id,
                    )
                    raise DeadlineExceeded(
                        f"peer {peer_id} did not answer within {timeout_s:g}s", Reason.REQUEST_TIMEOUT
                    ) from None
                if isinstance(item, EccoError):
                    if item.reason != Reason.SHUTTING_DOWN:
                        await self._report(peer_id, False)
                    await self._events.record(
                        "request-failed", {"reason": str(item.reason)}, peer_id=peer_id, request_id=message_id
                    )
                    raise item
                if isinstance(item, Reply):
                    # Reported before the reply is handed on: callers may stop iterating once they have it.
                    await self._report(peer_id, not item.error)
                yield item
                if isinstance(item, Reply):
                    return
        finally:
            self._pending.pop(message_id, None)

    async def ask_own_harness(self, prompt: str, timeout_s: float, *, message_id: str, system: str = "") -> Reply:
        """Put an agent-request to this node's own harness (consensus include-self on a node without a responder).
        It is logged as an inbound agent-request from this node's own peer id, so the harness sees it like any
        other; its reply, `send(<own peer id>, "agent-response", {"requestId": ...})`, is routed back here."""
        validate_request_id(message_id)
        pending = _Pending(self.peer_id, time.monotonic())
        self._pending[message_id] = pending
        payload = {"prompt": prompt, "system": system} if system else {"prompt": prompt}
        request = sign_message(
            new_message(self.peer_id, self.peer_id, "agent-request", payload, id=message_id), self._signer
        )
        try:
            await self._events.append(
                NewEvent(
                    "agent-request", Direction.INBOUND, self.peer_id, request.id, request.id, _payload_json(request)
                )
            )
            async with asyncio.timeout(timeout_s):
                while True:
                    item = await pending.queue.get()
                    if isinstance(item, EccoError):
                        raise item
                    if isinstance(item, Reply):
                        return item
        except TimeoutError:
            raise DeadlineExceeded(
                f"this node's harness did not answer within {timeout_s:g}s", Reason.REQUEST_TIMEOUT
            ) from None
        finally:
            self._pending.pop(message_id, None)

    async def _answer_own_request(self, type: str, payload: Any, message_id: str) -> Message:
        """The harness's reply to a request this node put to its own harness; any other message to itself is
        refused."""
        message = new_message(self.peer_id, self.peer_id, type, payload, id=validate_request_id(message_id) or None)
        pending = self._pending.get(request_id_of(message))
        if type not in REPLY_TYPES or pending is None or pending.peer_id != self.peer_id:
            raise InvalidArgument(
                "a node cannot send a message to itself (except a reply to a request it put to its own harness)",
                Reason.INVALID_PEER_ID,
                field="peer_id",
            )
        message = sign_message(message, self._signer)
        await self._events.append(
            NewEvent(type, Direction.OUTBOUND, self.peer_id, message.id, request_id_of(message), _payload_json(message))
        )
        self._route_reply(message)
        return message

    async def _report(self, peer_id: str, success: bool) -> None:
        if self._on_outcome is None:
            return
        try:
            await self._on_outcome(peer_id, success)
        except Exception:
            log.warning("outcome callback failed", extra={"peer": peer_id}, exc_info=True)

    async def prompt(
        self, peer_id: str, prompt: str, timeout_s: float, *, message_id: str = "", system: str = ""
    ) -> Reply:
        async for item in self.request(peer_id, prompt, timeout_s, message_id=message_id, system=system):
            if isinstance(item, Reply):
                return item
        raise AssertionError("a request always ends with a reply or an error")

    async def connect(self, multiaddr: str, timeout_s: float) -> tuple[str, bool]:
        """Dial a peer; returns (peer id, whether it was connected already)."""
        before = {p.peer_id for p in await self._transport.peers()}
        peer_id = await self._transport.connect(multiaddr, timeout_s)
        known = self._known(peer_id)
        if multiaddr not in known.addresses:
            known.addresses.append(multiaddr)
        return peer_id, peer_id in before

    async def peers(self) -> list[tuple[KnownPeer, ConnectedPeer | None]]:
        """Every peer this node knows, with its live connection if there is one; connected peers first."""
        connected = {p.peer_id: p for p in await self._transport.peers()}
        for peer_id in connected:
            self._known(peer_id)
        rows = [(known, connected.get(known.peer_id)) for known in self._peers.values()]
        return sorted(rows, key=lambda row: (row[1] is None, -row[0].last_seen_ms, row[0].peer_id))

    # ------------------------------------------------------------------------------------------------ inbound

    async def _on_overload(self, peer_id: str, size: int) -> None:
        self._guard.charge(peer_id, size)

    async def _on_frame(self, peer_id: str, frame: bytes) -> None:
        try:
            envelope = self._guard.check(peer_id, frame)
        except EccoError as rejection:
            log.warning(
                "rejected inbound message",
                extra={"peer": peer_id, "reason": str(rejection.reason), "detail": rejection.message},
            )
            if rejection.reason not in QUIET_REJECTIONS:
                await self._events.record(
                    "message-rejected",
                    {"reason": str(rejection.reason), "detail": rejection.message},
                    direction=Direction.INBOUND,
                    peer_id=peer_id,
                )
            return
        message = envelope.message
        self._known(peer_id).last_seen_ms = now_ms()
        known_type = message.type in MESSAGE_TYPES
        payload_json = _payload_json(message) if known_type else _unknown_payload_json(message)
        await self._events.append(
            NewEvent(
                message.type if known_type else "unknown-message",
                Direction.INBOUND,
                peer_id,
                message.id,
                request_id_of(message),
                payload_json,
            )
        )
        if not known_type:
            return
        for handler in self._message_handlers.get(message.type, ()):
            self._spawn(handler(message))
        if message.type in REPLY_TYPES:
            self._route_reply(message)
        elif message.type == "agent-request" and self._responder is not None:
            self._answering.add(self._spawn(self._answer(message, self._responder)))
        elif message.type == "version-handshake":
            await self._answer_handshake(message)
        elif message.type == "version-handshake-response":
            self._handshake_answered(message)

    def _route_reply(self, message: Message) -> None:
        pending = self._pending.get(request_id_of(message) or message.id)
        if pending is None or pending.peer_id != message.from_:
            return  # not ours, or not from the peer we asked: recorded as an event, nothing more
        payload = message.payload if isinstance(message.payload, dict) else {}
        if message.type == "stream-chunk":
            text = payload.get("chunk") if isinstance(payload.get("chunk"), str) else ""
            pending.queue.put_nowait(Chunk(text, pending.chunks, message))
            pending.chunks += 1
        elif message.type == "stream-complete":
            text = payload.get("text") if isinstance(payload.get("text"), str) else ""
            pending.queue.put_nowait(Complete(text, pending.chunks, message))
        else:
            pending.queue.put_nowait(_reply_from(message, pending))

    async def _answer(self, request: Message, responder: Responder) -> None:
        """Run the built-in responder for one agent-request and send its reply (upstream order)."""
        peer, request_id = request.from_, request.id
        prompt = prompt_of(request.payload)
        try:
            if prompt is None:
                await self.send(peer, "agent-response", {"requestId": request_id, "error": "missing prompt"})
                return
            pieces: list[str] = []
            try:
                async for piece in responder.respond(prompt):
                    pieces.append(piece)
                    if responder.streams:
                        await self.send(
                            peer, "stream-chunk", {"requestId": request_id, "chunk": piece, "partial": True}
                        )
            except ResponderFailed as failure:
                await self.send(peer, "agent-response", {"requestId": request_id, "response": {"error": str(failure)}})
                return
            text = "".join(pieces)
            if responder.streams:
                await self.send(peer, "stream-complete", {"requestId": request_id, "text": text, "complete": True})
            await self.send(
                peer, "agent-response", {"requestId": request_id, "response": {"text": text, "finishReason": "stop"}}
            )
        except EccoError as error:
            log.warning(
                "could not answer request", extra={"peer": peer, "request": request_id, "reason": str(error.reason)}
            )

    # ------------------------------------------------------------------------------------------------ handshake

    async def _on_connection(self, peer_id: str, connected: bool) -> None:
        known = self._known(peer_id)
        if connected:
            known.last_seen_ms = now_ms()
            self._set_handshake(peer_id, "pending")  # also cancels the timer of an earlier connection
            await self._events.record("peer-connected", {}, peer_id=peer_id)
            loop = asyncio.get_running_loop()
            self._handshake_timers[peer_id] = loop.call_later(
                handshake.HANDSHAKE_TIMEOUT_S, lambda: self._spawn(self._handshake_timed_out(peer_id))
            )
            self._spawn(
                self._send_quietly(peer_id, "version-handshake", handshake.handshake_payload(self._network, now_ms()))
            )
            for listener in self._connection_listeners:
                self._spawn(listener(peer_id))
            return
        self._set_handshake(peer_id, "disconnected")
        lost = Unavailable(f"peer {peer_id} disconnected before answering", Reason.PEER_UNREACHABLE)
        for pending in self._pending.values():
            if pending.peer_id == peer_id:
                pending.queue.put_nowait(lost)
        await self._events.record("peer-disconnected", {}, peer_id=peer_id)

    async def _send_quietly(self, peer_id: str, type: str, payload: Any, *, message_id: str = "") -> None:
        try:
            await self.send(peer_id, type, payload, message_id=message_id)
        except EccoError as error:
            log.warning("could not send", extra={"peer": peer_id, "type": type, "reason": str(error.reason)})

    async def _answer_handshake(self, message: Message) -> None:
        verdict = handshake.evaluate(message.payload, self._network)
        # The response carries the request's id (upstream); receivers key duplicates by sender, so no clash.
        await self._send_quietly(
            message.from_, "version-handshake-response", verdict.response_payload(), message_id=message.id
        )
        notice = handshake.notice_for(verdict)
        if notice is None:
            self._set_handshake(message.from_, "accepted")
            return
        log.warning("handshake rejected", extra={"peer": message.from_, "reason": verdict.reason})
        await self._send_quietly(message.from_, *notice)
        self._set_handshake(message.from_, "rejected")
        if handshake.ENFORCEMENT[self._network] == "strict":
            self._spawn(self._disconnect_later(message.from_))

    def _handshake_answered(self, message: Message) -> None:
        accepted = isinstance(message.payload, dict) and message.payload.get("accepted") is True
        if not accepted:
            log.warning("peer rejected our handshake", extra={"peer": message.from_})

    def _set_handshake(self, peer_id: str, state: str) -> None:
        self._known(peer_id).handshake = state
        timer = self._handshake_timers.pop(peer_id, None)
        if timer:
            timer.cancel()

    async def _handshake_timed_out(self, peer_id: str) -> None:
        self._handshake_timers.pop(peer_id, None)
        if self._known(peer_id).handshake != "pending":
            return
        if handshake.ENFORCEMENT[self._network] == "strict":
            log.warning("no handshake from peer; disconnecting", extra={"peer": peer_id})
            self._set_handshake(peer_id, "rejected")
            await self._disconnect_later(peer_id, delay_s=0)
        else:
            log.warning("no handshake from peer; accepting it (testnet warns)", extra={"peer": peer_id})
            self._set_handshake(peer_id, "skipped")

    async def _disconnect_later(self, peer_id: str, delay_s: float = 1.0) -> None:
        await asyncio.sleep(delay_s)  # lets the rejection notice reach the peer first (upstream waits 1 s)
        with contextlib.suppress(EccoError):
            await self._transport.disconnect(peer_id)


def _unknown_payload_json(message: Message) -> str:
    """What an unknown-message event keeps: the body up to UNKNOWN_PAYLOAD_MAX_BYTES, else only its size and
    SHA-256 (the node does not act on it, so a peer must not be able to fill the disk with it)."""
    body = _payload_json(message)
    size = len(body.encode("utf-8"))
    if size <= UNKNOWN_PAYLOAD_MAX_BYTES:
        return canonical_json({"type": message.type, "payload": None if message.payload is ABSENT else message.payload})
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return canonical_json({"type": message.type, "payloadBytes": size, "payloadSha256": digest})


def _payload_json(message: Message) -> str:
    return "null" if message.payload is ABSENT else canonical_json(message.payload)
