"""Capability discovery over gossip: announce our capabilities, cache everyone else's, answer and ask queries.

Announcements are signed and re-sent on start, on every new connection and periodically, because gossip delivers
at most once and late joiners miss earlier messages. `find` follows upstream `findPeers` minus the DHT: match the
local cache; ask the network on `ecco:capability-request`; wait (event-driven, bounded) for a matching answer
when the cache had none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecco.errors import DeadlineExceeded, EccoError, NotFound, Reason
from ecco.services import announcements
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.envelope import canonical_json, now_ms
from ecco.services.matching import CapabilityMatch, CapabilityQuery, match_peers
from ecco.services.messaging import Messenger, Reply
from ecco.services.transport_port import (
    TOPIC_CAPABILITIES,
    TOPIC_CAPABILITY_REQUEST,
    TOPIC_CAPABILITY_RESPONSE,
    Transport,
)

log = logging.getLogger("ecco.discovery")

ANNOUNCE_INTERVAL_S = 30.0
GOSSIP_QUERY_TIMEOUT_S = 2.0
MAX_CACHED_PEERS = 10_000
DEFAULT_ASK_ATTEMPTS = 3
CONNECT_TIMEOUT_S = 5.0


@dataclass
class CachedPeer:
    """A peer's announced capabilities (implements matching.PeerLike)."""

    peer_id: str
    capabilities: tuple[Mapping[str, Any], ...] = ()
    announced_at_ms: float = 0
    reputation: float | None = None
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class AskAttempt:
    match: CapabilityMatch
    outcome: str  # answered | failed | timed-out | unreachable
    error: str
    elapsed_ms: int


@dataclass(frozen=True)
class AskResult:
    reply: Reply
    attempts: list[AskAttempt]
    match_count: int


@dataclass(eq=False)
class _Waiter:
    query: CapabilityQuery
    found: asyncio.Event = field(default_factory=asyncio.Event)


class Discovery:
    def __init__(
        self,
        transport: Transport,
        signer: Signer,
        verifier: Verifier,
        messenger: Messenger,
        capabilities: Sequence[Mapping[str, Any]],
    ) -> None:
        self._transport = transport
        self._signer = signer
        self._verifier = verifier
        self._messenger = messenger
        self._capabilities = [dict(c) for c in capabilities]
        self._cache: dict[str, CachedPeer] = {}
        self._waiters: set[_Waiter] = set()
        self._announcer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._transport.subscribe(TOPIC_CAPABILITIES, self._on_gossip)
        self._transport.subscribe(TOPIC_CAPABILITY_REQUEST, self._on_gossip)
        self._transport.subscribe(TOPIC_CAPABILITY_RESPONSE, self._on_gossip)
        self._messenger.add_connection_listener(self._on_peer_connected)
        self._announcer = asyncio.ensure_future(self._announce_periodically())

    async def stop(self) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer

    def capabilities_of(self, peer_id: str) -> tuple[Mapping[str, Any], ...]:
        cached = self._cache.get(peer_id)
        return cached.capabilities if cached else ()

    def addresses_of(self, peer_id: str) -> tuple[str, ...]:
        cached = self._cache.get(peer_id)
        return cached.addresses if cached else ()

    async def _reach(self, peer_id: str, timeout_s: float) -> None:
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
        doc = announcements.announcement(self._signer, self._capabilities, now_ms(), self._transport.listen_addrs())
        await self._publish(TOPIC_CAPABILITIES, doc)

    async def _publish(self, topic: str, doc: Mapping[str, Any]) -> None:
        try:
            await self._transport.publish(topic, canonical_json(dict(doc)).encode("utf-8"))
        except EccoError as error:
            log.warning("gossip publish failed", extra={"topic": topic, "reason": str(error.reason)})

    async def _announce_periodically(self) -> None:
        while True:
            await self.announce()
            await asyncio.sleep(ANNOUNCE_INTERVAL_S)  # a schedule, not a wait for a condition

    async def _on_peer_connected(self, peer_id: str) -> None:
        await self.announce()

    async def find(self, query: CapabilityQuery, timeout_s: float = GOSSIP_QUERY_TIMEOUT_S) -> list[CapabilityMatch]:
        """Matching peers, best first: the local cache, plus what a gossip query brings in within the timeout."""
        matches = self._match(query)
        waiter = _Waiter(query)
        self._waiters.add(waiter)
        try:
            request_id = str(uuid.uuid4())
            await self._publish(
                TOPIC_CAPABILITY_REQUEST, announcements.request(self._signer, query, request_id, now_ms())
            )
            if not matches:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.found.wait(), timeout_s)
                matches = self._match(query)
        finally:
            self._waiters.discard(waiter)
        return matches

    def _match(self, query: CapabilityQuery) -> list[CapabilityMatch]:
        return match_peers((p for p in self._cache.values() if p.peer_id != self._signer.peer_id), query)

    async def ask(self, query: CapabilityQuery, prompt: str, timeout_s: float, max_attempts: int) -> AskResult:
        """Send the prompt to the best provider; on failure try the next, all within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        matches = await self.find(query, min(GOSSIP_QUERY_TIMEOUT_S, timeout_s))
        if not matches:
            raise NotFound(
                "no peer offers a capability matching the query (asked the local cache and the network)",
                Reason.NO_PROVIDER_FOUND,
            )
        attempts: list[AskAttempt] = []
        last_error: EccoError | None = None
        for match in matches[: max_attempts or DEFAULT_ASK_ATTEMPTS]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            started = time.monotonic()
            try:
                await self._reach(match.peer_id, min(remaining, CONNECT_TIMEOUT_S))
                reply = await self._messenger.prompt(match.peer_id, prompt, deadline - time.monotonic())
            except EccoError as error:
                last_error = error
                outcome = {
                    Reason.REQUEST_TIMEOUT: "timed-out",
                    Reason.PEER_UNREACHABLE: "unreachable",
                    Reason.PEER_NOT_FOUND: "unreachable",
                }.get(error.reason, "failed")
                attempts.append(AskAttempt(match, outcome, error.message, _ms_since(started)))
                continue
            if reply.error:
                attempts.append(AskAttempt(match, "failed", reply.error, _ms_since(started)))
                last_error = EccoError(f"the agent answered with an error: {reply.error}", Reason.AGENT_FAILED)
                continue
            attempts.append(AskAttempt(match, "answered", "", _ms_since(started)))
            return AskResult(reply, attempts, len(matches))
        if last_error is None:
            raise DeadlineExceeded(f"no provider answered within {timeout_s:g}s", Reason.REQUEST_TIMEOUT)
        raise last_error

    # ------------------------------------------------------------------------------------------------ inbound

    async def _on_gossip(self, sender: str, data: bytes) -> None:
        try:
            event = announcements.accept_event(json.loads(data), self._verifier, now_ms())
        except (EccoError, ValueError, RecursionError) as rejection:
            log.info("dropped capability event", extra={"sender": sender, "detail": str(rejection)})
            return
        if isinstance(event, announcements.CapabilityRequest):
            await self._answer(event)
            return
        addresses = event.addresses if isinstance(event, announcements.CapabilityAnnouncement) else ()
        self._remember(event.signer_id, event.capabilities, event.timestamp, addresses)

    def _remember(
        self, peer_id: str, capabilities: Sequence[Mapping[str, Any]], timestamp: float, addresses: Sequence[str]
    ) -> None:
        if peer_id == self._signer.peer_id:
            return
        cached = self._cache.get(peer_id)
        if cached is not None and cached.announced_at_ms > timestamp:
            return  # an older announcement arriving late
        if cached is None and len(self._cache) >= MAX_CACHED_PEERS:
            del self._cache[min(self._cache.values(), key=lambda p: p.announced_at_ms).peer_id]
        known = tuple(addresses) or (cached.addresses if cached else ())
        self._cache[peer_id] = CachedPeer(peer_id, tuple(capabilities), timestamp, addresses=known)
        for waiter in self._waiters:
            if self._match(waiter.query):
                waiter.found.set()

    async def _answer(self, request: announcements.CapabilityRequest) -> None:
        ours = CachedPeer(self._signer.peer_id, tuple(self._capabilities))
        if request.from_ == self._signer.peer_id or not match_peers([ours], request.query):
            return
        doc = announcements.response(self._signer, request.request_id, self._capabilities, now_ms())
        await self._publish(TOPIC_CAPABILITY_RESPONSE, doc)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
