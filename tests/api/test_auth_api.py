"""The loopback TCP listener requires the bearer token; the unix socket (0600) and health checks do not."""

from __future__ import annotations

import stat

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ecco.errors import Reason, Unauthenticated
from ecco.v1 import event_service_pb2
from ecco.v1 import node_service_pb2 as pb


def status(client):
    return client.call(client.stub("NodeService").GetStatus, pb.GetStatusRequest())


def test_tcp_listens_on_loopback_with_a_real_port(tcp_node) -> None:
    host, _, port = tcp_node.tcp_target.rpartition(":")
    assert host == "127.0.0.1"
    assert int(port) > 0


def test_tcp_without_token_is_token_missing(tcp_node) -> None:
    with pytest.raises(Unauthenticated) as info:
        status(tcp_node.client(tcp=True))
    assert info.value.code == "UNAUTHENTICATED"
    assert info.value.reason == Reason.TOKEN_MISSING
    assert "authorization" in info.value.message


def test_tcp_with_wrong_token_is_token_invalid(tcp_node) -> None:
    with pytest.raises(Unauthenticated) as info:
        status(tcp_node.client(tcp=True, token=tcp_node.token + "x"))
    assert info.value.reason == Reason.TOKEN_INVALID
    assert tcp_node.token not in info.value.message


@pytest.mark.parametrize("header", ["Basic {token}", "{token}", "Bearer", "Bearer "])
def test_tcp_with_malformed_authorization_is_token_invalid(tcp_node, header: str) -> None:
    stub = pb_stub(tcp_node.channel(tcp=True))
    with pytest.raises(grpc.RpcError) as info:
        stub.GetStatus(
            pb.GetStatusRequest(), timeout=10, metadata=(("authorization", header.format(token=tcp_node.token)),)
        )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(info.value) == "TOKEN_INVALID"


def test_tcp_with_right_token_works(tcp_node) -> None:
    reply = status(tcp_node.client(tcp=True, token=tcp_node.token))
    assert reply.peer_id == tcp_node.runtime.peer_id
    assert reply.api_tcp_address == tcp_node.tcp_target


def test_tcp_stream_needs_the_token_too(tcp_node) -> None:
    tcp_node.append("ping")
    request = event_service_pb2.SubscribeRequest()
    anonymous = tcp_node.client(tcp=True)
    with pytest.raises(Unauthenticated) as info:
        list(anonymous.stream(anonymous.stub("EventService").Subscribe, request, timeout=10))
    assert info.value.reason == Reason.TOKEN_MISSING
    allowed = tcp_node.client(tcp=True, token=tcp_node.token)
    messages = list(allowed.stream(allowed.stub("EventService").Subscribe, request, timeout=10))
    assert [e.cursor for m in messages for e in m.events] == [1]


def test_tcp_planned_service_checks_the_token_first(tcp_node) -> None:
    from ecco.v1 import bridge_service_pb2

    anonymous = tcp_node.client(tcp=True)
    with pytest.raises(Unauthenticated) as info:
        anonymous.call(anonymous.stub("BridgeService").GetBridgeStatus, bridge_service_pb2.GetBridgeStatusRequest())
    assert info.value.reason == Reason.TOKEN_MISSING


def test_tcp_auth_errors_carry_error_info(tcp_node) -> None:
    with pytest.raises(grpc.RpcError) as info:
        pb_stub(tcp_node.channel(tcp=True)).GetStatus(pb.GetStatusRequest(), timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(info.value) == "TOKEN_MISSING"


def test_health_check_on_tcp_needs_no_token(tcp_node) -> None:
    health = health_pb2_grpc.HealthStub(tcp_node.channel(tcp=True))
    reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_unix_socket_needs_no_token(tcp_node) -> None:
    assert status(tcp_node.client()).peer_id == tcp_node.runtime.peer_id


def test_socket_file_is_private(node) -> None:
    mode = node.socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


def pb_stub(channel: grpc.Channel):
    from ecco.v1 import node_service_pb2_grpc

    return node_service_pb2_grpc.NodeServiceStub(channel)


def reason_of(error: grpc.RpcError) -> str:
    [raw] = [v for k, v in error.trailing_metadata() if k == "grpc-status-details-bin"]
    [detail] = status_pb2.Status.FromString(raw).details
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info)
    assert info.domain == "ecco.v1"
    return info.reason
