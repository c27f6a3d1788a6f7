"""The asyncio-facing peer-to-peer transport port (DESIGN §1, §5).

Frames are opaque bytes here: one frame is the JSON body of one upstream `TransportMessage` (the varint length
prefix is the transport's business). Peers are named by their base58 peer id and addressed by multiaddr strings.
No libp2p or trio type crosses this interface, so the daemon and its tests can use any implementation.

Errors are `ecco.errors` classes: `InvalidArgument` (INVALID_PEER_ID, INVALID_MULTIADDR, MESSAGE_TOO_LARGE),
`NotFound` (PEER_NOT_FOUND: no address known for the peer), `Unavailable` (PEER_UNREACHABLE; SHUTTING_DOWN or
NODE_NOT_RUNNING when the transport is not running) and `DeadlineExceeded` (REQUEST_TIMEOUT).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ecco.services import envelope

DIRECT_PROTOCOL_V10 = "/ecco/direct/1.0.0"
"""Upstream: one varint-prefixed frame per stream, then the writer closes the stream."""
DIRECT_PROTOCOL_V11 = "/ecco/direct/1.1.0"
"""The same frames, many per long-lived stream; used when the peer offers it."""

MAX_FRAME_BYTES = envelope.MAX_FRAME_BYTES
"""Frames above 10 MiB are refused."""

DEFAULT_LISTEN = ("/ip4/0.0.0.0/tcp/0",)
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_SEND_TIMEOUT = 10.0
DEFAULT_PING_TIMEOUT = 5.0

FrameHandler = Callable[[str, bytes], Awaitable[None]]
"""`await handler(peer_id, frame)` for each inbound frame; `peer_id` is the authenticated transport peer."""

ConnectionHandler = Callable[[str, bool], Awaitable[None]]
"""`await handler(peer_id, connected)` when the first connection to a peer opens (True) or the last closes (False)."""


@dataclass(frozen=True)
class ConnectedPeer:
    peer_id: str
    addrs: tuple[str, ...]
    """The remote transport addresses of the open connections."""
    latency_ms: float | None
    """The last measured round trip (connect() measures one in the background; ping() refreshes it)."""
    direct_protocol: str | None
    """The direct protocol our outbound frames use with this peer, once known."""


@runtime_checkable
class Transport(Protocol):
    @property
    def peer_id(self) -> str:
        """This node's base58 peer id."""
        ...

    def listen_addrs(self) -> list[str]:
        """Dialable multiaddrs, each ending in /p2p/<peer id>; wildcard hosts are expanded. Empty until started."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Close every stream and connection and release the listen ports. Idempotent."""
        ...

    def set_handler(self, handler: FrameHandler | None) -> None:
        """Receive inbound frames (at most `MAX_FRAME_BYTES` each); frames arriving without a handler are dropped.

        A stream's frames are handled one at a time, in order, and the next is not read before the handler returns
        (backpressure). Over 1.1.0 that orders a peer's frames; 1.0.0 frames (a stream each) may be handled
        concurrently. An exception from the handler is logged and the stream carries on."""
        ...

    def set_connection_handler(self, handler: ConnectionHandler | None) -> None: ...

    async def connect(self, multiaddr: str, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> str:
        """Dial `multiaddr` (which must end in /p2p/<peer id>) and return the peer id. Works for a peer that
        restarted on a new address: stale addresses and the dial-failure cache for that peer are cleared first."""
        ...

    async def disconnect(self, peer_id: str, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> None: ...

    async def send(self, peer_id: str, frame: bytes, timeout: float = DEFAULT_SEND_TIMEOUT) -> None:
        """Deliver one frame to the peer (dialling a known address if not connected). Returns once the frame is
        handed to the connection: delivery is at most once, with no acknowledgement (as upstream). A frame written in
        the few milliseconds between a peer dying and this node noticing can be lost without an error; requests
        need their own timeouts (receivers drop duplicate message ids, so resending is safe)."""
        ...

    async def ping(self, peer_id: str, timeout: float = DEFAULT_PING_TIMEOUT) -> float:
        """Round trip of a libp2p ping to a connected peer, in milliseconds."""
        ...

    async def peers(self) -> list[ConnectedPeer]: ...
