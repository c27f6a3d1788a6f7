"""Server reflection (unix socket, and TCP with the token) and grpc health."""

from __future__ import annotations

import collections

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

EXPECTED_SERVICES = {
    "ecco.v1.NodeService",
    "ecco.v1.EventService",
    "ecco.v1.MessagingService",
    "ecco.v1.DiscoveryService",
    "ecco.v1.ConsensusService",
    "ecco.v1.PaymentService",
    "ecco.v1.RegistryService",
    "ecco.v1.BridgeService",
    "grpc.health.v1.Health",
}


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    pass


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer <token>` to every call, as grpcurl -H would."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details: grpc.ClientCallDetails) -> _CallDetails:
        metadata = [*(details.metadata or ()), self._header]
        return _CallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready, details.compression
        )

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)


def check_reflection(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert services >= EXPECTED_SERVICES, EXPECTED_SERVICES - services
    # Clients resolve a method through its service (grpc-python cannot look a method name up directly:
    # grpc/grpc#34743).
    pool = descriptor_pool.DescriptorPool(database)
    subscribe = pool.FindServiceByName("ecco.v1.EventService").methods_by_name["Subscribe"]
    assert subscribe.full_name == "ecco.v1.EventService.Subscribe"
    assert subscribe.input_type.full_name == "ecco.v1.SubscribeRequest"
    assert subscribe.output_type.full_name == "ecco.v1.SubscribeResponse"
    assert subscribe.server_streaming
    settle = pool.FindServiceByName("ecco.v1.PaymentService").methods_by_name["Settle"]
    assert settle.input_type.full_name == "ecco.v1.SettleRequest"
    cursor_field = pool.FindMessageTypeByName("ecco.v1.SubscribeRequest").fields_by_name["cursor"]
    assert cursor_field.number == 1


def test_reflection_on_unix_socket(node) -> None:
    check_reflection(node.channel())


def test_reflection_resolves_a_method_name_directly(node) -> None:
    """`grpcurl describe ecco.v1.EventService.Subscribe` asks reflection for the method's own name."""
    database = ProtoReflectionDescriptorDatabase(node.channel())
    found = database.FindFileContainingSymbol("ecco.v1.EventService.Subscribe")
    assert found.name == "ecco/v1/event_service.proto"
    with pytest.raises(KeyError):
        database.FindFileContainingSymbol("ecco.v1.NoSuchService.Method")


def test_reflection_on_tcp_with_token(tcp_node) -> None:
    channel = grpc.intercept_channel(tcp_node.channel(tcp=True), BearerToken(tcp_node.token))
    check_reflection(channel)


def test_reflection_on_tcp_without_token_is_refused(tcp_node) -> None:
    database = ProtoReflectionDescriptorDatabase(tcp_node.channel(tcp=True))
    with pytest.raises(grpc.RpcError) as info:
        database.get_services()
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_is_serving(node) -> None:
    health = health_pb2_grpc.HealthStub(node.channel())
    for service in ("", "ecco.v1.NodeService", "ecco.v1.EventService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service


def test_health_follows_set_serving(node) -> None:
    health = health_pb2_grpc.HealthStub(node.channel())
    node.run(node.servers.set_serving(False))
    assert (
        health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.NOT_SERVING
    )
    node.run(node.servers.set_serving(True))
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING


def test_health_of_unknown_service_is_not_found(node) -> None:
    with pytest.raises(grpc.RpcError) as info:
        health_pb2_grpc.HealthStub(node.channel()).Check(
            health_pb2.HealthCheckRequest(service="nope.Service"), timeout=10
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_watch_streams_the_status(node) -> None:
    health = health_pb2_grpc.HealthStub(node.channel())
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    try:
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        node.run(node.servers.set_serving(False))
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        watch.cancel()
