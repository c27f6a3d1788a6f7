"""RegistryService: `ecco register --uri` over the ERC-8004 registry service."""

from __future__ import annotations

import grpc

from ecco.api.convert import timestamp_ms
from ecco.services.payments import Registry
from ecco.v1 import registry_service_pb2 as pb
from ecco.v1 import registry_service_pb2_grpc


class RegistryServicer(registry_service_pb2_grpc.RegistryServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def Register(self, request: pb.RegisterRequest, context: grpc.aio.ServicerContext) -> pb.RegisterResponse:
        chain_id = request.chain_id if request.HasField("chain_id") else None
        done = await self._registry.register(request.agent_uri, chain_id)
        return pb.RegisterResponse(
            agent_id=str(done.agent_id),
            tx_hash=done.tx_hash,
            chain_id=done.chain_id,
            registry_address=done.registry,
            already_registered=done.already_registered,
            agent_registry=done.agent_registry,
            owner_address=done.owner,
            agent_uri=done.agent_uri,
        )

    async def GetRegistration(
        self, request: pb.GetRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRegistrationResponse:
        chain_id = request.chain_id if request.HasField("chain_id") else None
        found = await self._registry.get(chain_id)
        if found is None:
            return pb.GetRegistrationResponse(registered=False)
        return pb.GetRegistrationResponse(
            registered=True,
            agent_id=str(found.agent_id),
            agent_uri=found.agent_uri,
            tx_hash=found.tx_hash,
            chain_id=found.chain_id,
            registry_address=found.registry,
            agent_registry=found.agent_registry,
            owner_address=found.owner,
            register_time=timestamp_ms(found.register_ms),
        )
