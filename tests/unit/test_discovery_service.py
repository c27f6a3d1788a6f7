"""Phased discovery (upstream-ecco §7.3, §7.4) over an in-memory gossip network: phase order, stopping at
min_peers, the skipped internet phase, proximity by latency, the local gossip query, ranking and bad options."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from ecco.api.convert import discovery_options_from_pb, discovery_result_to_pb
from ecco.errors import InvalidArgument, NotFound, Reason, Unavailable
from ecco.parsing import DiscoveryOptions, DiscoveryPhase, Tier
from ecco.services.discovery import announcements
from ecco.services.discovery.bloom import ReputationFilter, build_local_filters, sign_filter
from ecco.services.discovery.matching import CapabilityQuery
from ecco.services.discovery.service import (
    DHT_UNAVAILABLE,
    Discovery,
    DiscoveryResult,
    PhaseProgress,
    PhaseState,
)
from ecco.services.envelope import Message, now_ms
from ecco.services.transport_port import (
    TOPIC_CAPABILITIES,
    TOPIC_CAPABILITY_REQUEST,
    TOPIC_REPUTATION_FILTERS,
    ConnectedPeer,
    ProviderRecord,
    ProviderRouting,
    TopicHandler,
)
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier
from ecco.v1 import common_pb2

P = DiscoveryPhase
S = PhaseState
TIMEOUT = 10  # a bound on each test's discovery; never reached when things work


@dataclass
class GossipTransport:
    """Gossip reaches every node of the network at once (a mesh that never drops); `links` are the open
    connections with their measured round trip. A node with `announces` off is only heard when it answers a
    capability request."""

    peer_id: str
    network: dict[str, GossipTransport]
    links: dict[str, float | None] = field(default_factory=dict)
    topics: dict[str, TopicHandler] = field(default_factory=dict)
    announces: bool = True
    peers_error: Exception | None = None
    local_link: set[str] = field(default_factory=set)
    answers_ping: dict[str, float] = field(default_factory=dict)
    """Round trips a ping would measure now (peers not listed do not answer)."""

    def listen_addrs(self) -> list[str]:
        return [f"/ip4/127.0.0.1/tcp/4001/p2p/{self.peer_id}"]

    def subscribe(self, topic: str, handler: TopicHandler) -> None:
        self.topics[topic] = handler

    async def publish(self, topic: str, data: bytes, timeout: float = 10.0) -> None:
        if topic == TOPIC_CAPABILITIES and not self.announces:
            return
        for other in list(self.network.values()):
            if other is not self and topic in other.topics:
                await other.topics[topic](self.peer_id, data)

    async def peers(self) -> list[ConnectedPeer]:
        if self.peers_error is not None:
            raise self.peers_error
        return [ConnectedPeer(peer, (), rtt, None, peer in self.local_link) for peer, rtt in self.links.items()]

    async def ping(self, peer_id: str, timeout: float = 5.0) -> float:
        if peer_id not in self.answers_ping:
            raise Unavailable(f"{peer_id} does not answer", Reason.PEER_UNREACHABLE)
        self.links[peer_id] = self.answers_ping[peer_id]
        return self.answers_ping[peer_id]


@dataclass
class FakeDht:
    """Provider records shared by every node (a DHT that always converges); `provided` fires on each provide."""

    records: dict[bytes, dict[str, ProviderRecord]] = field(default_factory=dict)
    provided: asyncio.Event = field(default_factory=asyncio.Event)

    def routing(self, peer_id: str) -> ProviderRouting:
        dht = self

        class Routing:
            async def provide(self, keys: list[bytes], timeout: float = 10.0) -> int:
                for key in keys:
                    dht.records.setdefault(key, {})[peer_id] = ProviderRecord(
                        peer_id, (f"/ip4/127.0.0.1/tcp/1/p2p/{peer_id}",)
                    )
                dht.provided.set()
                return len(keys)

            async def find_providers(self, key: bytes, limit: int, timeout: float) -> list[ProviderRecord]:
                return [r for r in dht.records.get(key, {}).values() if r.peer_id != peer_id][:limit]

        return Routing()


@dataclass
class NoMessenger:
    """Direct messages are not delivered: the listeners and handlers Discovery registers, and what it sends, are
    kept for a test to drive by hand."""

    peer_id: str
    listeners: list[Callable[[str], Awaitable[None]]] = field(default_factory=list)
    handlers: dict[str, Callable[[Message], Awaitable[None]]] = field(default_factory=dict)
    sent: list[Message] = field(default_factory=list)

    def add_connection_listener(self, listener: Callable[[str], Awaitable[None]]) -> None:
        self.listeners.append(listener)

    def add_message_handler(self, type: str, handler: Callable[[Message], Awaitable[None]]) -> None:
        self.handlers[type] = handler

    async def send(self, peer_id: str, type: str, payload: Any) -> Message:
        message = Message(str(len(self.sent)), self.peer_id, peer_id, type, payload, now_ms())
        self.sent.append(message)
        return message


@dataclass
class Node:
    discovery: Discovery
    transport: GossipTransport
    messenger: NoMessenger

    @property
    def peer_id(self) -> str:
        return self.transport.peer_id


class Network:
    def __init__(self) -> None:
        self.transports: dict[str, GossipTransport] = {}
        self.nodes: list[Node] = []

    async def node(
        self,
        *names: str,
        announces: bool = True,
        scores: dict[str, float] | None = None,
        filter_interval_s: float = 3600,
        filter_first_delay_s: float = 3600,
        dht: FakeDht | None = None,
    ) -> Node:
        signer = Ed25519Signer(os.urandom(32))
        transport = GossipTransport(signer.peer_id, self.transports, announces=announces)
        self.transports[signer.peer_id] = transport
        capabilities = [{"type": "agent", "name": n, "version": "1.0.0", "metadata": {}} for n in names]
        messenger = NoMessenger(signer.peer_id)
        discovery = Discovery(
            transport,  # type: ignore[arg-type]
            signer,
            Ed25519Verifier(),
            messenger,  # type: ignore[arg-type]
            capabilities,
            reputation_of=lambda peer_id: 0.0,
            reputation_scores=lambda: dict(scores or {}),
            filter_interval_s=filter_interval_s,
            filter_first_delay_s=filter_first_delay_s,
            routing=dht.routing(signer.peer_id) if dht else None,
        )
        discovery.start()
        node = Node(discovery, transport, messenger)
        self.nodes.append(node)
        await discovery.announce()  # heard by everyone now, whatever the periodic announcer does
        return node

    async def stop(self) -> None:
        for node in self.nodes:
            await node.discovery.stop()


@pytest.fixture
async def net() -> AsyncIterator[Network]:
    network = Network()
    yield network
    await network.stop()


def link(a: Node, b: Node, rtt_ms: float | None) -> None:
    a.transport.links[b.peer_id] = rtt_ms
    b.transport.links[a.peer_id] = rtt_ms


async def run(
    node: Node, name: str, type: str | None = None, **flags: Any
) -> tuple[list[PhaseProgress], DiscoveryResult]:
    events: list[Any] = []

    async def collect() -> None:
        options = DiscoveryOptions.from_flags(**flags)
        async for event in node.discovery.discover(CapabilityQuery.from_flags(name, type=type), options):
            events.append(event)

    await asyncio.wait_for(collect(), TIMEOUT)
    *progress, result = events
    assert isinstance(result, DiscoveryResult)
    assert all(isinstance(p, PhaseProgress) for p in progress)
    return progress, result


def states(progress: list[PhaseProgress]) -> list[tuple[str, str]]:
    return [(str(p.phase), str(p.state)) for p in progress]


def found(result: DiscoveryResult) -> list[tuple[str, str, bool]]:
    return [(p.match.peer_id, str(p.phase), p.proximity) for p in result.peers]


async def test_stops_after_the_first_phase_that_reaches_min_peers(net: Network) -> None:
    user = await net.node()
    near = await net.node("translate")
    far = await net.node("translate")
    link(user, near, 4.0)
    link(user, far, 120.0)

    progress, result = await run(user, "translate")
    assert states(progress) == [
        ("proximity", "started"),
        ("proximity", "completed"),
        ("local", "skipped"),
        ("internet", "skipped"),
        ("fallback", "skipped"),
    ]
    assert "mDNS" in progress[1].detail and (progress[1].new_matches, progress[1].total_matches) == (1, 1)
    assert all("min_peers (1)" in p.detail for p in progress[2:])
    assert found(result) == [(near.peer_id, "proximity", True)]
    assert result.phases_run == [P.PROXIMITY]
    assert result.min_peers_reached


async def test_phases_accumulate_unique_matches_in_order(net: Network) -> None:
    user = await net.node()
    near = await net.node("translate")
    far = await net.node("translate")
    known = await net.node("translate")
    del net.transports[known.peer_id]  # announced earlier, gone since: only the cache knows it
    link(user, near, 4.0)
    link(user, far, 120.0)

    progress, result = await run(user, "translate", min_peers=3, phase_timeout_ms=50)
    assert states(progress) == [
        ("proximity", "started"),
        ("proximity", "completed"),
        ("local", "started"),
        ("local", "completed"),
        ("internet", "skipped"),
        ("fallback", "started"),
        ("fallback", "completed"),
    ]
    completed = [(p.phase, p.new_matches, p.total_matches) for p in progress if p.state == S.COMPLETED]
    assert completed == [(P.PROXIMITY, 1, 1), (P.LOCAL, 1, 2), (P.FALLBACK, 1, 3)]  # near is not counted again
    assert result.phases_run == [P.PROXIMITY, P.LOCAL, P.FALLBACK]
    assert result.skipped == [(P.INTERNET, DHT_UNAVAILABLE)]
    assert result.min_peers_reached
    # §7.4: equal reputation (0), so the proximity bonus first, then 0.4 x match + 0.2 x zone weight
    assert found(result) == [
        (near.peer_id, "proximity", True),
        (far.peer_id, "local", False),
        (known.peer_id, "fallback", False),
    ]
    scores = [round(p.combined_score, 6) for p in result.peers]
    assert scores == [round(0.4 + 0.2 * 1.0, 6), round(0.4 + 0.2 * 0.8, 6), round(0.4 + 0.2 * 0.5, 6)]
    assert [(p.connected, p.latency_ms) for p in result.peers] == [(True, 4.0), (True, 120.0), (False, None)]


async def test_internet_phase_is_skipped_not_faked(net: Network) -> None:
    user = await net.node()
    known = await net.node("translate")

    progress, result = await run(user, "translate", phases="internet,fallback")
    assert states(progress) == [("internet", "skipped"), ("fallback", "started"), ("fallback", "completed")]
    assert progress[0].detail == "this node runs without the DHT"
    assert found(result) == [(known.peer_id, "fallback", False)]
    assert result.phases_run == [P.FALLBACK]


async def _provided(dht: FakeDht) -> None:
    await asyncio.wait_for(dht.provided.wait(), TIMEOUT)
    dht.provided.clear()


async def test_internet_phase_finds_providers_known_only_from_the_dht(net: Network) -> None:
    dht = FakeDht()
    user = await net.node(dht=dht)
    silent = await net.node("translate", announces=False, dht=dht)  # never heard over gossip announcements
    await _provided(dht)

    progress, result = await run(user, "translate", phases="internet")
    assert states(progress) == [("internet", "started"), ("internet", "completed")]
    assert found(result) == [(silent.peer_id, "internet", False)]
    # The peer is cached with the capability the query asked for, and dialable at the record's address.
    assert user.discovery.capabilities_of(silent.peer_id) == (
        {"type": "agent", "name": "translate", "version": "", "metadata": {}},
    )
    assert discovery_result_to_pb(result).peers[0].match.peer.capabilities[0].name == "translate"
    assert user.discovery.addresses_of(silent.peer_id) == (f"/ip4/127.0.0.1/tcp/1/p2p/{silent.peer_id}",)


async def test_a_signed_announcement_replaces_what_the_dht_suggested(net: Network) -> None:
    dht = FakeDht()
    user = await net.node(dht=dht)
    provider = await net.node("translate", announces=False, dht=dht)
    await _provided(dht)
    await run(user, "translate", phases="internet")

    provider.transport.announces = True
    await provider.discovery.announce()
    assert [c["name"] for c in user.discovery.capabilities_of(provider.peer_id)] == ["translate"]
    assert user.discovery.capabilities_of(provider.peer_id)[0]["version"] == "1.0.0"


async def test_find_asks_the_dht_when_the_cache_has_no_match(net: Network) -> None:
    dht = FakeDht()
    user = await net.node(dht=dht)
    silent = await net.node("translate", announces=False, dht=dht)
    del silent.transport.topics[TOPIC_CAPABILITY_REQUEST]  # it does not answer gossip queries either
    await _provided(dht)

    matches = await asyncio.wait_for(user.discovery.find(CapabilityQuery.from_flags("translate"), 5), TIMEOUT)
    assert [m.peer_id for m in matches] == [silent.peer_id]


async def test_a_new_peer_is_told_our_capabilities_in_a_direct_message(net: Network) -> None:
    silent = await net.node("translate", announces=False)
    user = await net.node()
    assert user.discovery.capabilities_of(silent.peer_id) == ()
    await silent.messenger.listeners[0](user.peer_id)  # the messenger saw `user` connect
    [told] = silent.messenger.sent
    assert (told.to, told.type) == (user.peer_id, announcements.RESPONSE)
    await user.messenger.handlers[announcements.RESPONSE](told)
    assert [c["name"] for c in user.discovery.capabilities_of(silent.peer_id)] == ["translate"]


async def test_direct_capabilities_count_only_when_the_sender_signed_them(net: Network) -> None:
    silent = await net.node("translate", announces=False)
    relay = await net.node()
    user = await net.node()
    await silent.messenger.listeners[0](relay.peer_id)
    [told] = silent.messenger.sent
    # `relay` passes on what `silent` signed as if it were its own capabilities: dropped.
    await user.messenger.handlers[announcements.RESPONSE](replace(told, from_=relay.peer_id, to=user.peer_id))
    assert user.discovery.capabilities_of(silent.peer_id) == ()
    assert user.discovery.capabilities_of(relay.peer_id) == ()


async def test_a_direct_message_that_is_not_a_capability_response_is_ignored(net: Network) -> None:
    watcher = await net.node()
    user = await net.node("translate", announces=False)
    asker = Ed25519Signer(os.urandom(32))
    request = announcements.request(asker, CapabilityQuery.from_flags("translate"), "r1", now_ms())
    message = Message("m1", asker.peer_id, user.peer_id, announcements.RESPONSE, request, now_ms())
    await user.messenger.handlers[announcements.RESPONSE](message)
    # A request sent directly is not answered: had it been, the answer would have gone out on gossip to everyone.
    assert watcher.discovery.capabilities_of(user.peer_id) == ()


async def test_proximity_pings_a_connected_peer_whose_round_trip_was_never_measured(net: Network) -> None:
    user = await net.node()
    provider = await net.node("translate")
    link(user, provider, None)
    user.transport.answers_ping[provider.peer_id] = 0.8

    _, result = await run(user, "translate", phases="proximity")
    assert found(result) == [(provider.peer_id, "proximity", True)]


async def test_proximity_includes_peers_found_on_the_local_link_whatever_their_latency(net: Network) -> None:
    user = await net.node()
    provider = await net.node("translate")
    link(user, provider, 400.0)
    user.transport.local_link.add(provider.peer_id)

    _, result = await run(user, "translate", phases="proximity")
    assert found(result) == [(provider.peer_id, "proximity", True)]


@pytest.mark.parametrize(("rtt", "near"), [(0.3, True), (49.9, True), (50.0, False), (400.0, False), (None, False)])
async def test_proximity_means_a_connected_peer_in_the_local_latency_zone(
    net: Network, rtt: float | None, near: bool
) -> None:
    user = await net.node()
    provider = await net.node("translate")
    link(user, provider, rtt)

    _, result = await run(user, "translate", phases="proximity,local")
    assert found(result) == [(provider.peer_id, "proximity" if near else "local", near)]
    assert result.phases_run == ([P.PROXIMITY] if near else [P.PROXIMITY, P.LOCAL])


async def test_proximity_ignores_peers_that_do_not_match_or_never_announced(net: Network) -> None:
    user = await net.node()
    other = await net.node("summarize")
    link(user, other, 1.0)
    user.transport.links["12D3KooWUnknownPeerThatNeverAnnounced"] = 1.0

    progress, result = await run(user, "translate", phases="proximity")
    assert result.peers == [] and not result.min_peers_reached
    assert progress[-1].state == S.COMPLETED and progress[-1].new_matches == 0


async def test_local_phase_asks_the_network_and_finds_a_peer_that_only_answers(net: Network) -> None:
    user = await net.node()
    quiet = await net.node("translate", announces=False)
    assert user.discovery.capabilities_of(quiet.peer_id) == ()  # not heard of yet

    progress, result = await run(user, "translate", phases="fallback,local")
    assert states(progress)[:2] == [("fallback", "started"), ("fallback", "completed")]
    assert progress[1].new_matches == 0
    assert found(result) == [(quiet.peer_id, "local", False)]
    assert result.phases_run == [P.FALLBACK, P.LOCAL]


async def test_local_phase_waits_at_most_the_phase_timeout(net: Network) -> None:
    user = await net.node()
    await net.node("summarize")

    progress, result = await run(user, "translate", phases="local", phase_timeout_ms=50)
    assert states(progress) == [("local", "started"), ("local", "completed")]
    assert 50 <= progress[-1].elapsed_ms < TIMEOUT * 1000
    assert result.peers == [] and not result.min_peers_reached and result.phases_run == [P.LOCAL]

    error = result.no_provider()
    assert isinstance(error, NotFound) and error.reason == Reason.NO_PROVIDER_FOUND
    assert "phases tried: local" in error.message


async def test_nothing_found_names_every_phase_tried_and_skipped(net: Network) -> None:
    user = await net.node()
    _, result = await run(user, "translate", phase_timeout_ms=20)
    assert result.phases_run == [P.PROXIMITY, P.LOCAL, P.FALLBACK]
    message = result.no_provider().message
    assert "phases tried: proximity, local, fallback" in message
    assert f"internet skipped: {DHT_UNAVAILABLE}" in message


async def test_local_phase_does_not_wait_when_connected_peers_are_enough(net: Network) -> None:
    user = await net.node()
    provider = await net.node("translate")
    link(user, provider, None)  # latency never measured: not proximity

    progress, result = await run(user, "translate", phases="local", phase_timeout_ms=60_000)
    assert found(result) == [(provider.peer_id, "local", False)]
    assert progress[-1].elapsed_ms < 10_000


@pytest.mark.parametrize(("prefer", "order"), [("true", ["proximity", "local"]), ("false", ["local", "proximity"])])
async def test_prefer_proximity_runs_proximity_first(net: Network, prefer: str, order: list[str]) -> None:
    user = await net.node()
    provider = await net.node("translate")
    link(user, provider, 2.0)

    progress, result = await run(user, "translate", phases="local,proximity", prefer_proximity=prefer)
    assert [str(p.phase) for p in progress if p.state == S.STARTED] == order[:1]
    assert found(result) == [(provider.peer_id, order[0], order[0] == "proximity")]


async def test_a_failing_phase_is_reported_and_discovery_goes_on(net: Network) -> None:
    user = await net.node()
    known = await net.node("translate")
    user.transport.peers_error = Unavailable("the transport is stopping", Reason.SHUTTING_DOWN)

    progress, result = await run(user, "translate", phases="proximity,fallback")
    assert states(progress) == [
        ("proximity", "started"),
        ("proximity", "failed"),
        ("fallback", "started"),
        ("fallback", "completed"),
    ]
    assert progress[1].detail == "the transport is stopping"
    assert found(result) == [(known.peer_id, "fallback", False)]


# ---------------------------------------------------------------------------------------------------------------------
# Reputation bloom filters (upstream-ecco §7.4, §7.5)
# ---------------------------------------------------------------------------------------------------------------------


async def test_a_published_filter_is_received_and_merged(net: Network) -> None:
    user = await net.node()
    liked, also_liked, unknown = (Ed25519Signer(os.urandom(32)).peer_id for _ in range(3))
    rater = await net.node("translate", scores={liked: 95, also_liked: 40})
    other = await net.node("summarize", scores={also_liked: 75})

    assert await rater.discovery.filters.publish() == 3  # liked is elite, so also good and acceptable
    assert await other.discovery.filters.publish() == 2
    book = user.discovery.filters.book
    assert sorted(book.merged) == ["agent:acceptable", "agent:elite", "agent:good"]
    assert book.merged["agent:good"].created_by == rater.peer_id  # merged: bits ORed, counts summed
    assert book.merged["agent:good"].peer_count == 2
    tiers = user.discovery.filters.tiers("agent", [liked, also_liked, unknown])
    assert tiers == {liked: Tier.ELITE, also_liked: Tier.GOOD}
    assert user.discovery.filters.book.local == {}  # no capabilities of its own, so no filters of its own


async def test_the_first_publication_and_the_interval_are_injectable(net: Network) -> None:
    user = await net.node()
    heard = asyncio.Event()
    receive = user.transport.topics[TOPIC_REPUTATION_FILTERS]

    async def spy(sender: str, data: bytes) -> None:
        await receive(sender, data)
        if user.discovery.filters.book.merged:
            heard.set()

    user.transport.topics[TOPIC_REPUTATION_FILTERS] = spy
    liked = Ed25519Signer(os.urandom(32)).peer_id
    await net.node("translate", scores={liked: 60}, filter_interval_s=0.05, filter_first_delay_s=0)
    await asyncio.wait_for(heard.wait(), TIMEOUT)
    assert user.discovery.filters.tiers("agent", [liked]) == {liked: Tier.ACCEPTABLE}


async def test_nothing_is_published_without_scores(net: Network) -> None:
    user = await net.node()
    quiet = await net.node("translate")
    assert await quiet.discovery.filters.publish() == 0
    assert user.discovery.filters.book.merged == {}


def _signed_filter(signer: Ed25519Signer, liked: str) -> ReputationFilter:
    bloom = build_local_filters(["agent"], {liked: 95}, signer.peer_id, 1_700_000_000_000)["agent:elite"]
    return sign_filter(bloom, signer)


async def _gossip(node: Node, sender: str, doc: dict[str, Any]) -> None:
    await node.transport.topics[TOPIC_REPUTATION_FILTERS](sender, json.dumps(doc).encode())


async def test_invalid_filters_are_dropped_with_a_log_line(net: Network, caplog: pytest.LogCaptureFixture) -> None:
    user = await net.node()
    forger = Ed25519Signer(os.urandom(32))
    liked = Ed25519Signer(os.urandom(32)).peer_id
    good = _signed_filter(forger, liked)
    tampered = replace(good, signature=bytes(64))
    impostor = replace(good, created_by=Ed25519Signer(os.urandom(32)).peer_id)
    wrong_size = sign_filter(replace(good, filter=bytes(16), signature=None, public_key=None), forger)
    with caplog.at_level(logging.INFO, logger="ecco.reputation_filters"):
        for bad in (tampered, impostor, wrong_size, replace(good, signature=None, public_key=None)):
            await _gossip(user, forger.peer_id, {"type": "reputation-filter", "payload": bad.to_json()})
        await _gossip(user, forger.peer_id, {"type": "reputation-filter", "payload": "{not json"})
        await _gossip(user, forger.peer_id, {"type": "something-else", "payload": good.to_json()})
        await user.transport.topics[TOPIC_REPUTATION_FILTERS](forger.peer_id, b"\xff")
    assert user.discovery.filters.book.merged == {}
    assert sum(r.getMessage() == "dropped reputation filter" for r in caplog.records) == 7

    await _gossip(user, forger.peer_id, {"type": "reputation-filter", "payload": good.to_json(), "timestamp": 1})
    assert user.discovery.filters.tiers("agent", [liked]) == {liked: Tier.ELITE}


async def test_bloom_tier_keeps_only_the_peers_in_that_tier(net: Network) -> None:
    user = await net.node()
    elite = await net.node("translate")
    good = await net.node("translate")
    unrated = await net.node("translate")
    rater = await net.node("review", scores={elite.peer_id: 92, good.peer_id: 72})
    await rater.discovery.filters.publish()

    _, result = await run(user, "translate", phases="fallback", min_peers=5, bloom_tier="good")
    assert {p.match.peer_id for p in result.peers} == {elite.peer_id, good.peer_id}  # the good filter holds both
    assert {p.match.peer_id: p.bloom_tier for p in result.peers} == {elite.peer_id: Tier.ELITE, good.peer_id: Tier.GOOD}

    _, result = await run(user, "translate", phases="fallback", bloom_tier="elite")
    assert [p.match.peer_id for p in result.peers] == [elite.peer_id]
    assert result.min_peers_reached
    assert unrated.peer_id not in user.discovery.filters.tiers("agent", [unrated.peer_id])


async def test_bloom_tier_uses_our_own_scores_without_any_gossip(net: Network) -> None:
    provider = await net.node("translate")
    other = await net.node("translate")
    user = await net.node("chat", scores={provider.peer_id: 50})
    _, result = await run(user, "translate", phases="fallback", bloom_tier="acceptable")
    assert [(p.match.peer_id, p.bloom_tier) for p in result.peers] == [(provider.peer_id, Tier.ACCEPTABLE)]
    assert other.peer_id not in {p.match.peer_id for p in result.peers}
    assert user.discovery.filters.book.merged == {}


async def test_the_bloom_tier_adds_its_bonus_to_the_combined_score(net: Network) -> None:
    user = await net.node()
    plain = await net.node("translate")
    elite = await net.node("translate")
    acceptable = await net.node("translate")
    rater = await net.node("review", scores={elite.peer_id: 95, acceptable.peer_id: 55})
    await rater.discovery.filters.publish()

    _, result = await run(user, "translate", phases="fallback", min_peers=3)
    ranked = [(p.match.peer_id, p.bloom_tier) for p in result.peers]
    assert ranked == [(elite.peer_id, Tier.ELITE), (acceptable.peer_id, Tier.ACCEPTABLE), (plain.peer_id, None)]
    base = result.peers[2].combined_score
    assert result.peers[0].combined_score == pytest.approx(base + 0.3)
    assert result.peers[1].combined_score == pytest.approx(base + 0.05)
    pb = discovery_result_to_pb(result)
    assert [p.match.bloom_tier for p in pb.peers] == [
        common_pb2.REPUTATION_TIER_ELITE,
        common_pb2.REPUTATION_TIER_ACCEPTABLE,
        common_pb2.REPUTATION_TIER_UNSPECIFIED,
    ]


async def test_find_still_waits_for_a_gossip_answer(net: Network) -> None:
    user = await net.node()
    quiet = await net.node("translate", announces=False)
    matches = await asyncio.wait_for(user.discovery.find(CapabilityQuery.from_flags("translate"), 5), TIMEOUT)
    assert [m.peer_id for m in matches] == [quiet.peer_id]


# ---------------------------------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "reason", "field"),
    [
        ({"phases": "moon"}, Reason.UNKNOWN_DISCOVERY_PHASE, "--phases"),
        ({"min_peers": 0}, Reason.INVALID_ARGUMENT, "--min-peers"),
        ({"min_peers": -2}, Reason.INVALID_ARGUMENT, "--min-peers"),
        ({"phase_timeout_ms": 0}, Reason.INVALID_ARGUMENT, "--phase-timeout"),
        ({"phase_timeout_ms": 60_001}, Reason.INVALID_ARGUMENT, "--phase-timeout"),
        ({"bloom_tier": "platinum"}, Reason.UNKNOWN_REPUTATION_TIER, "--bloom-tier"),
    ],
)
def test_bad_options_name_the_flag(flags: dict[str, Any], reason: Reason, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        DiscoveryOptions.from_flags(**flags)
    assert (info.value.reason, info.value.field) == (reason, field)


def test_options_from_the_api_take_defaults_for_zero_values() -> None:
    options = discovery_options_from_pb(common_pb2.DiscoveryOptions())
    assert options == DiscoveryOptions()
    given = discovery_options_from_pb(
        common_pb2.DiscoveryOptions(
            phases=[common_pb2.DISCOVERY_PHASE_FALLBACK, common_pb2.DISCOVERY_PHASE_LOCAL],
            phase_timeout_ms=250,
            min_peers=2,
            prefer_proximity=False,
            bloom_tier=common_pb2.REPUTATION_TIER_GOOD,
        )
    )
    assert given == DiscoveryOptions((P.FALLBACK, P.LOCAL), 250, 2, False, "good")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "reason", "field"),
    [
        ({"phases": [common_pb2.DISCOVERY_PHASE_UNSPECIFIED]}, Reason.UNKNOWN_DISCOVERY_PHASE, "--phases"),
        ({"phases": [42]}, Reason.UNKNOWN_DISCOVERY_PHASE, "--phases"),
        ({"phase_timeout_ms": -1}, Reason.INVALID_ARGUMENT, "--phase-timeout"),
        ({"phase_timeout_ms": 60_001}, Reason.INVALID_ARGUMENT, "--phase-timeout"),
        ({"min_peers": -1}, Reason.INVALID_ARGUMENT, "--min-peers"),
        ({"bloom_tier": 9}, Reason.UNKNOWN_REPUTATION_TIER, "--bloom-tier"),
    ],
)
def test_bad_api_options_are_invalid(options: dict[str, Any], reason: Reason, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        discovery_options_from_pb(common_pb2.DiscoveryOptions(**options))
    assert (info.value.reason, info.value.field) == (reason, field)
