"""The libp2p implementation of the Transport port: `Libp2pTransport`, the asyncio-facing object.

It checks every argument on the asyncio side, then runs the work in `HostRuntime` (`ecco.transport.host`), which lives
entirely in the trio thread of a `Libp2pThread` (`ecco.transport.trio_bridge`, the only module crossing the thread
boundary): only `str`, `bytes`, numbers and our frozen dataclasses go back and forth, and every libp2p failure becomes
an `ecco.errors` exception there. See `ecco.transport` for where each part of the adapter lives.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ecco.errors import EccoError, InvalidArgument, Reason, Unavailable
from ecco.identity import Identity
from ecco.services.transport_port import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_LISTEN,
    DEFAULT_PING_TIMEOUT,
    DEFAULT_PUBLISH_TIMEOUT,
    DEFAULT_SEND_TIMEOUT,
    MAX_FRAME_BYTES,
    MAX_PUBLISH_BYTES,
    ConnectedPeer,
    ConnectionHandler,
    FrameHandler,
    OverloadHandler,
    ProviderRecord,
    TopicHandler,
    validate_topic,
)
from ecco.transport.addresses import parse_multiaddr, parse_peer_id
from ecco.transport.framing import FRAME_READ_TIMEOUT, InboundLimits, framed_size
from ecco.transport.host import HostRuntime
from ecco.transport.logs import quiet_libp2p_logs
from ecco.transport.mdns import START_TIMEOUT as MDNS_START_TIMEOUT
from ecco.transport.pubsub import PUBSUB_TIMEOUT
from ecco.transport.trio_bridge import Libp2pThread

log = logging.getLogger(__name__)
T = TypeVar("T")

_BRIDGE_GRACE = 2.0  # asyncio-side deadline beyond the trio-side timeout, in case the trio loop is wedged


def _check_timeout(timeout: float) -> float:
    if not (timeout > 0 and math.isfinite(timeout)):
        raise InvalidArgument(
            f"timeout must be a positive number of seconds, got {timeout!r}", Reason.INVALID_ARGUMENT, field="timeout"
        )
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
        inbound_limits: InboundLimits | None = None,
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
        self._runtime = HostRuntime(
            self._thread,
            identity.key_pair,
            listen,
            bootstrap,
            offer_v11=offer_v11,
            max_frame_bytes=max_frame_bytes,
            frame_timeout=frame_timeout,
            inbound_limits=inbound_limits,
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
        return dict(self._runtime.direct.inbound_streams)

    @property
    def gossip_drop_counts(self) -> dict[str, int]:
        """Diagnostics: gossip messages dropped per topic because the topic's handler fell behind."""
        return dict(self._runtime.gossip.dropped)

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
            if self._runtime.gossip.topic_handlers:  # subscriptions made before start
                await self._thread.call(self._runtime.gossip.subscribe_all, timeout=PUBSUB_TIMEOUT + _BRIDGE_GRACE)
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
        self._runtime.direct.frame_handler = handler

    def set_connection_handler(self, handler: ConnectionHandler | None) -> None:
        self._runtime.connection_handler = handler

    def set_overload_handler(self, handler: OverloadHandler | None) -> None:
        self._runtime.direct.overload_handler = handler

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
        await self._run(self._runtime.direct.send, peer_id, bytes(frame), timeout=timeout)

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
        await self._run(self._runtime.gossip.publish, topic, bytes(data), timeout=timeout)

    def subscribe(self, topic: str, handler: TopicHandler) -> None:
        validate_topic(topic)
        if self._state == "stopped":
            raise Unavailable("the peer-to-peer transport is not running", Reason.SHUTTING_DOWN)
        self._runtime.gossip.topic_handlers[topic] = handler
        if self._state == "running":  # before that, start() subscribes; subscribing again is a no-op
            future = self._thread.submit(self._runtime.gossip.subscribe, topic)
            future.add_done_callback(functools.partial(_log_subscribe_failure, topic))

    async def topic_peers(self, topic: str) -> list[str]:
        validate_topic(topic)
        self._require_running()
        return await self._thread.call(self._runtime.gossip.topic_peers, topic, timeout=DEFAULT_SEND_TIMEOUT)

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
