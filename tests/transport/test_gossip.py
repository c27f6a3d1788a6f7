"""GossipSub publish/subscribe over real py-libp2p transports on 127.0.0.1 (each with its own trio thread).

Gossip is best effort: a message published before the subscription announcements and the mesh (about one heartbeat,
1 s) have reached a peer may be lost. So a test first *warms up*: it publishes numbered warm-up messages, waiting a
bounded time after each, until one has reached every peer under test; only then does it check what it is about.
Nothing here sleeps to wait for a delivery: every wait is on an inbox, bounded by `asyncio.wait_for`.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Callable

import pytest

from ecco.errors import InvalidArgument, Reason, Unavailable
from ecco.services.transport_port import (
    MAX_PUBLISH_BYTES,
    TOPIC_CAPABILITIES,
    TOPIC_CAPABILITY_REQUEST,
    TOPIC_REPUTATION_FILTERS,
    Transport,
    validate_topic,
)
from ecco.transport.libp2p import Libp2pTransport
from tests.transport.conftest import LOOPBACK, WAIT, Factory, new_identity

pytestmark = pytest.mark.timeout(30)

TOPIC = TOPIC_CAPABILITIES
WARM_UP_STEP = 0.25  # seconds to wait for a warm-up message before publishing the next one


def tcp_addr(transport: Libp2pTransport) -> str:
    return next(a for a in transport.listen_addrs() if "/ws" not in a)


class TopicInbox:
    """A topic handler that records (sender, data, arrival time) and lets tests wait for what they expect."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, float]] = []
        self._changed = asyncio.Condition()

    async def __call__(self, sender: str, data: bytes) -> None:
        async with self._changed:
            self.messages.append((sender, data, time.perf_counter()))
            self._changed.notify_all()

    def payloads(self) -> list[bytes]:
        return [data for _, data, _ in self.messages]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout)

    async def get(self, data: bytes, timeout: float = WAIT) -> tuple[str, float]:
        """Wait for the message carrying `data`; return its sender and arrival time."""
        await self.wait_until(lambda: data in self.payloads(), timeout)
        return next((sender, at) for sender, got, at in self.messages if got == data)


async def warm_up(publisher: Transport, topic: str, *inboxes: TopicInbox) -> None:
    """Publish warm-up messages until one has reached every inbox (see the module docstring); bounded by 3 x WAIT."""

    def everyone_warm() -> bool:
        return all(any(d.startswith(b"warm-up ") for d in inbox.payloads()) for inbox in inboxes)

    async def loop() -> None:
        attempt = 0
        while not everyone_warm():
            attempt += 1
            await publisher.publish(topic, b"warm-up %d" % attempt)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(i.wait_until(everyone_warm) for i in inboxes)), WARM_UP_STEP)

    await asyncio.wait_for(loop(), 3 * WAIT)


@pytest.fixture
async def line(make_transport: Factory) -> tuple[Libp2pTransport, Libp2pTransport, Libp2pTransport]:
    """A - B - C: A is connected to B and B to C (A and C are not connected)."""
    a, b, c = await make_transport(), await make_transport(), await make_transport()
    await a.connect(tcp_addr(b))
    await b.connect(tcp_addr(c))
    return a, b, c


@pytest.fixture
async def unstarted() -> AsyncIterator[Callable[[], Libp2pTransport]]:
    """Libp2pTransports built but not started (started by the test if it needs to); all stopped at teardown."""
    made: list[Libp2pTransport] = []

    def make() -> Libp2pTransport:
        transport = Libp2pTransport(new_identity(), LOOPBACK)
        made.append(transport)
        return transport

    yield make
    await asyncio.gather(*(t.stop() for t in made), return_exceptions=True)


async def test_a_publication_crosses_two_hops_and_is_not_delivered_back(line) -> None:
    a, b, c = line
    inbox_a, inbox_b, inbox_c = TopicInbox(), TopicInbox(), TopicInbox()
    for transport, inbox in ((a, inbox_a), (b, inbox_b), (c, inbox_c)):
        transport.subscribe(TOPIC, inbox)
    await warm_up(a, TOPIC, inbox_b, inbox_c)

    await a.publish(TOPIC, b"hello")
    assert (await inbox_b.get(b"hello"))[0] == a.peer_id
    assert (await inbox_c.get(b"hello"))[0] == a.peer_id  # the origin, although B forwarded it

    # Causal barrier instead of a sleep: a topic's messages reach its handler in arrival order, and had A's own
    # publications come back to A they would have been queued before this later message from B.
    await b.publish(TOPIC, b"from B")
    await inbox_a.get(b"from B")
    assert inbox_a.payloads() == [b"from B"]
    assert (await inbox_c.get(b"from B"))[0] == b.peer_id

    assert await a.topic_peers(TOPIC) == [b.peer_id]
    assert sorted(await b.topic_peers(TOPIC)) == sorted([a.peer_id, c.peer_id])
    assert await c.topic_peers(TOPIC) == [b.peer_id]
    assert await a.topic_peers(TOPIC_REPUTATION_FILTERS) == []
    assert a.gossip_drop_counts == b.gossip_drop_counts == c.gossip_drop_counts == {}


async def test_one_and_two_hop_latency(line) -> None:
    """Measured from the publish call to the subscriber's handler, one message in flight at a time."""
    a, b, c = line
    inbox_b, inbox_c = TopicInbox(), TopicInbox()
    b.subscribe(TOPIC, inbox_b)
    c.subscribe(TOPIC, inbox_c)
    await warm_up(a, TOPIC, inbox_b, inbox_c)

    one_hop, two_hops = [], []
    for i in range(15):
        data = b"timed %d" % i
        started = time.perf_counter()
        await a.publish(TOPIC, data)
        one_hop.append((await inbox_b.get(data))[1] - started)
        two_hops.append((await inbox_c.get(data))[1] - started)
    ms = {"1 hop": statistics.median(one_hop) * 1000, "2 hops": statistics.median(two_hops) * 1000}
    print(f"gossip latency, median of 15: {ms['1 hop']:.1f} ms (1 hop), {ms['2 hops']:.1f} ms (2 hops)")
    assert ms["1 hop"] < 250 and ms["2 hops"] < 500  # loose: loopback medians are ~10 ms


async def test_subscribing_before_and_after_start(make_transport: Factory, unstarted) -> None:
    early = unstarted()
    before = TopicInbox()
    early.subscribe(TOPIC, before)  # before start: the subscription begins with the transport
    await early.start()
    publisher = await make_transport()
    await publisher.connect(tcp_addr(early))
    await warm_up(publisher, TOPIC, before)
    await publisher.publish(TOPIC, b"to an early subscriber")
    assert (await before.get(b"to an early subscriber"))[0] == publisher.peer_id

    after = TopicInbox()
    early.subscribe(TOPIC_CAPABILITY_REQUEST, after)  # while running: announced in the background
    await warm_up(publisher, TOPIC_CAPABILITY_REQUEST, after)
    await publisher.publish(TOPIC_CAPABILITY_REQUEST, b"to a late subscriber")
    assert (await after.get(b"to a late subscriber"))[0] == publisher.peer_id

    replacement = TopicInbox()
    early.subscribe(TOPIC, replacement)  # a second subscribe replaces the handler
    await publisher.publish(TOPIC, b"to the replacement")
    await replacement.get(b"to the replacement")
    assert b"to the replacement" not in before.payloads()


@pytest.mark.parametrize("count", [20, 60])
async def test_a_burst_arrives_complete_at_a_direct_neighbour(make_transport: Factory, count: int) -> None:
    """Publishes back to back: the transport paces them (>= 10 ms apart, <= 25 per topic per second), which keeps
    them clear of libp2p's silent drop points (32-RPC peer queues, 50 messages per topic per second from one peer).
    Unpaced, 60 publications exceed libp2p's 50-per-second limit and some vanish silently; paced, 20 take about
    0.2 s and 60 about 2.1 s."""
    a, b = await make_transport(), await make_transport()
    inbox = TopicInbox()
    b.subscribe(TOPIC, inbox)
    await a.connect(tcp_addr(b))
    await warm_up(a, TOPIC, inbox)

    burst = [b"burst %02d" % i for i in range(count)]
    started = time.perf_counter()
    for data in burst:
        await a.publish(TOPIC, data)
    await inbox.wait_until(lambda: set(burst) <= set(inbox.payloads()))
    print(f"{count} paced publications delivered in {(time.perf_counter() - started) * 1000:.0f} ms")
    assert all(sender == a.peer_id for sender, data, _ in inbox.messages if data in burst)
    assert b.gossip_drop_counts == {}


async def test_invalid_topics_are_rejected(make_transport: Factory, unstarted) -> None:
    running, idle = await make_transport(), unstarted()
    bad_topics = ["", "ecco/transport/v1", "a b", "x" * 257, "topic\n", "caf\u00e9", None, b"ecco:capabilities"]

    async def ignore(sender: str, data: bytes) -> None:
        pass

    for topic in bad_topics:
        for transport in (running, idle):
            with pytest.raises(InvalidArgument) as caught:
                await transport.publish(topic, b"x")  # type: ignore[arg-type]
            assert (caught.value.reason, caught.value.field) == (Reason.INVALID_ARGUMENT, "topic")
            with pytest.raises(InvalidArgument) as caught:
                await transport.topic_peers(topic)  # type: ignore[arg-type]
            assert (caught.value.reason, caught.value.field) == (Reason.INVALID_ARGUMENT, "topic")
            with pytest.raises(InvalidArgument) as caught:
                transport.subscribe(topic, ignore)  # type: ignore[arg-type]
            assert (caught.value.reason, caught.value.field) == (Reason.INVALID_ARGUMENT, "topic")
    for good in ("x" * 256, "a", TOPIC_CAPABILITY_REQUEST, "peer:12D3KooWabc", "Under_score-dash:9"):
        assert validate_topic(good) == good


async def test_publishing_without_peers_does_not_raise(make_transport: Factory, unstarted) -> None:
    lone = await make_transport()
    lone.subscribe(TOPIC, TopicInbox())
    await lone.publish(TOPIC, b"nobody is listening")  # subscribed ourselves, no peers
    await lone.publish(TOPIC_REPUTATION_FILTERS, b"nor here")  # not even subscribed
    await lone.publish(TOPIC, b"x" * MAX_PUBLISH_BYTES)
    assert await lone.topic_peers(TOPIC) == []

    with pytest.raises(InvalidArgument) as caught:
        await lone.publish(TOPIC, b"x" * (MAX_PUBLISH_BYTES + 1))
    assert caught.value.reason == Reason.MESSAGE_TOO_LARGE

    idle = unstarted()
    with pytest.raises(Unavailable) as caught:
        await idle.publish(TOPIC, b"too early")
    assert caught.value.reason == Reason.NODE_NOT_RUNNING
    await lone.stop()
    with pytest.raises(Unavailable) as caught:
        await lone.publish(TOPIC, b"too late")
    assert caught.value.reason == Reason.SHUTTING_DOWN
    with pytest.raises(Unavailable):
        lone.subscribe(TOPIC, TopicInbox())


async def test_stop_is_clean_while_a_handler_is_running(make_transport: Factory) -> None:
    a, b = await make_transport(), await make_transport()
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(sender: str, data: bytes) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    b.subscribe(TOPIC, stuck)
    await a.connect(tcp_addr(b))

    async def publish_until_entered() -> None:
        attempt = 0
        while not entered.is_set():
            attempt += 1
            await a.publish(TOPIC, b"attempt %d" % attempt)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entered.wait(), WARM_UP_STEP)

    await asyncio.wait_for(publish_until_entered(), 3 * WAIT)
    await asyncio.wait_for(b.stop(), WAIT)
    await asyncio.wait_for(cancelled.wait(), WAIT)  # the stuck handler was cancelled, not leaked
    await a.publish(TOPIC, b"the peer is gone")  # still best effort, no error
