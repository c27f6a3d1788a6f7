"""Placeholders for services whose features are not built yet: every RPC answers UNIMPLEMENTED with a message
that names the feature, instead of grpc's bare "Method not implemented!"."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from ecco.errors import Reason, Unimplemented

# proto module -> (service, the feature that will implement it)
PLANNED: dict[str, tuple[str, str]] = {
    "messaging_service_pb2": ("MessagingService", "messaging over libp2p (msg, request, send, ask, peers)"),
    "discovery_service_pb2": ("DiscoveryService", "discovery (peer find, peer discover, reputation)"),
    "consensus_service_pb2": ("ConsensusService", "multi-agent consensus"),
    "payment_service_pb2": ("PaymentService", "payments (invoices, settlement, escrow, streaming, swarm)"),
    "registry_service_pb2": ("RegistryService", "on-chain ERC-8004 registration"),
    "bridge_service_pb2": ("BridgeService", "the OpenClaw webhook bridge"),
}


def planned_services() -> list[ServiceDescriptor]:
    found = []
    for module_name, (service, _) in PLANNED.items():
        module = importlib.import_module(f"ecco.v1.{module_name}")
        found.append(module.DESCRIPTOR.services_by_name[service])
    return found


def _handler(method: MethodDescriptor, feature: str) -> grpc.RpcMethodHandler:
    message = (
        f"{method.containing_service.name}.{method.name} belongs to {feature}, which this node does not implement yet"
    )
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    serializers: dict[str, Any] = {
        "request_deserializer": request_class.FromString,
        "response_serializer": response_class.SerializeToString,
    }

    # A new exception per call: re-raising one shared instance would grow its traceback with every call.
    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        raise Unimplemented(message, Reason.FEATURE_NOT_IMPLEMENTED)

    async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        raise Unimplemented(message, Reason.FEATURE_NOT_IMPLEMENTED)
        yield  # pragma: no cover - makes this an async generator

    if method.client_streaming and method.server_streaming:
        return grpc.stream_stream_rpc_method_handler(stream, **serializers)
    if method.client_streaming:
        return grpc.stream_unary_rpc_method_handler(unary, **serializers)
    if method.server_streaming:
        return grpc.unary_stream_rpc_method_handler(stream, **serializers)
    return grpc.unary_unary_rpc_method_handler(unary, **serializers)


def unimplemented_handlers(skip: set[str]) -> list[grpc.GenericRpcHandler]:
    """Generic handlers for every planned service not in `skip` (full names of services that are served)."""
    features = {service: feature for service, feature in PLANNED.values()}
    handlers = []
    for service in planned_services():
        if service.full_name in skip:
            continue
        methods = {m.name: _handler(m, features[service.name]) for m in service.methods}
        handlers.append(grpc.method_handlers_generic_handler(service.full_name, methods))
    return handlers
