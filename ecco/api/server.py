"""The daemon's gRPC servers: always a unix socket (mode 0600), optionally loopback TCP guarded by a bearer token.

Both serve the same servicers plus grpc health and server reflection. They are separate servers because only the
TCP one needs the token check, and a grpc.aio interceptor cannot tell which listener a call came in on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ecco.api.edge import EdgeInterceptor
from ecco.api.events import EventServicer
from ecco.api.node import NodeServicer
from ecco.api.unimplemented import planned_services, unimplemented_handlers
from ecco.errors import Reason, Unavailable
from ecco.limits import GRPC_MESSAGE_OPTIONS
from ecco.services.node import NodeRuntime
from ecco.v1 import event_service_pb2, event_service_pb2_grpc, node_service_pb2, node_service_pb2_grpc

OVERALL_HEALTH = ""  # the empty service name stands for the whole server in grpc health


def service_names() -> list[str]:
    """Every service the API serves, as reflection lists them."""
    ecco_services = [
        node_service_pb2.DESCRIPTOR.services_by_name["NodeService"].full_name,
        event_service_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
        *(s.full_name for s in planned_services()),
    ]
    return [*ecco_services, health.SERVICE_NAME, reflection.SERVICE_NAME]


class _MethodAwarePool:
    """Lets reflection resolve a fully qualified method name (what `grpcurl describe pkg.Service.Method` asks for):
    protobuf's descriptor pool indexes services but not their methods (grpc/grpc#34743), so an unknown symbol
    falls back to the file of its parent."""

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def FindFileContainingSymbol(self, symbol: str) -> Any:
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            parent = symbol.rpartition(".")[0]
            if not parent:
                raise
            return self._pool.FindFileContainingSymbol(parent)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


@dataclass
class ApiServers:
    unix: grpc.aio.Server
    health: health.aio.HealthServicer
    tcp: grpc.aio.Server | None = None
    tcp_address: str = ""
    servers: list[grpc.aio.Server] = field(default_factory=list)

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in (OVERALL_HEALTH, *service_names()[:-2]):
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        for server in self.servers:
            await server.stop(grace)


def _build(runtime: NodeRuntime, health_servicer: health.aio.HealthServicer, token: str | None) -> grpc.aio.Server:
    # grpc sets SO_REUSEPORT by default, which would let a second node bind the same TCP port and take half of the
    # first one's calls: the listener must be exclusive, so a port in use is refused at start.
    server = grpc.aio.server(
        interceptors=[EdgeInterceptor(token)], options=[*GRPC_MESSAGE_OPTIONS, ("grpc.so_reuseport", 0)]
    )
    node_service_pb2_grpc.add_NodeServiceServicer_to_server(NodeServicer(runtime), server)
    event_service_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(runtime.events), server)
    served: set[str] = set()
    if runtime.messenger is not None:
        from ecco.api.messaging import MessagingServicer
        from ecco.v1 import messaging_service_pb2_grpc

        messaging_service_pb2_grpc.add_MessagingServiceServicer_to_server(
            MessagingServicer(runtime.messenger, runtime.discovery), server
        )
        served.add("ecco.v1.MessagingService")
    if runtime.discovery is not None:
        from ecco.api.discovery import DiscoveryServicer
        from ecco.v1 import discovery_service_pb2_grpc

        discovery_service_pb2_grpc.add_DiscoveryServiceServicer_to_server(
            DiscoveryServicer(runtime.discovery, runtime.reputation), server
        )
        served.add("ecco.v1.DiscoveryService")
    if runtime.consensus is not None and runtime.verifier is not None:
        from ecco.api.consensus import ConsensusServicer
        from ecco.v1 import consensus_service_pb2_grpc

        consensus_service_pb2_grpc.add_ConsensusServiceServicer_to_server(
            ConsensusServicer(runtime.consensus, runtime.verifier), server
        )
        served.add("ecco.v1.ConsensusService")
    if runtime.payments is not None and runtime.agreements is not None:
        from ecco.api.payment import PaymentServicer
        from ecco.v1 import payment_service_pb2_grpc

        payment_service_pb2_grpc.add_PaymentServiceServicer_to_server(
            PaymentServicer(runtime.payments, runtime.agreements), server
        )
        served.add("ecco.v1.PaymentService")
    if runtime.registry is not None:
        from ecco.api.registry import RegistryServicer
        from ecco.v1 import registry_service_pb2_grpc

        registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(runtime.registry), server)
        served.add("ecco.v1.RegistryService")
    if runtime.bridge is not None:
        from ecco.api.bridge import BridgeServicer
        from ecco.v1 import bridge_service_pb2_grpc

        bridge_service_pb2_grpc.add_BridgeServiceServicer_to_server(BridgeServicer(runtime.bridge), server)
        served.add("ecco.v1.BridgeService")
    server.add_generic_rpc_handlers(unimplemented_handlers(skip=served))
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(service_names(), server, pool=_MethodAwarePool(descriptor_pool.Default()))
    return server


async def start_servers(runtime: NodeRuntime, socket_path: Path, tcp_listen: str, token: str | None) -> ApiServers:
    """Bind and start the servers; the socket is created 0600 inside the node's 0700 directory."""
    health_servicer = health.aio.HealthServicer()
    unix = _build(runtime, health_servicer, token=None)
    socket_path.unlink(missing_ok=True)
    old_umask = os.umask(0o177)
    try:
        unix.add_insecure_port(f"unix:{socket_path}")
        await unix.start()
    finally:
        os.umask(old_umask)
    os.chmod(socket_path, 0o600)
    servers = ApiServers(unix, health_servicer, servers=[unix])
    if tcp_listen:
        tcp = _build(runtime, health_servicer, token=token)
        try:
            port = tcp.add_insecure_port(tcp_listen)
        except RuntimeError:
            await unix.stop(0)
            raise Unavailable(f"cannot listen on {tcp_listen} (address in use?)", Reason.CONFIG_INVALID) from None
        await tcp.start()
        host = tcp_listen.rpartition(":")[0]
        servers.tcp, servers.tcp_address = tcp, f"{host}:{port}"
        servers.servers.append(tcp)
    return servers
