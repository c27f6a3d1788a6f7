"""DiscoveryService: capability search over the node's discovery (gossip + local cache), and phased discovery."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from ecco.api.convert import (
    discovery_options_from_pb,
    discovery_result_to_pb,
    match_to_pb,
    progress_to_pb,
    query_from_pb,
)
from ecco.errors import InvalidArgument, Reason, Unimplemented
from ecco.services.discovery import Discovery, DiscoveryResult
from ecco.v1 import discovery_service_pb2 as pb
from ecco.v1 import discovery_service_pb2_grpc

DEFAULT_MAX_MATCHES = 100
MAX_MATCHES = 1000


def _not_yet(method: str) -> Unimplemented:
    return Unimplemented(
        f"DiscoveryService.{method} belongs to phased discovery and reputation, which this node does not implement yet",
        Reason.FEATURE_NOT_IMPLEMENTED,
    )


class DiscoveryServicer(discovery_service_pb2_grpc.DiscoveryServiceServicer):
    def __init__(self, discovery: Discovery) -> None:
        self._discovery = discovery

    async def FindPeers(self, request: pb.FindPeersRequest, context: grpc.aio.ServicerContext) -> pb.FindPeersResponse:
        if request.max_matches < 0:
            raise InvalidArgument("max_matches must not be negative", Reason.INVALID_ARGUMENT, field="max_matches")
        matches = await self._discovery.find(query_from_pb(request.query))
        limit = min(request.max_matches or DEFAULT_MAX_MATCHES, MAX_MATCHES)
        return pb.FindPeersResponse(
            matches=[match_to_pb(m, self._discovery.addresses_of(m.peer_id)) for m in matches[:limit]]
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
        raise _not_yet("GetReputation")

    async def ListReputation(
        self, request: pb.ListReputationRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReputationResponse:
        raise _not_yet("ListReputation")
