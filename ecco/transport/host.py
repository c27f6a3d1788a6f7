"""The libp2p host in its trio thread: start-up and lifetime, dialing, connection events, ping and peers.

`HostRuntime` lives entirely in the trio thread of a `Libp2pThread` (`ecco.transport.trio_bridge`, the only module
crossing the thread boundary). It owns the host and the parts built on it: the /ecco/direct protocols
(`ecco.transport.direct`), gossip (`ecco.transport.pubsub`), the DHT (`ecco.transport.dht`) and mDNS
(`ecco.transport.mdns`).

The safe recipe and the workarounds applied here (libp2p-notes §4, §5):
- Noise is the only security transport (the default set also offers /plaintext/2.0.0, §5.2); Yamux only.
- `ConnectionConfig(max_connections_per_peer=1)` removes the 250 ms happy-eyeballs wait on every dial (§5.1).
- TCP and WebSocket transports are both registered, whatever we listen on, so both kinds of peer can be dialled (§5.3).
- Before (re)connecting to a peer that is not connected, its dial-failure cache entry and stale addresses are
  dropped, so a peer that restarted on a new port is reachable again at once (§5.5).
- Every libp2p await on a caller's behalf runs under `trio.fail_after` (frame reads are bounded per frame; only the
  idle wait on a long-lived 1.1.0 stream is not); libp2p's own mDNS, UPnP and bootstrap wiring stay off (bootstrap
  addresses are dialled by us, in the background, after start; mDNS, when asked for, runs in `mdns` once the host is
  up; the DHT with its network-scoped protocol id in `dht`).
- Not in the notes: the swarm's auto-connector (which redials every known peer while fewer than 100 connections are
  open) is never started; a listen address that cannot be bound fails start() (libp2p only logs it), and so does a
  fixed port another node already serves (libp2p binds with SO_REUSEPORT, which would let both run and split the
  inbound connections).

At about 500 lines this is the largest module: start-up, dialing and connection state share the host's state and
read best together; everything that only uses the host (direct messages, gossip, DHT, mDNS) lives elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

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
from libp2p.host.ping import ID as PING_PROTOCOL_ID
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.tools.anyio_service import background_trio_service
from libp2p.transport.websocket.transport import WebsocketTransport
from multiaddr.utils import get_network_addrs

from ecco.errors import EccoError, InvalidArgument, NotFound, Reason, Unavailable
from ecco.services.transport_port import DEFAULT_PING_TIMEOUT, ConnectedPeer, ConnectionHandler, ProviderRecord
from ecco.transport.addresses import parse_multiaddr, parse_peer_id
from ecco.transport.dht import CapabilityDht
from ecco.transport.direct import DirectProtocol
from ecco.transport.failures import is_network_error, mapped, quietly, unreachable
from ecco.transport.framing import InboundLimits
from ecco.transport.mdns import LocalLinkDiscovery
from ecco.transport.pubsub import PUBSUB_TIMEOUT, Gossip, build_gossip
from ecco.transport.trio_bridge import Libp2pThread

log = logging.getLogger(__name__)

PING = TProtocol(PING_PROTOCOL_ID)
CONNECTED_CHECK_TIMEOUT = 2.0
KNOWN_ADDRS_LIMIT = 10_000
_PING_BYTES = 32
_EVENT_QUEUE = 1024


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


async def _never() -> None:
    pass


class _Notifee(INotifee):
    def __init__(self, runtime: HostRuntime) -> None:
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


class HostRuntime:
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
        inbound_limits: InboundLimits | None,
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
        self._dial_timeout = dial_timeout
        self.connection_handler: ConnectionHandler | None = None
        self.listen_addrs: list[str] = []
        self._host: IHost | None = None
        self._nursery: trio.Nursery | None = None
        self._latency_ms: dict[ID, float] = {}
        self._known_addrs: dict[ID, list[multiaddr.Multiaddr]] = {}
        self._connected: set[ID] = set()
        self._events: trio.MemorySendChannel[tuple[str, bool]] | None = None
        self.direct = DirectProtocol(
            bridge,
            self,
            offer_v11=offer_v11,
            max_frame_bytes=max_frame_bytes,
            frame_timeout=frame_timeout,
            limits=inbound_limits,
        )
        self.gossip = Gossip(bridge, self.spawn)

    @property
    def host(self) -> IHost:
        assert self._host is not None, "the host is not running"
        return self._host

    def spawn(self, fn: Any, *args: Any) -> None:
        """Start `fn(*args)` in the host's nursery; dropped when the host is not running or is stopping."""
        if self._nursery is not None:
            with contextlib.suppress(RuntimeError):
                self._nursery.start_soon(fn, *args)

    # ---- start-up and lifetime ----

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
        for protocol in self.direct.inbound_protocols:
            host.set_stream_handler(protocol, self.direct.handle_inbound)
        network.register_notifee(_Notifee(self))
        return host

    @asynccontextmanager
    async def lifetime(self) -> AsyncIterator[None]:
        _check_ports_free(self._listen)
        self._host = self._build_host()
        pubsub, router = build_gossip(self._host)
        self.gossip.prepare()
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
                self.gossip.attach(pubsub, self.host.get_id())
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
                    await self.direct.close()
        finally:
            self._dht = None
            self._services = None
            self._nursery = None
            self._events = None
            self.gossip.detach()
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

    def is_connected(self, peer: ID) -> bool:
        return bool(self._live_connections(peer))

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
        with mapped("connecting to", peer), trio.fail_after(timeout):
            self._remember(peer, info.addrs)
            check = min(timeout / 2, CONNECTED_CHECK_TIMEOUT)
            if self._live_connections(peer) and await self._answers_ping(peer, check):
                return peer.to_base58()
            await self._dial(info)
        self.spawn(self._measure_latency, peer)
        return peer.to_base58()

    async def _answers_ping(self, peer: ID, timeout: float) -> bool:
        """Whether an open connection still works: right after a peer stops, its connection looks open for a few
        milliseconds, and connect() must not mistake it for a live one."""
        with trio.move_on_after(timeout):
            try:
                await self._ping(peer)
                return True
            except Exception as exc:
                if not is_network_error(exc):
                    raise
                log.debug("the open connection to %s does not answer (%r)", peer, exc)
        return False

    async def _dial(self, info: PeerInfo) -> None:
        """Dial a peer that has no live connection, at exactly `info.addrs` (libp2p-notes §5.5)."""
        network: Any = self.host.get_network()
        await self._forget_dead_connections(info.peer_id)
        self.direct.drop_channel(info.peer_id)
        network.unblock_peer(info.peer_id)
        self.host.get_peerstore().clear_addrs(info.peer_id)
        await self.host.connect(info)

    async def ensure_connected(self, peer: ID) -> None:
        """Dial `peer` at the addresses we know for it, unless a live connection exists."""
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
        self.direct.drop_channel(peer)
        with mapped("disconnecting from", peer), trio.fail_after(timeout):
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
                self.spawn(self._dht.peer_connected, peer)
        else:
            self._connected.discard(peer)
            self.direct.drop_channel(peer)
            self._latency_ms.pop(peer, None)
            if self._dht is not None:
                self._dht.peer_disconnected(peer)
        if self._events is not None:
            try:
                self._events.send_nowait((peer.to_base58(), live))
            except (trio.WouldBlock, trio.ClosedResourceError):
                log.warning("connection event for %s dropped", peer)

    async def _pump_connection_events(self, events: trio.MemoryReceiveChannel[tuple[str, bool]]) -> None:
        async for peer, connected in events:
            handler = self.connection_handler
            if handler is None:
                continue
            try:
                await self._bridge.to_asyncio(handler, peer, connected)
            except Exception as exc:
                log.warning("connection handler failed for %s: %r", peer, exc)

    # ---- local link (mDNS) ----

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
            self.spawn(self._dial_local_link, info)

    async def _dial_local_link(self, info: PeerInfo) -> None:
        with trio.move_on_after(self._dial_timeout):
            try:
                self._remember(info.peer_id, info.addrs)
                await self._dial(info)
                await self._measure_latency(info.peer_id)
            except Exception as exc:
                log.info("could not dial %s found on the local link: %r", info.peer_id, exc)

    # ---- provider records (DHT) ----

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
        with mapped("pinging", peer), trio.fail_after(timeout):
            await self.ensure_connected(peer)
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
            await quietly("close a ping stream", stream.close)
        if echoed != payload:
            raise unreachable("pinging", str(peer))
        self._latency_ms[peer] = rtt_ms
        return rtt_ms

    async def _measure_latency(self, peer: ID) -> None:
        with trio.move_on_after(DEFAULT_PING_TIMEOUT):
            try:
                await self._ping(peer)
            except Exception as exc:
                log.debug("latency probe to %s failed: %r", peer, exc)

    def _listen_addrs(self, peer: Any) -> tuple[str, ...]:
        """The peerstore's addresses of `peer`: what identify reported and what we dialled (inbound source ports
        are never added there)."""
        with contextlib.suppress(Exception):
            suffix = f"/p2p/{peer.to_base58()}"
            addrs = (str(a) for a in self.host.get_peerstore().addrs(peer))
            addrs = (a for a in addrs if not a.startswith(("/ip4/0.0.0.0/", "/ip6/::/")))  # wildcards: not dialable
            return tuple(dict.fromkeys(a if a.endswith(suffix) else a + suffix for a in addrs))
        return ()

    async def peers(self) -> list[ConnectedPeer]:
        result = []
        network: Any = self.host.get_network()
        for peer, conns in list(network.get_connections_map().items()):
            live = [c for c in conns if _is_live(c)]
            if not live:
                continue
            addrs = [a for conn in live for a in _remote_addrs(conn)]
            result.append(
                ConnectedPeer(
                    peer_id=peer.to_base58(),
                    addrs=tuple(dict.fromkeys(addrs)),
                    latency_ms=self._latency_ms.get(peer),
                    direct_protocol=self.direct.protocol_for(peer),
                    local_link=peer in self._local_link,
                    listen_addrs=self._listen_addrs(peer),
                )
            )
        return result
