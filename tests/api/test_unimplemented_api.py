"""Planned services answer UNIMPLEMENTED with reason FEATURE_NOT_IMPLEMENTED and a message naming the feature."""

from __future__ import annotations

import importlib

import pytest
from google.protobuf import message_factory

from ecco.client import NodeClient
from ecco.errors import Reason, Unimplemented

# service -> (proto module, a word of the feature's name the message must contain)
PLANNED = {
    "MessagingService": ("messaging_service_pb2", "messaging"),
    "DiscoveryService": ("discovery_service_pb2", "discovery"),
    "ConsensusService": ("consensus_service_pb2", "consensus"),
    "PaymentService": ("payment_service_pb2", "payments"),
    "RegistryService": ("registry_service_pb2", "ERC-8004"),
    "BridgeService": ("bridge_service_pb2", "bridge"),
}
UNARY = {
    "MessagingService": "SendPrompt",
    "DiscoveryService": "FindPeers",
    "ConsensusService": "Query",
    "PaymentService": "ListInvoices",
    "RegistryService": "GetRegistration",
    "BridgeService": "GetBridgeStatus",
}
STREAMING = [
    ("DiscoveryService", "DiscoverPeers"),
    ("ConsensusService", "StreamQuery"),
    ("MessagingService", "StreamPrompt"),
]


def request_for(service: str, method: str):
    module = importlib.import_module(f"ecco.v1.{PLANNED[service][0]}")
    return getattr(module, f"{method}Request")()


def assert_unimplemented(error: Unimplemented, service: str, method: str) -> None:
    assert error.code == "UNIMPLEMENTED"
    assert error.reason == Reason.FEATURE_NOT_IMPLEMENTED
    assert f"{service}.{method}" in error.message
    assert PLANNED[service][1] in error.message


@pytest.mark.parametrize("service", sorted(UNARY))
def test_unary_rpc_of_planned_service_is_unimplemented(client: NodeClient, service: str) -> None:
    method = UNARY[service]
    with pytest.raises(Unimplemented) as info:
        client.call(getattr(client.stub(service), method), request_for(service, method))
    assert_unimplemented(info.value, service, method)


@pytest.mark.parametrize(("service", "method"), STREAMING)
def test_streaming_rpc_of_planned_service_is_unimplemented(client: NodeClient, service: str, method: str) -> None:
    with pytest.raises(Unimplemented) as info:
        list(client.stream(getattr(client.stub(service), method), request_for(service, method), timeout=10))
    assert_unimplemented(info.value, service, method)


def test_every_method_of_every_planned_service_is_unimplemented(client: NodeClient) -> None:
    checked = 0
    for service, (module_name, _) in PLANNED.items():
        descriptor = importlib.import_module(f"ecco.v1.{module_name}").DESCRIPTOR.services_by_name[service]
        stub = client.stub(service)
        for method in descriptor.methods:
            request = message_factory.GetMessageClass(method.input_type)()
            rpc = getattr(stub, method.name)
            with pytest.raises(Unimplemented) as info:
                if method.server_streaming:
                    list(client.stream(rpc, request, timeout=10))
                else:
                    client.call(rpc, request)
            assert_unimplemented(info.value, service, method.name)
            checked += 1
    assert checked >= 28  # the loop really ran over every planned RPC


async def test_each_call_raises_a_fresh_error() -> None:
    """A shared exception instance would grow its traceback (pinning every request and context) forever."""
    from ecco.api.unimplemented import _handler, planned_services

    method = planned_services()[0].methods[0]
    handler = _handler(method, "a feature")
    raised = []
    for _ in range(3):
        with pytest.raises(Unimplemented) as info:
            await handler.unary_unary(None, None)
        raised.append(info.value)
    assert len({id(error) for error in raised}) == 3
    assert all(len(_frames(error)) <= 2 for error in raised)


def _frames(error: BaseException) -> list:
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    return frames
