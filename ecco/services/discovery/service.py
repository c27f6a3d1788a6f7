"""Capability discovery over gossip: announce our capabilities, cache everyone else's, answer and ask queries.

Announcements are signed and gossiped on start and periodically, because gossip delivers at most once and late
joiners miss earlier messages; a newly connected peer gets them at once in a direct signed message. With a DHT, our
capabilities are also provider records under upstream's keys, provided until they reach a peer, then renewed every
10 minutes. `find` follows upstream `findPeers`: match the local cache; with
matches, also ask the network on `ecco:capability-request`; without, look up DHT providers, then wait
(event-driven, bounded) for a gossip answer. `discover` is upstream's phased discovery (§7.3): proximity, local,
internet and fallback phases in order, accumulating unique matches until `min_peers` matched, then ranked as in §7.4.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ecco.errors import EccoError, NotFound, Reason
from ecco.parsing import DiscoveryOptions, DiscoveryPhase, Tier
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.discovery import announcements
from ecco.services.discovery.ask import AskResult, LatencyWindow, ask_candidates
from ecco.services.discovery.capabilities import DEFAULT_TYPE
from ecco.services.discovery.capability_keys import lookup_key, provided_keys
from ecco.services.discovery.matching import CapabilityMatch, CapabilityQuery, match_peers
from ecco.services.discovery.reputation import LatencyZone, RankInput, classify_latency, rank_peers
from ecco.services.discovery.reputation_gossip import (
    FILTER_INTERVAL_S,
    FIRST_PUBLISH_DELAY_S,
    ReputationFilterGossip,
    ScoresFn,
)
from ecco.services.envelope import Message, now_ms
from ecco.services.events import EventLog
from ecco.services.messaging import Messenger, Reply
from ecco.services.transport_port import (
    TOPIC_CAPABILITIES,
    TOPIC_CAPABILITY_REQUEST,
    TOPIC_CAPABILITY_RESPONSE,
    ProviderRecord,
    ProviderRouting,
    Transport,
)

log = logging.getLogger("ecco.discovery")

ANNOUNCE_INTERVAL_S = 30.0
GOSSIP_QUERY_TIMEOUT_S = 2.0
MAX_CACHED_PEERS = 10_000
CONNECT_TIMEOUT_S = 5.0
PROVIDE_TIMEOUT_S = 30.0
REPROVIDE_INTERVAL_S = 600.0
"""Provider records live for hours (48 h in py-libp2p), so once they reached peers they are renewed every 10
minutes, not on every connection: with 30 nodes, providing on each new connection kept the machine busy."""
PROXIMITY_PING_TIMEOUT_S = 1.0
MAX_DHT_PROVIDERS = 100
"""Upstream's `findProviders` limit."""
MAX_SYNTHETIC_CAPABILITIES = 50
"""Upstream keeps at most 50 query-derived capabilities per DHT-found peer."""


@dataclass
class CachedPeer:
    """A peer's announced capabilities (implements matching.PeerLike)."""

    peer_id: str
    capabilities: tuple[Mapping[str, Any], ...] = ()
    announced_at_ms: float = 0
    reputation: float | None = None
    addresses: tuple[str, ...] = ()
    from_dht: bool = False
    """Known only from DHT provider records: its capabilities are copied from the queries that found it."""


class PhaseState(StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class PhaseProgress:
    """A discovery phase started, completed, was skipped or failed."""

    phase: DiscoveryPhase
    state: PhaseState
    new_matches: int
    """Matches this phase added that earlier phases had not found."""
    total_matches: int
    """Unique matches so far, over all phases."""
    elapsed_ms: int
    detail: str = ""


@dataclass(frozen=True)
class DiscoveredPeer:
    match: CapabilityMatch
    phase: DiscoveryPhase
    """The phase that found the peer first."""
    proximity: bool
    combined_score: float
    latency_ms: float | None
    """The last measured round trip; None when not connected or never measured."""
    connected: bool
    bloom_tier: Tier | None = None
    """The best tier whose reputation filter (ours or merged from gossip) holds the peer, for the query's type."""


@dataclass(frozen=True)
class DiscoveryResult:
    peers: list[DiscoveredPeer]
    """Ranked best first (upstream §7.4)."""
    phases_run: list[DiscoveryPhase]
    """The phases that ran, in order (not those skipped)."""
    skipped: list[tuple[DiscoveryPhase, str]]
    """The phases not run, each with the reason."""
    min_peers_reached: bool
    total_time_ms: int

    def no_provider(self) -> NotFound:
        """The error for a discovery that found nobody, naming every phase tried (and those skipped, and why)."""
        tried = ", ".join(self.phases_run) or "none"
        skipped = "; ".join(f"{phase} skipped: {why}" for phase, why in self.skipped)
        return NotFound(
            f"no peer offers a capability matching the query (phases tried: {tried}"
            + (f"; {skipped}" if skipped else "")
            + ")",
            Reason.NO_PROVIDER_FOUND,
        )


DiscoveryEvent = PhaseProgress | DiscoveryResult

PROXIMITY_DETAIL = (
    "proximity means peers found on the local link (mDNS) or connected in the local latency zone "
    "(round trip under 50 ms); there is no Bluetooth transport"
)
DHT_UNAVAILABLE = "this node runs without the DHT"


@dataclass(eq=False)
class _Waiter:
    """A pending gossip query: collects the matching peers heard from while it waits (except `ignore`), and
    fires `found` once `wanted` of them were heard."""

    query: CapabilityQuery
    wanted: int = 1
    ignore: Collection[str] = ()
    heard: set[str] = field(default_factory=set)
    found: asyncio.Event = field(default_factory=asyncio.Event)

    def hear(self, peer: CachedPeer) -> None:
        if peer.peer_id in self.ignore or not match_peers([peer], self.query):
            return
        self.heard.add(peer.peer_id)
        if len(self.heard) >= self.wanted:
            self.found.set()


class Discovery:
    def __init__(
        self,
        transport: Transport,
        signer: Signer,
        verifier: Verifier,
        messenger: Messenger,
        capabilities: Sequence[Mapping[str, Any]],
        reputation_of: Callable[[str], float] | None = None,
        reputation_scores: ScoresFn | None = None,
        filter_interval_s: float = FILTER_INTERVAL_S,
        filter_first_delay_s: float = FIRST_PUBLISH_DELAY_S,
        routing: ProviderRouting | None = None,
        events: EventLog | None = None,
    ) -> None:
        """`reputation_of(peer_id)` is the peer's 0-100 discovery reputation score, used in ranking (0 without);
        `reputation_scores()` is every score, from which our reputation bloom filters are built and gossiped every
        `filter_interval_s` (first after `filter_first_delay_s`). `routing` is the DHT (the internet phase); `events`
        learns when our provider records become findable."""
        self._transport = transport
        self._routing = routing
        self._provider_task: asyncio.Task[None] | None = None
        self._provide_again = False
        self._records_reached_peers = False
        self._provided_at = -REPROVIDE_INTERVAL_S
        self._events = events
        self._reputation_of = reputation_of or (lambda _peer_id: 0.0)
        self._signer = signer
        self._verifier = verifier
        self._messenger = messenger
        self._capabilities = [dict(c) for c in capabilities]
        self._cache: dict[str, CachedPeer] = {}
        self._ask_latencies = LatencyWindow()
        self._waiters: set[_Waiter] = set()
        self._announcer: asyncio.Task[None] | None = None
        self.filters = ReputationFilterGossip(
            transport,
            signer,
            verifier,
            [str(c.get("type") or DEFAULT_TYPE) for c in self._capabilities],
            reputation_scores,
            filter_interval_s,
            filter_first_delay_s,
        )

    def start(self) -> None:
        self._transport.subscribe(TOPIC_CAPABILITIES, self._on_gossip)
        self._transport.subscribe(TOPIC_CAPABILITY_REQUEST, self._on_gossip)
        self._transport.subscribe(TOPIC_CAPABILITY_RESPONSE, self._on_gossip)
        self._messenger.add_connection_listener(self._on_peer_connected)
        self._messenger.add_message_handler(announcements.RESPONSE, self._on_direct_capabilities)
        self._announcer = asyncio.ensure_future(self._announce_periodically())
        self.filters.start()

    async def stop(self) -> None:
        await self.filters.stop()
        for task in (self._announcer, self._provider_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def capabilities_of(self, peer_id: str) -> tuple[Mapping[str, Any], ...]:
        cached = self._cache.get(peer_id)
        return cached.capabilities if cached else ()

    def is_agent(self, peer_id: str) -> bool:
        """Whether the peer announces a capability of type agent (one that answers prompts)."""
        return any(c.get("type") == DEFAULT_TYPE for c in self.capabilities_of(peer_id))

    def addresses_of(self, peer_id: str) -> tuple[str, ...]:
        cached = self._cache.get(peer_id)
        return cached.addresses if cached else ()

    async def connected(self) -> dict[str, float | None]:
        """The peers with an open connection now, with their last measured round trip (ms)."""
        return {p.peer_id: p.latency_ms for p in await self._transport.peers()}

    async def reach(self, peer_id: str, timeout_s: float) -> None:
        """Dial a peer heard of only through gossip, at an address it announced; failures surface on send."""
        if any(p.peer_id == peer_id for p in await self._transport.peers()):
            return
        for address in self.addresses_of(peer_id):
            try:
                await self._messenger.connect(address, timeout_s)
                return
            except EccoError as error:
                log.info(
                    "announced address unreachable",
                    extra={"peer": peer_id, "addr": address, "reason": str(error.reason)},
                )

    # ------------------------------------------------------------------------------------------------ outbound

    async def announce(self) -> None:
        if not self._capabilities:
            return
        if not self._records_reached_peers or time.monotonic() - self._provided_at >= REPROVIDE_INTERVAL_S:
            self._provide_soon()
        doc = announcements.announcement(self._signer, self._capabilities, now_ms(), self._transport.listen_addrs())
        await self._publish(TOPIC_CAPABILITIES, doc)

    def _provide_soon(self) -> None:
        """Publish our provider records in the background (until they reach a peer, at each announcement; then
        every REPROVIDE_INTERVAL_S); calls while a round runs coalesce into one more."""
        if self._routing is None:
            return
        if self._provider_task is not None and not self._provider_task.done():
            self._provide_again = True
            return
        self._provider_task = asyncio.ensure_future(self._provide_records(self._routing))

    async def _provide_records(self, routing: ProviderRouting) -> None:
        keys = [key.multihash for key in provided_keys(self._capabilities)]
        while True:
            self._provide_again = False
            reached = 0
            try:
                reached = await routing.provide(keys, PROVIDE_TIMEOUT_S)
            except EccoError as error:
                log.warning("providing capability records failed", extra={"reason": str(error.reason)})
            if reached and not self._records_reached_peers and self._events is not None:
                await self._events.record("capabilities-provided", {"keys": len(keys), "keysReachingPeers": reached})
            self._records_reached_peers = reached > 0
            if reached:
                self._provided_at = time.monotonic()
            if not self._provide_again:
                return

    async def _publish(self, topic: str, doc: Mapping[str, Any]) -> None:
        try:
            await self._transport.publish(topic, announcements.wire_json(doc))
        except EccoError as error:
            log.warning("gossip publish failed", extra={"topic": topic, "reason": str(error.reason)})

    async def _announce_periodically(self) -> None:
        while True:
            await self.announce()
            await asyncio.sleep(ANNOUNCE_INTERVAL_S)  # a schedule, not a wait for a condition

    async def _on_peer_connected(self, peer_id: str) -> None:
        """Tell a newly connected peer our capabilities directly: a signed `capability-response` in a direct
        message. Upstream publishes a gossip announcement on every connection instead, but that floods every node,
        and a DHT lookup connects a node to dozens of peers at once: with 30 nodes, joins slowed to seconds each."""
        if not self._capabilities:
            return
        if not self._records_reached_peers:
            self._provide_soon()
        doc = announcements.response(
            self._signer, str(uuid.uuid4()), self._capabilities, now_ms(), self._transport.listen_addrs()
        )
        try:
            await self._messenger.send(peer_id, announcements.RESPONSE, doc)
        except EccoError as error:
            log.info("could not tell a new peer our capabilities", extra={"peer": peer_id, "reason": str(error.reason)})

    async def _on_direct_capabilities(self, message: Message) -> None:
        """A peer's capabilities sent straight to us (see `_on_peer_connected`): only its own, signed."""
        if not isinstance(message.payload, dict) or message.payload.get("type") != announcements.RESPONSE:
            return
        await self._accept(message.from_, message.payload, signer=message.from_)

    async def find(self, query: CapabilityQuery, timeout_s: float = GOSSIP_QUERY_TIMEOUT_S) -> list[CapabilityMatch]:
        """Matching peers, best first (upstream `findPeers`): the local cache (and a gossip query for more); without
        a match, DHT providers, then what a gossip query brings in within the timeout."""
        matches = self._match(query)
        if not matches and self._routing is not None:
            started = time.monotonic()
            matches = self._match(query, await self._dht_providers(query, timeout_s))
            timeout_s = max(0.0, timeout_s - (time.monotonic() - started))
        await self._query_network(query, timeout_s, wanted=0 if matches else 1)
        return matches or self._match(query)

    async def _dht_providers(self, query: CapabilityQuery, timeout_s: float) -> list[str]:
        """Look up DHT providers of each required capability (at once); peers heard of only this way are cached
        with the capability copied from the query (upstream §7.1). Returns the provider ids."""
        assert self._routing is not None
        required = list(query.required_capabilities) or [{}]
        answers = await asyncio.gather(
            *(
                self._routing.find_providers(lookup_key(c).multihash, MAX_DHT_PROVIDERS, max(timeout_s, 0.001))
                for c in required
            ),
            return_exceptions=True,
        )
        providers: list[str] = []
        for capability, records in zip(required, answers, strict=True):
            if isinstance(records, EccoError):
                log.info("DHT provider lookup failed", extra={"reason": str(records.reason)})
                continue
            if isinstance(records, BaseException):
                raise records
            for record in records:
                self._remember_provider(record, capability)
                providers.append(record.peer_id)
        return providers

    def _remember_provider(self, record: ProviderRecord, capability: Mapping[str, Any]) -> None:
        if record.peer_id == self._signer.peer_id:
            return
        cached = self._cache.get(record.peer_id)
        if cached is not None and not cached.from_dht:
            if not cached.addresses and record.addrs:
                self._cache[record.peer_id] = replace(cached, addresses=record.addrs)
            return  # its own signed announcement says more than the query that found it
        synthetic = {
            "type": str(capability.get("type") or DEFAULT_TYPE),
            "name": str(capability.get("name") or ""),
            "version": str(capability.get("version") or ""),
            "metadata": {},
        }
        known = list(cached.capabilities) if cached else []
        if synthetic not in known:
            known = [*known, synthetic][-MAX_SYNTHETIC_CAPABILITIES:]
        addresses = record.addrs or (cached.addresses if cached else ())
        self._store(CachedPeer(record.peer_id, tuple(known), 0, addresses=addresses, from_dht=True))

    async def _query_network(
        self, query: CapabilityQuery, timeout_s: float, wanted: int, ignore: Collection[str] = ()
    ) -> set[str]:
        """Ask the network on `ecco:capability-request`, then wait (up to `timeout_s`) until `wanted` matching
        peers not in `ignore` were heard from. Returns those heard (they are in the cache); with `wanted` 0 it
        publishes and returns at once. Answers arrive as gossip, so the wait is best effort."""
        waiter = _Waiter(query, wanted, ignore)
        self._waiters.add(waiter)
        try:
            request_id = str(uuid.uuid4())
            await self._publish(
                TOPIC_CAPABILITY_REQUEST, announcements.request(self._signer, query, request_id, now_ms())
            )
            if wanted > 0 and not waiter.found.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.found.wait(), timeout_s)
        finally:
            self._waiters.discard(waiter)
        return set(waiter.heard)

    def _match(self, query: CapabilityQuery, peer_ids: Iterable[str] | None = None) -> list[CapabilityMatch]:
        """Matches in the cache, best first (ties broken by reputation); only among `peer_ids` when given."""
        if peer_ids is None:
            peers = [p for p in self._cache.values() if p.peer_id != self._signer.peer_id]
        else:
            peers = [self._cache[i] for i in dict.fromkeys(peer_ids) if i in self._cache and i != self._signer.peer_id]
        return match_peers([replace(p, reputation=self._reputation_of(p.peer_id)) for p in peers], query)

    # ------------------------------------------------------------------------------------------------ phased discovery

    async def discover(self, query: CapabilityQuery, options: DiscoveryOptions) -> AsyncIterator[DiscoveryEvent]:
        """Phased discovery (upstream §7.3): a PhaseProgress as each phase starts and ends (or is skipped), then one
        DiscoveryResult. Phases run in `options.run_order()`, accumulate unique matches and stop as soon as
        `min_peers` matched. An empty result is not an error here (see DiscoveryResult.no_provider).

        proximity: peers found on the local link (mDNS) and connected peers whose measured round trip puts them in
        the local zone (< 50 ms), that match; local: every connected peer that matches, plus a gossip query that
        waits up to the phase timeout for the missing matches; internet: DHT providers of each required capability
        (skipped without a DHT); fallback: the whole capability cache.

        With `bloom_tier`, each phase keeps only the peers that our own or the merged gossiped reputation filter of
        that tier holds (for the type of the first required capability), so only they count towards `min_peers`."""
        capability_type = _filter_type(query)
        self.filters.refresh_local()  # our own scores may have changed since the last periodic build
        started = time.monotonic()
        found: dict[str, tuple[CapabilityMatch, DiscoveryPhase]] = {}
        phases_run: list[DiscoveryPhase] = []
        skipped: list[tuple[DiscoveryPhase, str]] = []
        order = options.run_order()

        def progress(phase: DiscoveryPhase, state: PhaseState, new: int = 0, detail: str = "") -> PhaseProgress:
            return PhaseProgress(phase, state, new, len(found), _ms_since(started), detail)

        for index, phase in enumerate(order):
            if options.enough(len(found)):
                why = f"min_peers ({options.min_peers}) already reached"
                for rest in order[index:]:
                    skipped.append((rest, why))
                    yield progress(rest, PhaseState.SKIPPED, detail=why)
                break
            if phase == DiscoveryPhase.INTERNET and self._routing is None:
                skipped.append((phase, DHT_UNAVAILABLE))
                yield progress(phase, PhaseState.SKIPPED, detail=DHT_UNAVAILABLE)
                continue
            yield progress(phase, PhaseState.STARTED)
            phases_run.append(phase)
            try:
                matches = await self._run_phase(phase, query, options, found.keys())
            except EccoError as error:
                yield progress(phase, PhaseState.FAILED, detail=error.message)
                continue
            if options.bloom_tier is not None:
                allowed = self.filters.tiers(capability_type, [m.peer_id for m in matches], options.bloom_tier)
                matches = [m for m in matches if m.peer_id in allowed]
            new = [m for m in matches if m.peer_id not in found]
            for match in new:
                found[match.peer_id] = (match, phase)
            yield progress(
                phase, PhaseState.COMPLETED, len(new), PROXIMITY_DETAIL if phase == DiscoveryPhase.PROXIMITY else ""
            )

        latencies: dict[str, float | None] = {}
        with contextlib.suppress(EccoError):  # ranking without latencies beats failing a finished discovery
            latencies = await self._latencies()
        yield DiscoveryResult(
            self._rank(found, latencies, options.prefer_proximity, capability_type),
            phases_run,
            skipped,
            options.enough(len(found)),
            _ms_since(started),
        )

    async def _run_phase(
        self,
        phase: DiscoveryPhase,
        query: CapabilityQuery,
        options: DiscoveryOptions,
        found: Collection[str],
    ) -> list[CapabilityMatch]:
        """The matches one phase sees (including peers earlier phases found)."""
        if phase == DiscoveryPhase.PROXIMITY:
            return self._match(query, await self._near_peers(options.phase_timeout_ms / 1000))
        if phase == DiscoveryPhase.INTERNET:
            return self._match(query, await self._dht_providers(query, options.phase_timeout_ms / 1000))
        if phase == DiscoveryPhase.LOCAL:
            matches = self._match(query, await self._latencies())
            known = {*found, *(m.peer_id for m in matches)}
            heard = await self._query_network(
                query, options.phase_timeout_ms / 1000, max(0, options.min_peers - len(known)), known
            )
            return matches + self._match(query, heard)
        return self._match(query)  # fallback: everything this node knows

    async def _near_peers(self, timeout_s: float) -> list[str]:
        """Peers found on the local link, and connected peers in the local latency zone; a connected peer whose
        round trip was never measured (it dialled us a moment ago) is pinged now, within the timeout."""
        peers = await self._transport.peers()
        unmeasured = [p.peer_id for p in peers if p.latency_ms is None and not p.local_link]
        measured = await asyncio.gather(
            *(self._transport.ping(peer_id, min(timeout_s, PROXIMITY_PING_TIMEOUT_S)) for peer_id in unmeasured),
            return_exceptions=True,
        )
        fresh = {peer_id: rtt for peer_id, rtt in zip(unmeasured, measured, strict=True) if isinstance(rtt, float)}
        return [
            p.peer_id for p in peers if p.local_link or _zone(fresh.get(p.peer_id, p.latency_ms)) == LatencyZone.LOCAL
        ]

    async def _latencies(self) -> dict[str, float | None]:
        """The connected peers, each with its last measured round trip (None when never measured)."""
        return {p.peer_id: p.latency_ms for p in await self._transport.peers()}

    def _rank(
        self,
        by_peer: Mapping[str, tuple[CapabilityMatch, DiscoveryPhase]],
        latencies: Mapping[str, float | None],
        prefer_proximity: bool,
        capability_type: str,
    ) -> list[DiscoveredPeer]:
        """Upstream §7.4: reputation (the local discovery score), then proximity bonus, then combined score, which
        includes the bloom bonus of the peer's best filter tier for `capability_type`; the zone comes from the
        measured latency (unknown without one). `by_peer` is each found peer's match and the phase that found it."""
        tiers = self.filters.tiers(capability_type, list(by_peer))
        inputs = [
            RankInput(
                match.peer_id,
                match.match_score,
                reputation_score=self._reputation_of(match.peer_id),
                bloom_tier=tiers.get(match.peer_id),
                zone=_zone(latencies.get(match.peer_id)),
                proximity_bonus=1 if prefer_proximity and phase == DiscoveryPhase.PROXIMITY else 0,
            )
            for match, phase in by_peer.values()
        ]
        ranked: list[DiscoveredPeer] = []
        for entry in rank_peers(inputs):
            match, phase = by_peer[entry.peer.peer_id]
            ranked.append(
                DiscoveredPeer(
                    match,
                    phase,
                    phase == DiscoveryPhase.PROXIMITY,
                    entry.combined_score,
                    latencies.get(match.peer_id),
                    match.peer_id in latencies,
                    tiers.get(match.peer_id),
                )
            )
        return ranked

    async def ask(
        self, query: CapabilityQuery, prompt: str, timeout_s: float, max_candidates: int = 0, hedge: bool = False
    ) -> AskResult:
        """Send the prompt to the best provider; on failure (or, with `hedge`, slowness) the next ones, each within
        its share of `timeout_s` (see ecco.services.discovery.ask)."""
        deadline = time.monotonic() + timeout_s
        matches = await self.find(query, min(GOSSIP_QUERY_TIMEOUT_S, timeout_s))
        if not matches:
            raise NotFound(
                "no peer offers a capability matching the query (asked the local cache and the network)",
                Reason.NO_PROVIDER_FOUND,
            )

        async def try_one(match: CapabilityMatch, budget_s: float) -> Reply:
            began = time.monotonic()
            await self.reach(match.peer_id, min(budget_s, CONNECT_TIMEOUT_S))
            return await self._messenger.prompt(match.peer_id, prompt, max(0.0, budget_s - (time.monotonic() - began)))

        return await ask_candidates(
            matches, try_one, deadline, max_candidates=max_candidates, hedge=hedge, latencies=self._ask_latencies
        )

    # ------------------------------------------------------------------------------------------------ inbound

    async def _on_gossip(self, sender: str, data: bytes) -> None:
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as rejection:
            log.info("dropped capability event", extra={"sender": sender, "detail": str(rejection)})
            return
        await self._accept(sender, doc)

    async def _accept(self, sender: str, doc: Any, signer: str | None = None) -> None:
        """Verify a capability event and act on it; with `signer`, only an event that peer signed counts."""
        try:
            event = announcements.accept_event(doc, self._verifier, now_ms())
        except (EccoError, ValueError, RecursionError) as rejection:
            log.info("dropped capability event", extra={"sender": sender, "detail": str(rejection)})
            return
        if signer is not None and event.signer_id != signer:
            log.info("dropped capability event signed by another peer", extra={"sender": sender})
            return
        if isinstance(event, announcements.CapabilityRequest):
            await self._answer(event)
            return
        self._remember(event.signer_id, event.capabilities, event.timestamp, event.addresses)

    def _remember(
        self, peer_id: str, capabilities: Sequence[Mapping[str, Any]], timestamp: float, addresses: Sequence[str]
    ) -> None:
        if peer_id == self._signer.peer_id:
            return
        cached = self._cache.get(peer_id)
        if cached is not None and cached.announced_at_ms > timestamp:
            return  # an older announcement arriving late
        known = tuple(addresses) or (cached.addresses if cached else ())
        self._store(CachedPeer(peer_id, tuple(capabilities), timestamp, addresses=known))

    def _store(self, peer: CachedPeer) -> None:
        if peer.peer_id not in self._cache and len(self._cache) >= MAX_CACHED_PEERS:
            del self._cache[min(self._cache.values(), key=lambda p: p.announced_at_ms).peer_id]
        self._cache[peer.peer_id] = peer
        for waiter in self._waiters:
            waiter.hear(peer)

    async def _answer(self, request: announcements.CapabilityRequest) -> None:
        ours = CachedPeer(self._signer.peer_id, tuple(self._capabilities))
        if request.from_ == self._signer.peer_id or not match_peers([ours], request.query):
            return
        doc = announcements.response(
            self._signer, request.request_id, self._capabilities, now_ms(), self._transport.listen_addrs()
        )
        await self._publish(TOPIC_CAPABILITY_RESPONSE, doc)


def _filter_type(query: CapabilityQuery) -> str:
    """The capability whose filters rank and restrict candidates: the type of the first required capability
    (upstream §7.4), or the default type `agent` when the query names none."""
    first = query.required_capabilities[0] if query.required_capabilities else {}
    kind = first.get("type")
    return kind if isinstance(kind, str) and kind else DEFAULT_TYPE


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _zone(latency_ms: float | None) -> LatencyZone | None:
    return None if latency_ms is None else classify_latency(latency_ms)
