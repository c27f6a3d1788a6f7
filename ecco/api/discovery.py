"""DiscoveryService: capability search over the node's discovery (gossip + local cache)."""

from __future__ import annotations

import grpc

from ecco.api.convert import match_to_pb, query_from_pb
from ecco.errors import InvalidArgument, Reason, Unimplemented
from ecco.services.discovery import Discovery
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

    async def DiscoverPeers(self, request: pb.DiscoverPeersRequest, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
        raise _not_yet("DiscoverPeers")
        yield  # pragma: no cover - makes this a server-streaming handler

    async def GetReputation(
        self, request: pb.GetReputationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReputationResponse:
        raise _not_yet("GetReputation")

    async def ListReputation(
        self, request: pb.ListReputationRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReputationResponse:
        raise _not_yet("ListReputation")
