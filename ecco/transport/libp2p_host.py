"""The libp2p implementation of the Transport port: a py-libp2p 0.8.1 host run safely (libp2p-notes §4, §5).

`Libp2pTransport` is the asyncio-facing object. Everything it does happens in `_Runtime`, which lives entirely in
the trio thread of a `Libp2pThread` (the only module crossing the thread boundary): only `str`, `bytes`, numbers and
our frozen dataclasses go back and forth, and every libp2p failure becomes an `ecco.errors` exception there.

The safe recipe and the workarounds applied here:
- Noise is the only security transport (the default set also offers /plaintext/2.0.0, §5.2); Yamux only.
- `ConnectionConfig(max_connections_per_peer=1)` removes the 250 ms happy-eyeballs wait on every dial (§5.1).
- TCP and WebSocket transports are both registered, whatever we listen on, so both kinds of peer can be dialled (§5.3).
- Before (re)connecting to a peer that is not connected, its dial-failure cache entry and stale addresses are
  dropped, so a peer that restarted on a new port is reachable again at once (§5.5).
- Every libp2p await on a caller's behalf runs under `trio.fail_after` (frame reads are bounded per frame; only the
  idle wait on a long-lived 1.1.0 stream is not); libp2p's own mDNS, UPnP and bootstrap wiring stay off (bootstrap
  addresses are dialled by us, in the background, after start; mDNS, when asked for, runs in `libp2p_mdns` once the
  host is up; the DHT with its network-scoped protocol id in `libp2p_dht`).
- Not in the notes: the swarm's auto-connector (which redials every known peer while fewer than 100 connections are
  open) is never started; the dial failures libp2p logs at ERROR, with tracebacks, are filtered out; a listen address
  that cannot be bound fails start() (libp2p only logs it), and so does a fixed port another node already serves
  (libp2p binds with SO_REUSEPORT, which would let both run and split the inbound connections).

Direct messages: /ecco/direct/1.0.0 carries one `varint(len) || frame` per stream, exactly as upstream (the sender
writes and closes; the receiver reads frames until EOF). /ecco/direct/1.1.0 carries the same frames, many per
long-lived stream: outbound streams propose 1.1.0 first and fall back to 1.0.0 when the peer does not offer it.
Frames above the limit (10 MiB) are refused on read before their body is read, and the stream is reset.

Gossip (libp2p-notes §5.4, upstream §4.5): GossipSub v1.2/v1.1/v1.0 with strict message signing, emitSelf off (our own
publications are filtered out before any handler) and publishing to zero topic peers allowed. Its silent drop
points are handled as follows:
- heartbeat every 1 s (first after 0.1 s) instead of 120 s, so meshes form and heal within about a second;
- receivers accept up to 50 messages per second per (forwarding peer, topic) instead of 10;
- our own publications are paced (at least 10 ms apart, at most 25 per topic in any second), which keeps them under
  the receivers' limit, under the limit py-libp2p applies to our own publications, and within the 32-RPC outbound
  queue per peer;
- each subscription's 32-message libp2p queue is drained at once by a dedicated trio task into our own bounded
  buffer (drops there are counted), and a second task per topic hands the messages to the asyncio handler.
Peer exchange (PX) records in PRUNE messages are ignored, like the swarm's auto-connector: which peers to dial is the
daemon's decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import secrets
import socket
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import multiaddr
import trio
from libp2p import (
    NOISE_PROTOCOL_ID,
    YAMUX_PROTOCOL_ID,
    NoiseTransport,
    Yamux,
    create_new_x25519_key_pair,
    new_host,
)
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.crypto.keys import KeyPair
from libp2p.custom_types import TProtocol
from libp2p.exceptions import BaseLibp2pError
from libp2p.host.ping import ID as PING_PROTOCOL_ID
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID as GOSSIPSUB_V10
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11 as GOSSIPSUB_V11
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V12 as GOSSIPSUB_V12
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.tools.anyio_service import background_trio_service
from libp2p.transport.websocket.transport import WebsocketTransport
from libp2p.utils.varint import encode_uvarint
from multiaddr.utils import get_network_addrs

from ecco.errors import (
    DeadlineExceeded,
    EccoError,
    InvalidArgument,
    NotFound,
    Reason,
    Unavailable,
)
from ecco.identity import Identity
from ecco.services.transport_port import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_LISTEN,
    DEFAULT_PING_TIMEOUT,
    DEFAULT_PUBLISH_TIMEOUT,
    DEFAULT_SEND_TIMEOUT,
    DIRECT_PROTOCOL_V10,
    DIRECT_PROTOCOL_V11,
    MAX_FRAME_BYTES,
    MAX_PUBLISH_BYTES,
    ConnectedPeer,
    ConnectionHandler,
    FrameHandler,
    ProviderRecord,
    TopicHandler,
    validate_topic,
)
from ecco.transport.libp2p_bridge import Libp2pThread
from ecco.transport.libp2p_dht import CapabilityDht
from ecco.transport.libp2p_mdns import LocalLinkDiscovery

log = logging.getLogger(__name__)
T = TypeVar("T")

V10 = TProtocol(DIRECT_PROTOCOL_V10)
V11 = TProtocol(DIRECT_PROTOCOL_V11)
PING = TProtocol(PING_PROTOCOL_ID)

FRAME_READ_TIMEOUT = 30.0
"""Once a frame has started, its remaining bytes must arrive within this time; also the idle limit on 1.0.0 streams."""
CLOSE_TIMEOUT = 2.0
CONNECTED_CHECK_TIMEOUT = 2.0
KNOWN_ADDRS_LIMIT = 10_000
_READ_CHUNK = 256 * 1024
_PING_BYTES = 32
_EVENT_QUEUE = 1024

GOSSIP_PROTOCOLS = (TProtocol(GOSSIPSUB_V12), TProtocol(GOSSIPSUB_V11), TProtocol(GOSSIPSUB_V10))
GOSSIP_DEGREE, GOSSIP_DEGREE_LOW, GOSSIP_DEGREE_HIGH = 6, 4, 12
GOSSIP_HEARTBEAT_INTERVAL = 1  # seconds (libp2p's default is 120)
GOSSIP_HEARTBEAT_INITIAL_DELAY = 0.1
GOSSIP_MAX_MESSAGES_PER_TOPIC_PER_SECOND = 50.0  # accepted per (forwarding peer, topic); libp2p's default is 10
PUBLISH_MIN_INTERVAL = 0.010
"""Seconds between two of our publications (any topics). A peer's outbound queue holds 32 RPCs and drops beyond
that: 30 back-to-back publishes lost 14 (libp2p-notes §5.4), 10 ms apart none."""
PUBLISH_MAX_PER_TOPIC_PER_SECOND = 25
"""Our own publications per topic in any one-second window: half of what our receivers accept per (forwarder, topic),
leaving room for the other authors a forwarder relays, and under the same 50/s limit libp2p applies to our own
publications (beyond it, it silently sends them to nobody)."""
MDNS_START_TIMEOUT = 10.0
"""zeroconf probes the link before it registers our service, which takes about a second."""
PUBSUB_TIMEOUT = 5.0
"""Bound on pubsub start-up and on subscribing (both are local work plus queued announcements)."""
TOPIC_BUFFER = 256
"""Messages buffered per topic between the libp2p subscription queue and a busy handler; beyond it they are dropped."""
_PACED_TOPICS_LIMIT = 1024
TOPIC_HANDLER_TIMEOUT = 30.0
"""A topic handler still running after this long is cancelled (and logged), so one stuck call cannot stall a topic."""


class _StaleStream(Exception):
    """Writing on a reused long-lived stream failed; the frame may be sent again on a new stream."""


_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    _StaleStream,
    BaseLibp2pError,
    OSError,
    EOFError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)


# ---------------------------------------------------------------------------------------------------------------------
# Parsing and error mapping (pure; usable from either thread)
# ---------------------------------------------------------------------------------------------------------------------


def parse_peer_id(text: str) -> ID:
    """A libp2p peer id from its string form. Raises InvalidArgument(INVALID_PEER_ID)."""
    bad = InvalidArgument(f"not a valid libp2p peer id: {text!r}", Reason.INVALID_PEER_ID, field="peer_id")
    if not isinstance(text, str) or not text or len(text) > 128:
        raise bad
    try:
        peer = ID.from_string(text)
    except Exception:
        raise bad from None
    raw = peer.to_bytes()
    identity = len(raw) >= 2 and raw[0] == 0x00 and raw[1] == len(raw) - 2
    sha256 = len(raw) == 34 and raw[0] == 0x12 and raw[1] == 0x20
    if not (identity or sha256):
        raise bad
    return peer


def parse_multiaddr(text: str, *, require_peer: bool) -> multiaddr.Multiaddr:
    """Raises InvalidArgument(INVALID_MULTIADDR) for unparsable addresses, or (with `require_peer`) addresses that
    do not end in /p2p/<peer id>."""
    try:
        addr = multiaddr.Multiaddr(text)
        if require_peer:
            info = info_from_p2p_addr(addr)
            parse_peer_id(info.peer_id.to_base58())
    except Exception:
        suffix = " ending in /p2p/<peer id>" if require_peer else ""
        raise InvalidArgument(
            f"not a valid multiaddr{suffix}: {text!r}", Reason.INVALID_MULTIADDR, field="multiaddr"
        ) from None
    return addr


def _unreachable(action: str, peer: str) -> Unavailable:
    return Unavailable(f"{action} peer {peer} failed: the peer is unreachable", Reason.PEER_UNREACHABLE)


def _is_network_error(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_network_error(e) for e in exc.exceptions)
    return isinstance(exc, _NETWORK_ERRORS)


@contextlib.contextmanager
def _mapped(action: str, peer: object, *, subject: str = "peer") -> Iterator[None]:
    """Turn libp2p/network failures and our trio deadlines into ecco errors (never exposing exception text).
    `subject` names what `peer` is in messages: a peer, or a pubsub topic."""
    try:
        yield
    except EccoError:
        raise
    except trio.TooSlowError:
        raise DeadlineExceeded(f"{action} {subject} {peer} timed out", Reason.REQUEST_TIMEOUT) from None
    except Exception as exc:
        if not _is_network_error(exc):
            raise
        log.debug("%s %s %s failed: %r", action, subject, peer, exc)
        if subject == "peer":
            raise _unreachable(action, str(peer)) from None
        raise Unavailable(f"{action} {subject} {peer} failed", Reason.PEER_UNREACHABLE) from None


async def _quietly(what: str, coro_fn: Any, *args: Any) -> None:
    """Best-effort close/reset: bounded, shielded from cancellation, never raises."""
    with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
        try:
            await coro_fn(*args)
        except Exception as exc:
            log.debug("%s failed: %r", what, exc)


def _check_ports_free(listen: Sequence[str]) -> None:
    """libp2p listens with SO_REUSEPORT, so a second node can bind a fixed port that is already serving and the
    kernel then splits inbound connections between the two. Refuse to start instead: probe each fixed TCP port with a
    plain bind first (port 0 needs no probe)."""
    seen: set[tuple[str, int]] = set()
    for text in listen:
        addr = multiaddr.Multiaddr(text)
        protocols = {p.name for p in addr.protocols()}
        host = addr.value_for_protocol("ip4") if "ip4" in protocols else None
        if host is None and "ip6" in protocols:
            host = addr.value_for_protocol("ip6")
        port = int(addr.value_for_protocol("tcp")) if "tcp" in protocols else 0
        if host is None or port == 0 or (host, port) in seen:
            continue
        seen.add((host, port))
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like trio: TIME_WAIT is no conflict
            try:
                probe.bind((host, port))
            except OSError:
                raise Unavailable(
                    f"cannot listen on {text}: the address is in use", Reason.NODE_START_FAILED, field="listen"
                ) from None


def _is_live(conn: INetConn) -> bool:
    if getattr(conn, "is_closed", False):
        return False
    muxed = getattr(conn, "muxed_conn", None)
    if muxed is None:
        return True
    shutting_down = getattr(muxed, "event_shutting_down", None)
    return not (getattr(muxed, "is_closed", False) or (shutting_down is not None and shutting_down.is_set()))


def _remote_addrs(conn: INetConn) -> list[str]:
    with contextlib.suppress(Exception):
        addrs = [str(a) for a in conn.get_transport_addresses()]
        if addrs:
            return addrs
    with contextlib.suppress(Exception):
        remote = conn.muxed_conn.get_remote_address()  # type: ignore[attr-defined]
        if remote:
            host, port = remote
            return [f"/{'ip6' if ':' in host else 'ip4'}/{host}/tcp/{port}"]
    return []


# ---------------------------------------------------------------------------------------------------------------------
# Frames on a stream
# ---------------------------------------------------------------------------------------------------------------------


class FrameTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class TruncatedFrame(Exception):
    pass


class _FrameReader:
    """Reads `uvarint(len) || body` frames from a stream through a buffer (no per-byte reads)."""

    def __init__(self, stream: INetStream, max_bytes: int) -> None:
        self._stream = stream
        self._max = max_bytes
        self._buffer = bytearray()

    async def _fill(self) -> bool:
        try:
            chunk = await self._stream.read(_READ_CHUNK)
        except EOFError:  # StreamEOF
            return False
        if not chunk:
            return False
        self._buffer += chunk
        return True

    async def next_frame(self, idle_timeout: float | None, frame_timeout: float) -> bytes | None:
        """The next frame, or None at a clean end of stream (EOF between frames)."""
        if not self._buffer:
            with trio.fail_after(idle_timeout if idle_timeout is not None else math.inf):
                if not await self._fill():
                    return None
        with trio.fail_after(frame_timeout):
            length, header = 0, 0
            while True:
                if header >= len(self._buffer) and not await self._fill():
                    raise TruncatedFrame()
                byte = self._buffer[header]
                length |= (byte & 0x7F) << (7 * header)
                header += 1
                if not byte & 0x80:
                    break
                if header >= 10:
                    raise TruncatedFrame()  # not a uvarint
            if length > self._max:
                raise FrameTooLarge(length)
            end = header + length
            while len(self._buffer) < end:
                if not await self._fill():
                    raise TruncatedFrame()
            frame = bytes(self._buffer[header:end])
            del self._buffer[:end]
            return frame


def _framed(frame: bytes) -> bytes:
    return encode_uvarint(len(frame)) + frame


def framed_size(frame_len: int) -> int:
    return len(encode_uvarint(frame_len)) + frame_len


# ---------------------------------------------------------------------------------------------------------------------
# The trio side
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class _Channel:
    """Outbound state for one peer: the long-lived 1.1.0 stream, or the knowledge that the peer only speaks 1.0.0."""

    lock: trio.Lock = field(default_factory=trio.Lock)
    stream: INetStream | None = None
    protocol: str | None = None


async def _never() -> None:
    pass


class _GossipSub(GossipSub):
    """GossipSub that ignores peer exchange: a PRUNE carrying PX records would make libp2p dial those peers."""

    async def _do_px(self, px_peers: list[rpc_pb2.PeerInfo]) -> None:
        if px_peers:
            log.debug("ignored %d peer-exchange records", len(px_peers))


def _build_gossip(host: IHost) -> tuple[Pubsub, GossipSub]:
    router = _GossipSub(
        protocols=list(GOSSIP_PROTOCOLS),
        degree=GOSSIP_DEGREE,
        degree_low=GOSSIP_DEGREE_LOW,
        degree_high=GOSSIP_DEGREE_HIGH,
        heartbeat_initial_delay=GOSSIP_HEARTBEAT_INITIAL_DELAY,
        heartbeat_interval=GOSSIP_HEARTBEAT_INTERVAL,
        max_messages_per_topic_per_second=GOSSIP_MAX_MESSAGES_PER_TOPIC_PER_SECOND,
    )
    return Pubsub(host, router, strict_signing=True), router


class _Notifee(INotifee):
    def __init__(self, runtime: _Runtime) -> None:
        self._runtime = runtime

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._runtime.on_connection_change(conn.muxed_conn.peer_id)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._runtime.on_connection_change(conn.muxed_conn.peer_id)

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass


class _Runtime:
    """Owns the libp2p host. Every method runs in the trio thread."""

    def __init__(
        self,
        bridge: Libp2pThread,
        key_pair: KeyPair,
        listen: Sequence[str],
        bootstrap: Sequence[str],
        *,
        offer_v11: bool,
        max_frame_bytes: int,
        frame_timeout: float,
        dial_timeout: float,
        network_id: str | None,
        mdns: bool,
    ) -> None:
        self._bridge = bridge
        self._network_id = network_id
        self._mdns_enabled = mdns
        self._dht: CapabilityDht | None = None
        self._services: contextlib.AsyncExitStack | None = None
        self._local_link: set[ID] = set()
        self._key_pair = key_pair
        self._listen = list(listen)
        self._bootstrap = list(bootstrap)
        self._offer_v11 = offer_v11
        self._outbound_protocols = [V11, V10] if offer_v11 else [V10]
        self._max_frame_bytes = max_frame_bytes
        self._frame_timeout = frame_timeout
        self._dial_timeout = dial_timeout
        self.frame_handler: FrameHandler | None = None
        self.connection_handler: ConnectionHandler | None = None
        self.listen_addrs: list[str] = []
        self.inbound_streams: Counter[str] = Counter()
        self._host: IHost | None = None
        self._nursery: trio.Nursery | None = None
        self._channels: dict[ID, _Channel] = {}
        self._latency_ms: dict[ID, float] = {}
        self._known_addrs: dict[ID, list[multiaddr.Multiaddr]] = {}
        self._connected: set[ID] = set()
        self._events: trio.MemorySendChannel[tuple[str, bool]] | None = None
        # Gossip. `topic_handlers` is written by the asyncio side (plain dict stores) and read here.
        self.topic_handlers: dict[str, TopicHandler] = {}
        self.gossip_dropped: Counter[str] = Counter()
        self._pubsub: Pubsub | None = None
        self._subscriptions: dict[str, Any] = {}
        self._subscribe_lock: trio.Lock | None = None
        self._publish_lock: trio.Lock | None = None
        self._last_publish = -math.inf
        self._published: dict[str, deque[float]] = {}

    @property
    def host(self) -> IHost:
        assert self._host is not None, "the host is not running"
        return self._host

    def _build_host(self) -> IHost:
        key_pair = self._key_pair
        listen = [multiaddr.Multiaddr(a) for a in self._listen]
        host = new_host(
            key_pair=key_pair,
            sec_opt={
                NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=create_new_x25519_key_pair().private_key)
            },
            muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
            connection_config=ConnectionConfig(
                max_connections_per_peer=1,
                dial_timeout=self._dial_timeout,
                outbound_upgrade_timeout=self._dial_timeout,
                inbound_upgrade_timeout=self._dial_timeout,
            ),
            listen_addrs=listen,
            enable_mDNS=False,
            enable_upnp=False,
            bootstrap=None,
        )
        network: Any = host.get_network()
        manager = network.transport_manager
        if not any(isinstance(t, WebsocketTransport) for t in manager.get_transports()):
            manager.add_transport(WebsocketTransport(network.upgrader))
        # The swarm's auto-connector redials every peerstore peer whenever fewer than 100 connections are open
        # (and on every disconnect). Which peers to (re)dial is the daemon's decision, so it never starts.
        network.auto_connector.start = _never
        host.set_stream_handler(V10, self._on_inbound)
        if self._offer_v11:
            host.set_stream_handler(V11, self._on_inbound)
        network.register_notifee(_Notifee(self))
        return host

    @asynccontextmanager
    async def lifetime(self) -> AsyncIterator[None]:
        _check_ports_free(self._listen)
        self._host = self._build_host()
        pubsub, router = _build_gossip(self._host)
        self._subscribe_lock, self._publish_lock = trio.Lock(), trio.Lock()
        events_send, events_receive = trio.open_memory_channel[tuple[str, bool]](_EVENT_QUEUE)
        self._events = events_send
        try:
            async with (
                self.host.run(listen_addrs=[multiaddr.Multiaddr(a) for a in self._listen]),
                background_trio_service(pubsub),
                background_trio_service(router),
                trio.open_nursery() as nursery,
                contextlib.AsyncExitStack() as services,
            ):
                try:
                    with trio.fail_after(PUBSUB_TIMEOUT):
                        await pubsub.wait_until_ready()
                except trio.TooSlowError:
                    raise Unavailable("the gossip service did not start in time", Reason.NODE_START_FAILED) from None
                self._pubsub = pubsub
                self._nursery = nursery
                self._check_listening()
                self.listen_addrs = self._dialable_addrs()
                nursery.start_soon(self._pump_connection_events, events_receive)
                if self._network_id is not None:
                    self._dht = CapabilityDht(self.host, self._network_id)
                    await services.enter_async_context(background_trio_service(self._dht.service))
                self._services = services
                for addr in self._bootstrap:
                    nursery.start_soon(self._bootstrap_one, addr)
                try:
                    yield
                finally:
                    await services.aclose()
                    nursery.cancel_scope.cancel()
                    for channel in list(self._channels.values()):
                        if channel.stream is not None:
                            await _quietly("reset an outbound stream", channel.stream.reset)
                    self._channels.clear()
        finally:
            self._dht = None
            self._services = None
            self._nursery = None
            self._events = None
            self._pubsub = None
            self._subscriptions.clear()
            self.listen_addrs = []

    def _check_listening(self) -> None:
        # libp2p only logs a listen failure (e.g. address in use) and runs on without that address.
        listeners: Any = getattr(self.host.get_network(), "listeners", {})
        missing = [a for a in self._listen if str(multiaddr.Multiaddr(a)) not in listeners]
        if missing:
            raise Unavailable(f"cannot listen on {', '.join(missing)}", Reason.NODE_START_FAILED, field="listen")

    def _dialable_addrs(self) -> list[str]:
        result: list[str] = []
        for addr in self.host.get_addrs():
            text = str(addr)
            if text.startswith("/ip4/0.0.0.0/"):
                ips = ["127.0.0.1", *(ip for ip in get_network_addrs(4) if ip != "127.0.0.1")]
                result.extend(f"/ip4/{ip}/" + text[len("/ip4/0.0.0.0/") :] for ip in ips)
            else:
                result.append(text)
        unique = list(dict.fromkeys(result))
        return sorted(unique, key=lambda a: "/ws" in a)  # TCP first; stable otherwise

    # ---- connections ----

    def _live_connections(self, peer: ID) -> list[INetConn]:
        return [c for c in self.host.get_network().get_connections(peer) if _is_live(c)]

    async def _forget_dead_connections(self, peer: ID) -> None:
        """A closing connection stays registered for ~200 ms after it died (libp2p sleeps twice before it reports
        the disconnect), and `host.connect` would take it for a live one. Unregister it now."""
        network: Any = self.host.get_network()
        if network.get_connections(peer):
            await network.close_peer(peer)
            self.on_connection_change(peer)

    def _remember(self, peer: ID, addrs: Sequence[multiaddr.Multiaddr]) -> None:
        self._known_addrs.pop(peer, None)
        self._known_addrs[peer] = list(addrs)
        while len(self._known_addrs) > KNOWN_ADDRS_LIMIT:
            self._known_addrs.pop(next(iter(self._known_addrs)))

    async def connect(self, addr_text: str, timeout: float) -> str:
        info = info_from_p2p_addr(parse_multiaddr(addr_text, require_peer=True))
        peer = info.peer_id
        if peer == self.host.get_id():
            raise InvalidArgument("a node cannot connect to itself", Reason.INVALID_MULTIADDR, field="multiaddr")
        with _mapped("connecting to", peer), trio.fail_after(timeout):
            self._remember(peer, info.addrs)
            check = min(timeout / 2, CONNECTED_CHECK_TIMEOUT)
            if self._live_connections(peer) and await self._answers_ping(peer, check):
                return peer.to_base58()
            await self._dial(info)
        self._nursery_start(self._measure_latency, peer)
        return peer.to_base58()

    async def _answers_ping(self, peer: ID, timeout: float) -> bool:
        """Whether an open connection still works: right after a peer stops, its connection looks open for a few
        milliseconds, and connect() must not mistake it for a live one."""
        with trio.move_on_after(timeout):
            try:
                await self._ping(peer)
                return True
            except Exception as exc:
                if not _is_network_error(exc):
                    raise
                log.debug("the open connection to %s does not answer (%r)", peer, exc)
        return False

    async def _dial(self, info: PeerInfo) -> None:
        """Dial a peer that has no live connection, at exactly `info.addrs` (libp2p-notes §5.5)."""
        network: Any = self.host.get_network()
        await self._forget_dead_connections(info.peer_id)
        self._drop_channel(info.peer_id)
        network.unblock_peer(info.peer_id)
        self.host.get_peerstore().clear_addrs(info.peer_id)
        await self.host.connect(info)

    async def _ensure_connected(self, peer: ID) -> None:
        if self._live_connections(peer):
            return
        await self._forget_dead_connections(peer)
        addrs = self._known_addrs.get(peer)
        if not addrs:
            try:
                addrs = self.host.get_peerstore().addrs(peer)
            except Exception:
                addrs = []
        if not addrs:
            raise NotFound(f"no address is known for peer {peer}", Reason.PEER_NOT_FOUND)
        # Unlike connect(), keep the dial-failure cache: a peer that just failed fails again at once.
        await self.host.connect(PeerInfo(peer, list(addrs)))

    async def disconnect(self, peer_text: str, timeout: float) -> None:
        peer = parse_peer_id(peer_text)
        self._drop_channel(peer)
        with _mapped("disconnecting from", peer), trio.fail_after(timeout):
            await self.host.disconnect(peer)

    async def _bootstrap_one(self, addr_text: str) -> None:
        try:
            await self.connect(addr_text, self._dial_timeout)
        except EccoError as exc:
            log.warning("bootstrap peer %s: %s", addr_text, exc.message)

    def on_connection_change(self, peer: ID) -> None:
        """Called by the swarm (in trio) when a connection to `peer` opens or closes."""
        try:
            live = bool(self._live_connections(peer))
        except Exception:
            return
        was = peer in self._connected
        if live == was:
            return
        if live:
            self._connected.add(peer)
            if self._dht is not None:
                self._nursery_start(self._dht.peer_connected, peer)
        else:
            self._connected.discard(peer)
            self._drop_channel(peer)
            self._latency_ms.pop(peer, None)
            if self._dht is not None:
                self._dht.peer_disconnected(peer)
        if self._events is not None:
            try:
                self._events.send_nowait((peer.to_base58(), live))
            except (trio.WouldBlock, trio.ClosedResourceError):
                log.warning("connection event for %s dropped", peer)

    async def start_local_link(self) -> None:
        """Start mDNS (once the transport runs, so the connections it makes reach the connection handler)."""
        if not self._mdns_enabled or self._services is None:
            return
        local_link = LocalLinkDiscovery(self.host, self._on_local_link_peer)
        await local_link.start(self.listen_addrs)
        self._services.push_async_callback(local_link.stop)

    def _on_local_link_peer(self, info: PeerInfo) -> None:
        self._local_link.add(info.peer_id)
        if not self._live_connections(info.peer_id):
            self._nursery_start(self._dial_local_link, info)

    async def _dial_local_link(self, info: PeerInfo) -> None:
        with trio.move_on_after(self._dial_timeout):
            try:
                self._remember(info.peer_id, info.addrs)
                await self._dial(info)
                await self._measure_latency(info.peer_id)
            except Exception as exc:
                log.info("could not dial %s found on the local link: %r", info.peer_id, exc)

    async def _pump_connection_events(self, events: trio.MemoryReceiveChannel[tuple[str, bool]]) -> None:
        async for peer, connected in events:
            handler = self.connection_handler
            if handler is None:
                continue
            try:
                await self._bridge.to_asyncio(handler, peer, connected)
            except Exception as exc:
                log.warning("connection handler failed for %s: %r", peer, exc)

    def _drop_channel(self, peer: ID) -> None:
        channel = self._channels.pop(peer, None)
        if channel is not None and channel.stream is not None:
            self._nursery_start(_quietly, "reset an outbound stream", channel.stream.reset)

    def _nursery_start(self, fn: Any, *args: Any) -> None:
        if self._nursery is not None:
            with contextlib.suppress(RuntimeError):
                self._nursery.start_soon(fn, *args)

    # ---- sending ----

    async def send(self, peer_text: str, frame: bytes, timeout: float) -> None:
        peer = parse_peer_id(peer_text)
        if peer == self.host.get_id():
            raise InvalidArgument("a node cannot send to itself", Reason.INVALID_PEER_ID, field="peer_id")
        data = _framed(frame)
        with _mapped("sending to", peer), trio.fail_after(timeout):
            for attempt in (1, 2):
                await self._ensure_connected(peer)
                try:
                    await self._send_framed(peer, data)
                    return
                except Exception as exc:
                    # Nothing (or only a truncated frame, which the receiver drops) was delivered. Try once more if
                    # the long-lived stream was stale or the connection died under us; the receiver dedups anyway.
                    stale = isinstance(exc, _StaleStream) or not self._live_connections(peer)
                    if attempt == 2 or not stale or not _is_network_error(exc):
                        raise
                    log.debug("sending to %s failed on a stale stream or connection (%r); retrying once", peer, exc)

    async def _send_framed(self, peer: ID, data: bytes) -> None:
        channel = self._channels.setdefault(peer, _Channel())
        if channel.protocol == DIRECT_PROTOCOL_V10:
            await self._send_on_new_stream(peer, data, [V10])
            return
        async with channel.lock:
            if channel.stream is not None:
                stream = channel.stream
                try:
                    await stream.write(data)
                    return
                except BaseException as exc:
                    channel.stream = None  # dead, or holding a partial frame now
                    await _quietly("reset an outbound stream", stream.reset)
                    if isinstance(exc, Exception) and _is_network_error(exc):
                        raise _StaleStream() from exc
                    raise
            stream = await self.host.new_stream(peer, self._outbound_protocols)
            protocol = str(stream.get_protocol())
            if protocol != DIRECT_PROTOCOL_V11:
                channel.protocol = DIRECT_PROTOCOL_V10
                await self._write_and_close(stream, data)
                return
            channel.protocol = DIRECT_PROTOCOL_V11
            try:
                await stream.write(data)
            except BaseException:
                await _quietly("reset an outbound stream", stream.reset)
                raise
            if self._channels.get(peer) is channel:
                channel.stream = stream
                self._nursery_start(self._watch_outbound, peer, channel, stream)
            else:  # the peer disconnected meanwhile
                await _quietly("reset an outbound stream", stream.reset)

    async def _send_on_new_stream(self, peer: ID, data: bytes, protocols: list[TProtocol]) -> None:
        stream = await self.host.new_stream(peer, protocols)
        await self._write_and_close(stream, data)

    @staticmethod
    async def _write_and_close(stream: INetStream, data: bytes) -> None:
        try:
            await stream.write(data)
            await stream.close()
        except BaseException:
            await _quietly("reset a stream", stream.reset)
            raise

    async def _watch_outbound(self, peer: ID, channel: _Channel, stream: INetStream) -> None:
        """The peer never writes on our 1.1.0 stream: a read returns only when it closes or resets it."""
        try:
            while await stream.read(_READ_CHUNK):
                pass
        except Exception:
            pass
        if channel.stream is stream:
            channel.stream = None
        await _quietly("reset an outbound stream", stream.reset)

    # ---- receiving ----

    async def _on_inbound(self, stream: INetStream) -> None:
        protocol = str(stream.get_protocol())
        peer = stream.muxed_conn.peer_id
        peer_text = peer.to_base58()
        self.inbound_streams[protocol] += 1
        reader = _FrameReader(stream, self._max_frame_bytes)
        idle = None if protocol == DIRECT_PROTOCOL_V11 else self._frame_timeout
        try:
            while True:
                frame = await reader.next_frame(idle, self._frame_timeout)
                if frame is None:
                    break
                await self._deliver(peer_text, frame)
        except FrameTooLarge as exc:
            log.warning("refused a %d-byte frame from %s (limit %d)", exc.size, peer_text, self._max_frame_bytes)
            await _quietly("reset an inbound stream", stream.reset)
            return
        except (TruncatedFrame, trio.TooSlowError) as exc:
            log.info("dropped a truncated or stalled frame from %s: %r", peer_text, exc)
            await _quietly("reset an inbound stream", stream.reset)
            return
        except Exception as exc:
            if not _is_network_error(exc):
                raise
            log.debug("inbound stream from %s ended: %r", peer_text, exc)
            await _quietly("reset an inbound stream", stream.reset)
            return
        await _quietly("close an inbound stream", stream.close)

    async def _deliver(self, peer: str, frame: bytes) -> None:
        handler = self.frame_handler
        if handler is None:
            log.debug("no frame handler: dropped a %d-byte frame from %s", len(frame), peer)
            return
        try:
            await self._bridge.to_asyncio(handler, peer, frame)
        except EccoError as exc:
            log.info("frame from %s rejected: %s (%s)", peer, exc.message, exc.reason)
        except Exception:
            log.exception("frame handler failed on a frame from %s", peer)

    # ---- gossip ----

    def _require_pubsub(self) -> Pubsub:
        if self._pubsub is None:
            raise Unavailable("the peer-to-peer transport is not running", Reason.SHUTTING_DOWN)
        return self._pubsub

    async def publish(self, topic: str, data: bytes, timeout: float) -> None:
        pubsub = self._require_pubsub()
        assert self._publish_lock is not None
        with _mapped("publishing on", topic, subject="topic"), trio.fail_after(timeout):
            async with self._publish_lock:  # fair: publications leave in call order
                await self._pace(topic)
                await pubsub.publish(topic, data)

    async def _pace(self, topic: str) -> None:
        window = self._published.setdefault(topic, deque())
        now = trio.current_time()
        while window and window[0] <= now - 1.0:
            window.popleft()
        until = self._last_publish + PUBLISH_MIN_INTERVAL
        if len(window) >= PUBLISH_MAX_PER_TOPIC_PER_SECOND:
            until = max(until, window[0] + 1.0)
        if until > now:
            await trio.sleep_until(until)
        now = trio.current_time()
        self._last_publish = now
        window.append(now)
        if len(self._published) > _PACED_TOPICS_LIMIT:  # forget idle topics
            for name in [t for t, w in self._published.items() if not w or w[-1] <= now - 1.0]:
                del self._published[name]

    async def subscribe_all(self) -> None:
        """Subscribe to every topic that has a handler (idempotent)."""
        for topic in list(self.topic_handlers):
            await self.subscribe(topic)

    async def subscribe(self, topic: str) -> None:
        pubsub = self._require_pubsub()
        assert self._subscribe_lock is not None
        with _mapped("subscribing to", topic, subject="topic"), trio.fail_after(PUBSUB_TIMEOUT):
            async with self._subscribe_lock:
                if topic in self._subscriptions:
                    return
                subscription = await pubsub.subscribe(topic)
                buffer_send, buffer_receive = trio.open_memory_channel[tuple[str, bytes]](TOPIC_BUFFER)
                self._subscriptions[topic] = subscription
                self._nursery_start(self._drain_subscription, topic, subscription, buffer_send)
                self._nursery_start(self._dispatch_topic, topic, buffer_receive)

    async def _drain_subscription(
        self, topic: str, subscription: Any, buffer: trio.MemorySendChannel[tuple[str, bytes]]
    ) -> None:
        """Empty libp2p's 32-message subscription queue as fast as messages arrive (it drops when full), into our
        bounded buffer. This waits for messages without a deadline: it runs for the transport's lifetime."""
        own_id = self.host.get_id().to_bytes()
        async with buffer:
            while True:
                try:
                    message = await subscription.get()
                except (trio.EndOfChannel, trio.ClosedResourceError):
                    return
                if message.from_id == own_id:
                    continue  # libp2p delivers our own publications locally (emitSelf); upstream does not
                try:
                    sender = ID(message.from_id).to_base58()
                except Exception:
                    continue
                try:
                    buffer.send_nowait((sender, bytes(message.data)))
                except trio.WouldBlock:
                    self.gossip_dropped[topic] += 1
                    dropped = self.gossip_dropped[topic]
                    if dropped & (dropped - 1) == 0:  # 1, 2, 4, 8, ...: visible without flooding the log
                        log.warning("topic %s: handler too slow, %d gossip messages dropped so far", topic, dropped)

    async def _dispatch_topic(self, topic: str, buffer: trio.MemoryReceiveChannel[tuple[str, bytes]]) -> None:
        async with buffer:
            async for sender, data in buffer:
                handler = self.topic_handlers.get(topic)
                if handler is None:
                    continue
                with trio.move_on_after(TOPIC_HANDLER_TIMEOUT) as scope:
                    try:
                        await self._bridge.to_asyncio(handler, sender, data)
                    except EccoError as exc:
                        log.info("topic %s: message from %s rejected: %s (%s)", topic, sender, exc.message, exc.reason)
                    except Exception:
                        log.exception("topic %s: handler failed on a message from %s", topic, sender)
                if scope.cancelled_caught:
                    log.warning("topic %s: handler took over %.0f s and was cancelled", topic, TOPIC_HANDLER_TIMEOUT)

    async def topic_peers(self, topic: str) -> list[str]:
        pubsub = self._require_pubsub()
        return sorted(peer.to_base58() for peer in pubsub.peer_topics.get(topic, ()))

    # ---- provider records ----

    @property
    def has_dht(self) -> bool:
        return self._network_id is not None

    def _require_dht(self) -> CapabilityDht:
        if self._dht is None:
            raise Unavailable("this node runs without the DHT", Reason.FEATURE_NOT_IMPLEMENTED)
        return self._dht

    async def provide(self, keys: list[bytes], timeout: float) -> int:
        dht = self._require_dht()
        with trio.move_on_after(timeout):
            return await dht.provide(keys)
        return 0

    async def find_providers(self, key: bytes, limit: int, timeout: float) -> list[ProviderRecord]:
        dht = self._require_dht()
        with trio.move_on_after(timeout):
            return await dht.find_providers(key, limit)
        return []

    # ---- ping and peers ----

    async def ping(self, peer_text: str, timeout: float) -> float:
        peer = parse_peer_id(peer_text)
        with _mapped("pinging", peer), trio.fail_after(timeout):
            await self._ensure_connected(peer)
            return await self._ping(peer)

    async def _ping(self, peer: ID) -> float:
        stream = await self.host.new_stream(peer, [PING])
        try:
            payload = secrets.token_bytes(_PING_BYTES)
            started = time.perf_counter()
            await stream.write(payload)
            echoed = b""
            while len(echoed) < _PING_BYTES:
                chunk = await stream.read(_PING_BYTES - len(echoed))
                if not chunk:
                    break
                echoed += chunk
            rtt_ms = (time.perf_counter() - started) * 1000.0
        finally:
            await _quietly("close a ping stream", stream.close)
        if echoed != payload:
            raise _unreachable("pinging", str(peer))
        self._latency_ms[peer] = rtt_ms
        return rtt_ms

    async def _measure_latency(self, peer: ID) -> None:
        with trio.move_on_after(DEFAULT_PING_TIMEOUT):
            try:
                await self._ping(peer)
            except Exception as exc:
                log.debug("latency probe to %s failed: %r", peer, exc)

    async def peers(self) -> list[ConnectedPeer]:
        result = []
        network: Any = self.host.get_network()
        for peer, conns in list(network.get_connections_map().items()):
            live = [c for c in conns if _is_live(c)]
            if not live:
                continue
            addrs = [a for conn in live for a in _remote_addrs(conn)]
            channel = self._channels.get(peer)
            result.append(
                ConnectedPeer(
                    peer_id=peer.to_base58(),
                    addrs=tuple(dict.fromkeys(addrs)),
                    latency_ms=self._latency_ms.get(peer),
                    direct_protocol=channel.protocol if channel else None,
                    local_link=peer in self._local_link,
                )
            )
        return result


# ---------------------------------------------------------------------------------------------------------------------
# The asyncio side
# ---------------------------------------------------------------------------------------------------------------------

_QUIET_LOGGERS = ("libp2p", "multiaddr", "aioquic", "zeroconf", "async_service")
_BRIDGE_GRACE = 2.0  # asyncio-side deadline beyond the trio-side timeout, in case the trio loop is wedged


# Expected dial failures that libp2p 0.8.1 logs at ERROR (the WebSocket one with a full traceback): a dead or
# restarted peer is routine for us and surfaces as our own Unavailable error instead.
_EXPECTED_ERRORS = {
    "libp2p.transport.tcp.tcp": ("Failed to open TCP stream", "Unexpected error opening TCP stream"),
    "libp2p.transport.websocket.transport": ("Failed to connect to ws", "Connection timeout after"),
}


class _DropExpected(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self._prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(self._prefixes))


def quiet_libp2p_logs(level: int = logging.ERROR) -> None:
    """libp2p logs routine network failures as warnings or errors ("Failed to open TCP stream", "failed to upgrade
    security", "Error handling stream"). Raise its loggers to `level` unless the operator configured them, and drop
    the expected dial-failure errors."""
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level in (logging.NOTSET, logging.WARNING):  # libp2p sets WARNING itself on import
            logger.setLevel(level)
    auto_connector = logging.getLogger("libp2p.network.auto_connector")
    if auto_connector.level == logging.INFO:  # set by libp2p itself on import
        auto_connector.setLevel(level)
    for name, prefixes in _EXPECTED_ERRORS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropExpected) for f in logger.filters):
            logger.addFilter(_DropExpected(prefixes))


def _check_timeout(timeout: float) -> float:
    if not (timeout > 0 and math.isfinite(timeout)):
        raise InvalidArgument(f"timeout must be a positive number of seconds, got {timeout!r}", field="timeout")
    return float(timeout)


class Libp2pTransport:
    """The `Transport` port over py-libp2p: TCP (+ WebSocket), Noise, Yamux, identify, ping, GossipSub.

    Gossip specifics beyond the port's contract: `publish` waits as needed to keep our publications at least 10 ms
    apart and at most 25 per topic per second; each topic buffers up to 256 messages for a busy handler (drops are
    counted in `gossip_drop_counts`); a topic handler call running over 30 s is cancelled."""

    def __init__(
        self,
        identity: Identity,
        listen: Sequence[str] = DEFAULT_LISTEN,
        bootstrap: Sequence[str] = (),
        *,
        offer_v11: bool = True,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        frame_timeout: float = FRAME_READ_TIMEOUT,
        dial_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        start_timeout: float = 10.0,
        network_id: str | None = None,
        mdns: bool = False,
    ) -> None:
        """`network_id` turns on the DHT (`/ecco/kad/1.0.0/<network_id>`, provider records); `mdns` announces
        and discovers peers on the local link (it multicasts on every interface)."""
        if not listen:
            raise InvalidArgument("at least one listen address is required", Reason.INVALID_MULTIADDR, field="listen")
        for addr in listen:
            parse_multiaddr(addr, require_peer=False)
        for addr in bootstrap:
            parse_multiaddr(addr, require_peer=True)
        self._identity = identity
        self._start_timeout = start_timeout
        self._max_frame_bytes = max_frame_bytes
        self._thread = Libp2pThread(name=f"libp2p-{identity.peer_id[-8:]}")
        self._runtime = _Runtime(
            self._thread,
            identity.key_pair,
            listen,
            bootstrap,
            offer_v11=offer_v11,
            max_frame_bytes=max_frame_bytes,
            frame_timeout=frame_timeout,
            dial_timeout=dial_timeout,
            network_id=network_id,
            mdns=mdns,
        )
        self._state = "new"

    @property
    def peer_id(self) -> str:
        return self._identity.peer_id

    def listen_addrs(self) -> list[str]:
        return list(self._runtime.listen_addrs)

    @property
    def inbound_stream_counts(self) -> dict[str, int]:
        """Diagnostics: inbound direct-protocol streams accepted so far, by protocol id."""
        return dict(self._runtime.inbound_streams)

    @property
    def gossip_drop_counts(self) -> dict[str, int]:
        """Diagnostics: gossip messages dropped per topic because the topic's handler fell behind."""
        return dict(self._runtime.gossip_dropped)

    async def start(self) -> None:
        if self._state != "new":
            raise RuntimeError("a Libp2pTransport can be started once")
        self._state = "starting"
        quiet_libp2p_logs()
        try:
            await self._thread.start(self._runtime.lifetime, self._start_timeout)
        except EccoError:
            self._state = "stopped"
            raise
        except Exception as exc:
            self._state = "stopped"
            log.error("the libp2p host failed to start: %r", exc)
            raise Unavailable("the peer-to-peer transport failed to start", Reason.NODE_START_FAILED) from None
        self._state = "running"
        try:
            if self._runtime.topic_handlers:  # subscriptions made before start
                await self._thread.call(self._runtime.subscribe_all, timeout=PUBSUB_TIMEOUT + _BRIDGE_GRACE)
            await self._thread.call(self._runtime.start_local_link, timeout=MDNS_START_TIMEOUT)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._state in ("new", "stopped"):
            self._state = "stopped"
            return
        self._state = "stopped"
        await self._thread.stop()

    def set_handler(self, handler: FrameHandler | None) -> None:
        self._runtime.frame_handler = handler

    def set_connection_handler(self, handler: ConnectionHandler | None) -> None:
        self._runtime.connection_handler = handler

    def _require_running(self) -> None:
        if self._state != "running":
            reason = Reason.SHUTTING_DOWN if self._state == "stopped" else Reason.NODE_NOT_RUNNING
            raise Unavailable("the peer-to-peer transport is not running", reason)

    async def _run(self, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float) -> T:
        """`await fn(*args, timeout)` on the libp2p thread, once running; the bridge gives up a grace period later."""
        self._require_running()
        return await self._thread.call(fn, *args, timeout, timeout=timeout + _BRIDGE_GRACE)

    async def connect(self, multiaddr: str, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> str:
        timeout = _check_timeout(timeout)
        parse_multiaddr(multiaddr, require_peer=True)
        return await self._run(self._runtime.connect, multiaddr, timeout=timeout)

    async def disconnect(self, peer_id: str, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> None:
        timeout = _check_timeout(timeout)
        parse_peer_id(peer_id)
        await self._run(self._runtime.disconnect, peer_id, timeout=timeout)

    async def send(self, peer_id: str, frame: bytes, timeout: float = DEFAULT_SEND_TIMEOUT) -> None:
        timeout = _check_timeout(timeout)
        parse_peer_id(peer_id)
        # Keep prefix + body within the limit: upstream counts the whole stream against its 10 MiB.
        if framed_size(len(frame)) > self._max_frame_bytes:
            raise InvalidArgument(
                f"frame of {len(frame)} bytes exceeds the {self._max_frame_bytes}-byte limit",
                Reason.MESSAGE_TOO_LARGE,
            )
        await self._run(self._runtime.send, peer_id, bytes(frame), timeout=timeout)

    async def ping(self, peer_id: str, timeout: float = DEFAULT_PING_TIMEOUT) -> float:
        timeout = _check_timeout(timeout)
        parse_peer_id(peer_id)
        return await self._run(self._runtime.ping, peer_id, timeout=timeout)

    async def peers(self) -> list[ConnectedPeer]:
        self._require_running()
        return await self._thread.call(self._runtime.peers, timeout=DEFAULT_SEND_TIMEOUT)

    # ---- gossip ----

    async def publish(self, topic: str, data: bytes, timeout: float = DEFAULT_PUBLISH_TIMEOUT) -> None:
        validate_topic(topic)
        timeout = _check_timeout(timeout)
        if len(data) > MAX_PUBLISH_BYTES:
            raise InvalidArgument(
                f"gossip message of {len(data)} bytes exceeds the {MAX_PUBLISH_BYTES}-byte limit",
                Reason.MESSAGE_TOO_LARGE,
                field="data",
            )
        await self._run(self._runtime.publish, topic, bytes(data), timeout=timeout)

    def subscribe(self, topic: str, handler: TopicHandler) -> None:
        validate_topic(topic)
        if self._state == "stopped":
            raise Unavailable("the peer-to-peer transport is not running", Reason.SHUTTING_DOWN)
        self._runtime.topic_handlers[topic] = handler
        if self._state == "running":  # before that, start() subscribes; subscribing again is a no-op
            future = self._thread.submit(self._runtime.subscribe, topic)
            future.add_done_callback(functools.partial(_log_subscribe_failure, topic))

    async def topic_peers(self, topic: str) -> list[str]:
        validate_topic(topic)
        self._require_running()
        return await self._thread.call(self._runtime.topic_peers, topic, timeout=DEFAULT_SEND_TIMEOUT)

    # ---- provider records (ProviderRouting) ----

    @property
    def has_dht(self) -> bool:
        return self._runtime.has_dht

    async def provide(self, keys: list[bytes], timeout: float = DEFAULT_PUBLISH_TIMEOUT) -> int:
        timeout = _check_timeout(timeout)
        return await self._run(self._runtime.provide, list(keys), timeout=timeout)

    async def find_providers(self, key: bytes, limit: int, timeout: float) -> list[ProviderRecord]:
        timeout = _check_timeout(timeout)
        if limit < 1:
            raise InvalidArgument(f"limit must be at least 1, got {limit}", field="limit")
        return await self._run(self._runtime.find_providers, bytes(key), limit, timeout=timeout)


def _log_subscribe_failure(topic: str, future: asyncio.Future[None]) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        log.warning("subscribing to topic %s failed: %s", topic, exc)
