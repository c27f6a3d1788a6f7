"""Gossip: GossipSub built and run safely, our publications paced, subscriptions drained and dispatched (trio side).

GossipSub v1.2/v1.1/v1.0 with strict message signing, emitSelf off (our own publications are filtered out before any
handler) and publishing to zero topic peers allowed (libp2p-notes §5.4, upstream §4.5). Its silent drop points are
handled as follows:
- heartbeat every 1 s (first after 0.1 s) instead of 120 s, so meshes form and heal within about a second;
- receivers accept up to 50 messages per second per (forwarding peer, topic) instead of 10;
- our own publications are paced (at least 10 ms apart, at most 25 per topic in any second), which keeps them under
  the receivers' limit, under the limit py-libp2p applies to our own publications, and within the 32-RPC outbound
  queue per peer;
- each subscription's 32-message libp2p queue is drained at once by a dedicated trio task into our own bounded
  buffer (drops there are counted), and a second task per topic hands the messages to the asyncio handler.
Peer exchange (PX) records in PRUNE messages are ignored, like the swarm's auto-connector: which peers to dial is the
daemon's decision.

`Gossip` is owned by the host runtime (`ecco.transport.host`), which builds and runs the services and hands it the
running `Pubsub` with `attach`.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import trio
from libp2p.abc import IHost
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID as GOSSIPSUB_V10
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11 as GOSSIPSUB_V11
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V12 as GOSSIPSUB_V12
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from ecco.errors import EccoError, Reason, Unavailable
from ecco.services.transport_port import TopicHandler
from ecco.transport.failures import mapped
from ecco.transport.trio_bridge import Libp2pThread

log = logging.getLogger(__name__)

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
PUBSUB_TIMEOUT = 5.0
"""Bound on pubsub start-up and on subscribing (both are local work plus queued announcements)."""
TOPIC_BUFFER = 256
"""Messages buffered per topic between the libp2p subscription queue and a busy handler; beyond it they are dropped."""
_PACED_TOPICS_LIMIT = 1024
TOPIC_HANDLER_TIMEOUT = 30.0
"""A topic handler still running after this long is cancelled (and logged), so one stuck call cannot stall a topic."""


class _GossipSub(GossipSub):
    """GossipSub that ignores peer exchange: a PRUNE carrying PX records would make libp2p dial those peers."""

    async def _do_px(self, px_peers: list[rpc_pb2.PeerInfo]) -> None:
        if px_peers:
            log.debug("ignored %d peer-exchange records", len(px_peers))


def build_gossip(host: IHost) -> tuple[Pubsub, GossipSub]:
    """The pubsub service and its router, both to be run as services for the host's lifetime."""
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


class Gossip:
    """Publishes, subscribes and dispatches topic messages to their asyncio handlers. Every method but the
    constructor runs in the trio thread; `topic_handlers` is written by the asyncio side (plain dict stores)."""

    def __init__(self, bridge: Libp2pThread, spawn: Callable[..., None]) -> None:
        """`spawn(fn, *args)` starts a task in the host's nursery (dropped once the host is stopping)."""
        self._bridge = bridge
        self._spawn = spawn
        self.topic_handlers: dict[str, TopicHandler] = {}
        self.dropped: Counter[str] = Counter()
        self._pubsub: Pubsub | None = None
        self._own_id = b""
        self._subscriptions: dict[str, Any] = {}
        self._subscribe_lock: trio.Lock | None = None
        self._publish_lock: trio.Lock | None = None
        self._last_publish = -math.inf
        self._published: dict[str, deque[float]] = {}

    def prepare(self) -> None:
        """Called as the host starts, before the pubsub services run."""
        self._subscribe_lock, self._publish_lock = trio.Lock(), trio.Lock()

    def attach(self, pubsub: Pubsub, own_id: ID) -> None:
        """The pubsub service is ready: publishing and subscribing work from now on."""
        self._own_id = own_id.to_bytes()
        self._pubsub = pubsub

    def detach(self) -> None:
        """The host stopped (its nursery, and with it every drain and dispatch task, is gone)."""
        self._pubsub = None
        self._subscriptions.clear()

    def _require_pubsub(self) -> Pubsub:
        if self._pubsub is None:
            raise Unavailable("the peer-to-peer transport is not running", Reason.SHUTTING_DOWN)
        return self._pubsub

    async def publish(self, topic: str, data: bytes, timeout: float) -> None:
        pubsub = self._require_pubsub()
        assert self._publish_lock is not None
        with mapped("publishing on", topic, subject="topic"), trio.fail_after(timeout):
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
        with mapped("subscribing to", topic, subject="topic"), trio.fail_after(PUBSUB_TIMEOUT):
            async with self._subscribe_lock:
                if topic in self._subscriptions:
                    return
                subscription = await pubsub.subscribe(topic)
                buffer_send, buffer_receive = trio.open_memory_channel[tuple[str, bytes]](TOPIC_BUFFER)
                self._subscriptions[topic] = subscription
                self._spawn(self._drain_subscription, topic, subscription, buffer_send)
                self._spawn(self._dispatch_topic, topic, buffer_receive)

    async def _drain_subscription(
        self, topic: str, subscription: Any, buffer: trio.MemorySendChannel[tuple[str, bytes]]
    ) -> None:
        """Empty libp2p's 32-message subscription queue as fast as messages arrive (it drops when full), into our
        bounded buffer. This waits for messages without a deadline: it runs for the transport's lifetime."""
        own_id = self._own_id
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
                    self.dropped[topic] += 1
                    dropped = self.dropped[topic]
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
