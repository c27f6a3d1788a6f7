"""The asyncio-facing peer-to-peer transport port (DESIGN §1, §5).

Frames are opaque bytes here: one frame is the JSON body of one upstream `TransportMessage` (the varint length
prefix is the transport's business). Peers are named by their base58 peer id and addressed by multiaddr strings.
No libp2p or trio type crosses this interface, so the daemon and its tests can use any implementation.

Besides direct frames, the port offers best-effort topic publish/subscribe (GossipSub in the libp2p implementation):
`publish`, `subscribe` and `topic_peers`. Gossip has no delivery guarantee at all (no acknowledgement, no retry, no
ordering, silent drops under load or while the mesh forms), so it only suits low-rate data that is re-announced
periodically (capability announcements, reputation filters); requests and replies go over `send`.

Errors are `ecco.errors` classes: `InvalidArgument` (INVALID_PEER_ID, INVALID_MULTIADDR, MESSAGE_TOO_LARGE;
INVALID_ARGUMENT with field "topic" for a bad topic name), `NotFound` (PEER_NOT_FOUND: no address known for the
peer), `Unavailable` (PEER_UNREACHABLE; SHUTTING_DOWN or NODE_NOT_RUNNING when the transport is not running) and
`DeadlineExceeded` (REQUEST_TIMEOUT).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ecco.errors import InvalidArgument, Reason
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
DEFAULT_PUBLISH_TIMEOUT = 10.0

TOPIC_PATTERN = re.compile(r"[a-zA-Z0-9:_-]{1,256}")
"""Upstream's application topic rule `^[a-zA-Z0-9:_-]{1,256}$` (matched in full, so no trailing newline slips by)."""
TOPIC_CAPABILITIES = "ecco:capabilities"
TOPIC_CAPABILITY_REQUEST = "ecco:capability-request"
TOPIC_CAPABILITY_RESPONSE = "ecco:capability-response"
TOPIC_REPUTATION_FILTERS = "ecco:reputation-filters"

MAX_PUBLISH_BYTES = 512 * 1024
"""Largest gossip payload accepted by `publish`: receivers refuse pubsub RPCs above 1 MiB (py-libp2p's default), and
the RPC adds the topic, ids and a signature; gossip is meant for small announcements anyway."""

FrameHandler = Callable[[str, bytes], Awaitable[None]]
"""`await handler(peer_id, frame)` for each inbound frame; `peer_id` is the authenticated transport peer."""

OverloadHandler = Callable[[str, int], Awaitable[None]]
"""`await handler(peer_id, size)` when a peer's inbound stream was reset for exceeding the caps on open streams or
buffered frame bytes; `size` is the frame length it claimed (0 for a stream over the cap)."""

ConnectionHandler = Callable[[str, bool], Awaitable[None]]
"""`await handler(peer_id, connected)` when the first connection to a peer opens (True) or the last closes (False)."""

TopicHandler = Callable[[str, bytes], Awaitable[None]]
"""`await handler(from_peer_id, data)` for each gossip message received on a topic. `from_peer_id` is the message's
`from` field as libp2p reports it: the origin (author) peer, whose signature over the message libp2p has verified
(strict signing), not the neighbour that forwarded it."""


def validate_topic(topic: object) -> str:
    """Return `topic` if it follows the upstream rule; raise InvalidArgument(INVALID_ARGUMENT, field "topic")."""
    if not isinstance(topic, str) or TOPIC_PATTERN.fullmatch(topic) is None:
        shown = repr(topic) if not isinstance(topic, str) or len(topic) <= 80 else repr(topic[:80] + "...")
        raise InvalidArgument(
            f"not a valid topic name: {shown} (1 to 256 of the characters a-z A-Z 0-9 : _ -)",
            Reason.INVALID_ARGUMENT,
            field="topic",
        )
    return topic


@dataclass(frozen=True)
class ConnectedPeer:
    peer_id: str
    addrs: tuple[str, ...]
    """The remote transport addresses of the open connections."""
    latency_ms: float | None
    """The last measured round trip (connect() measures one in the background; ping() refreshes it)."""
    direct_protocol: str | None
    """The direct protocol our outbound frames use with this peer, once known."""
    local_link: bool = False
    """Found on the local link (mDNS), as opposed to dialled from an address we were given or learned."""
    listen_addrs: tuple[str, ...] = ()
    """Where the peer listens (from identify and the addresses we dialled), each ending in /p2p/<id>; unlike
    `addrs`, never the temporary source port of an inbound connection."""


@dataclass(frozen=True)
class ProviderRecord:
    """A peer that announced itself as provider of a DHT key, with the addresses the record carried."""

    peer_id: str
    addrs: tuple[str, ...]


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

    def set_overload_handler(self, handler: OverloadHandler | None) -> None:
        """Be told of each stream reset for exceeding the inbound caps (so the peer's rate can be charged)."""
        ...

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

    async def publish(self, topic: str, data: bytes, timeout: float = DEFAULT_PUBLISH_TIMEOUT) -> None:
        """Publish `data` (at most `MAX_PUBLISH_BYTES`) on `topic`, best effort.

        Returns once the message is handed to the gossip router; there is no acknowledgement and no delivery
        guarantee of any kind: with no topic peers (allowed, it is not an error) nobody receives it, while the mesh
        forms (about one heartbeat after connecting or subscribing) peers may miss it, and overloaded links drop
        messages silently. Senders that need the data to arrive must re-announce it periodically. Conversely a
        message may arrive late: a connected peer that subscribes after the publication may still be handed it (the
        libp2p implementation replays messages up to ~30 s old), so receivers must judge freshness themselves.
        Publications may be paced (this call then waits, within `timeout`) to stay under receivers' rate limits.
        Subscribing to `topic` is not needed to publish on it, and our own publications are never delivered to
        our own handler."""
        ...

    def subscribe(self, topic: str, handler: TopicHandler) -> None:
        """Deliver the messages other peers publish on `topic` to `handler`; replaces an earlier handler for it.

        May be called before `start()` (the subscription begins with the transport) or while running (the
        subscription is announced in the background). A topic's messages are handed to its handler one at a time;
        the handler should return quickly. Messages arriving while the handler is busy are buffered up to a bound
        and then dropped (counted); an exception from the handler is logged and delivery carries on. Delivery is
        best effort: messages may be lost, arrive late or out of order, or (across restarts) more than once."""
        ...

    async def topic_peers(self, topic: str) -> list[str]:
        """The connected peers known to be subscribed to `topic` (from their subscription announcements)."""
        ...


@runtime_checkable
class ProviderRouting(Protocol):
    """Provider records on the network-scoped DHT (upstream §4.1: Kademlia `/ecco/kad/1.0.0/<networkId>`).

    Keys are multihash bytes (see `services.capability_keys`). Like gossip, records are best effort: a provider may
    have gone away since it announced, so callers still have to reach it."""

    async def provide(self, keys: list[bytes], timeout: float = DEFAULT_PUBLISH_TIMEOUT) -> int:
        """Announce this node as provider of each key; returns how many keys reached at least one other peer
        (0 with no peers is not an error: the record waits in our own store and is re-announced later)."""
        ...

    async def find_providers(self, key: bytes, limit: int, timeout: float) -> list[ProviderRecord]:
        """Up to `limit` other peers providing `key`, deduplicated; what was found when `timeout` ran out."""
        ...
