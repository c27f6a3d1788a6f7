"""DiscoveryService: capability search over the node's discovery (gossip + local cache), and phased discovery."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from ecco.api.convert import (
    TIERS_FROM_PB,
    TIERS_TO_PB,
    discovery_options_from_pb,
    discovery_result_to_pb,
    match_to_pb,
    offset_page,
    page_size,
    progress_to_pb,
    query_from_pb,
    timestamp_ms,
)
from ecco.errors import InvalidArgument, NotFound, Reason, Unimplemented
from ecco.services.discovery import Discovery, DiscoveryResult, ReputationBook, ScoredReputation
from ecco.services.messaging import validate_peer_id
from ecco.v1 import common_pb2, discovery_service_pb2_grpc
from ecco.v1 import discovery_service_pb2 as pb

DEFAULT_MAX_MATCHES = 100
MAX_MATCHES = 1000


def _not_yet(method: str) -> Unimplemented:
    return Unimplemented(
        f"DiscoveryService.{method}: this node keeps no reputation book", Reason.FEATURE_NOT_IMPLEMENTED
    )


def reputation_to_pb(entry: ScoredReputation) -> pb.PeerReputation:
    record = entry.record
    message = pb.PeerReputation(
        peer_id=record.peer_id,
        local_score=record.local_score,
        total_jobs=record.total_jobs,
        successful_jobs=record.successful_jobs,
        failed_jobs=record.failed_jobs,
        discovery_score=entry.score,
        tier=TIERS_TO_PB[entry.tier] if entry.tier is not None else common_pb2.REPUTATION_TIER_UNSPECIFIED,
    )
    if record.last_interaction_at_ms is not None:
        message.last_interaction_time.CopyFrom(timestamp_ms(record.last_interaction_at_ms))
    return message


class DiscoveryServicer(discovery_service_pb2_grpc.DiscoveryServiceServicer):
    def __init__(self, discovery: Discovery, reputation: ReputationBook | None = None) -> None:
        self._discovery = discovery
        self._reputation = reputation

    async def FindPeers(self, request: pb.FindPeersRequest, context: grpc.aio.ServicerContext) -> pb.FindPeersResponse:
        if request.max_matches < 0:
            raise InvalidArgument("max_matches must not be negative", Reason.INVALID_ARGUMENT, field="max_matches")
        matches = await self._discovery.find(query_from_pb(request.query))
        limit = min(request.max_matches or DEFAULT_MAX_MATCHES, MAX_MATCHES)
        live = await self._discovery.connected()
        return pb.FindPeersResponse(
            matches=[
                match_to_pb(
                    m,
                    self._discovery.addresses_of(m.peer_id),
                    connected=m.peer_id in live,
                    latency_ms=live.get(m.peer_id),
                )
                for m in matches[:limit]
            ]
        )

    async def DiscoverPeers(
        self, request: pb.DiscoverPeersRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.DiscoverPeersResponse]:
        """Progress as each phase starts, completes or is skipped, then one result; NOT_FOUND (NO_PROVIDER_FOUND,
        naming the phases tried) when no phase found a match."""
        query = query_from_pb(request.query)
        options = discovery_options_from_pb(request.options)
        async for event in self._discovery.discover(query, options):
            if not isinstance(event, DiscoveryResult):
                yield pb.DiscoverPeersResponse(progress=progress_to_pb(event))
                continue
            if not event.peers:
                raise event.no_provider()
            yield pb.DiscoverPeersResponse(result=discovery_result_to_pb(event, self._discovery.addresses_of))

    async def GetReputation(
        self, request: pb.GetReputationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReputationResponse:
        """This node's record of one peer; NOT_FOUND (PEER_NOT_FOUND) when it never ran a job with the peer."""
        if self._reputation is None:
            raise _not_yet("GetReputation")
        peer_id = validate_peer_id(request.peer_id)
        entry = await self._reputation.get(peer_id)
        if entry is None:
            raise NotFound(f"this node has no reputation record for peer {peer_id}", Reason.PEER_NOT_FOUND)
        return pb.GetReputationResponse(reputation=reputation_to_pb(entry))

    async def ListReputation(
        self, request: pb.ListReputationRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReputationResponse:
        if self._reputation is None:
            raise _not_yet("ListReputation")
        page_size(request.page_size)  # a negative page_size is refused before the tier is looked at
        if request.min_tier != common_pb2.REPUTATION_TIER_UNSPECIFIED and request.min_tier not in TIERS_FROM_PB:
            raise InvalidArgument(
                f"unknown reputation tier {request.min_tier}", Reason.UNKNOWN_REPUTATION_TIER, field="min_tier"
            )
        entries = await self._reputation.list(TIERS_FROM_PB.get(request.min_tier))
        page, next_token = offset_page(entries, request.page_token, request.page_size)
        return pb.ListReputationResponse(
            reputations=[reputation_to_pb(e) for e in page],
            next_page_token=next_token,
            total_size=len(entries),
        )
