"""ConsensusService through the real client against an in-process server (fake agents): results, streams,
receipts, and every error path with its code and reason."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest

from ecco.client import NodeClient
from ecco.errors import EccoError
from ecco.services.consensus.service import Consensus
from ecco.services.node import NodeRuntime
from ecco.transport.keys import Ed25519Verifier
from ecco.v1 import common_pb2, consensus_service_pb2_grpc
from ecco.v1 import consensus_service_pb2 as pb
from tests.api.conftest import NodeHandle, _start
from tests.unit.test_consensus_flow import ME, FakeDiscovery, FakeMessenger, pid


@pytest.fixture
def consensus_node() -> Iterator[NodeHandle]:
    def configure(runtime: NodeRuntime) -> None:
        discovery = FakeDiscovery(["a", "b", "c", "broken"])
        runtime.consensus = Consensus(FakeMessenger({"c": "London"}), discovery, ME, runtime.events)  # type: ignore[arg-type]
        runtime.verifier = Ed25519Verifier()

    handle, teardown = _start(tcp=False, token=None, configure=configure)
    try:
        yield handle
    finally:
        teardown()


@pytest.fixture
def client(consensus_node: NodeHandle) -> NodeClient:
    return consensus_node.client()


def _query(client: NodeClient, **options: object) -> pb.ConsensusResult:
    stub = client.stub("ConsensusService")
    request = pb.QueryRequest(
        prompt="Capital?", options=pb.ConsensusOptions(discovery_mode=pb.DISCOVERY_MODE_FIND, **options)
    )
    return client.call(stub.Query, request).result


def _error(client: NodeClient, **options: object) -> EccoError:
    with pytest.raises(EccoError) as failure:
        _query(client, **options)
    return failure.value


def test_query_returns_the_aggregated_result_with_a_signed_receipt(client: NodeClient) -> None:
    result = _query(client, aggregation=pb.AGGREGATION_STRATEGY_MAJORITY_VOTE)
    assert (result.text, result.agreement, result.achieved) == ("Paris", 2, True)
    assert result.strategy == pb.AGGREGATION_STRATEGY_MAJORITY_VOTE
    assert (result.metrics.total_agents, result.metrics.successful_agents, result.metrics.failed_agents) == (4, 3, 1)
    statuses = {r.peer_id: r.status for r in result.responses}
    assert statuses[pid("broken")] == pb.CONSENSUS_AGENT_STATUS_FAILED
    receipt = result.receipt
    assert receipt.signer_peer_id == ME.peer_id and len(receipt.entries) == 3
    assert json.loads(receipt.receipt_json)["signature"] == receipt.signature
    assert json.loads(receipt.parameters_json)["aggregation"] == "majority-vote"

    stub = client.stub("ConsensusService")
    messages = [r.message for r in result.responses if r.status == pb.CONSENSUS_AGENT_STATUS_SUCCEEDED]
    good = client.call(
        stub.VerifyReceipt, pb.VerifyReceiptRequest(receipt_json=receipt.receipt_json, responses=messages)
    )
    assert (good.verified, good.responses_verified, good.consensus_id) == (True, 3, result.consensus_id)
    forged = common_pb2.Message()
    forged.CopyFrom(messages[0])
    forged.payload_json = forged.payload_json.replace("Paris", "Rome").replace("London", "Rome")
    bad = client.call(
        stub.VerifyReceipt,
        pb.VerifyReceiptRequest(receipt_json=receipt.receipt_json, responses=[forged, *messages[1:]]),
    )
    assert not bad.verified and "entry 0: response hash mismatch" in bad.problems
    garbage = client.call(stub.VerifyReceipt, pb.VerifyReceiptRequest(receipt_json="{"))
    assert (garbage.verified, list(garbage.problems)) == (False, ["the receipt is not valid JSON"])


def test_stream_query_reports_the_selection_each_agent_then_the_result(client: NodeClient) -> None:
    stub = client.stub("ConsensusService")
    request = pb.StreamQueryRequest(
        prompt="Capital?", options=pb.ConsensusOptions(discovery_mode=pb.DISCOVERY_MODE_FIND)
    )
    kinds = [item.WhichOneof("event") for item in client.stream(stub.StreamQuery, request, timeout=10)]
    assert kinds == ["selection", *["agent_response"] * 4, "result"]


def test_a_missed_threshold_is_a_result_not_an_error(client: NodeClient) -> None:
    result = _query(client, consensus_threshold=0.9)
    assert (result.achieved, result.confidence) == (False, pytest.approx(2 / 3))
    assert [len(v.peer_ids) for v in result.votes] == [2, 1]


@pytest.mark.parametrize(
    ("options", "code", "reason", "field"),
    [
        ({"consensus_threshold": 1.01}, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "--consensus-threshold"),
        ({"agent_count": -1}, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "--agent-count"),
        ({"min_agents": -1}, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "--min-agents"),
        ({"similarity": 42}, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "--similarity"),
        ({"min_agents": 5}, "INVALID_ARGUMENT", "INSUFFICIENT_AGENTS", "--min-agents"),
        ({"selection": 42}, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "--selection"),
        ({"aggregation": 42}, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "--aggregation"),
        ({"timeout_ms": -5}, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "--timeout"),
        ({"allow_partial": False}, "ABORTED", "PARTIAL_RESULTS_NOT_ALLOWED", "--allow-partial"),
        (
            {"aggregation": pb.AGGREGATION_STRATEGY_SYNTHESIZED_CONSENSUS},
            "FAILED_PRECONDITION",
            "NO_SYNTHESIZER",
            "--synthesizer",
        ),
        (
            {"discovery": common_pb2.DiscoveryOptions(min_peers=2)},
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
            "--phases",
        ),
        (
            {"query": common_pb2.CapabilityQuery(raw_json="{")},
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
            "--raw",
        ),
    ],
)
def test_errors_carry_code_reason_and_field(
    client: NodeClient, options: dict[str, object], code: str, reason: str, field: str
) -> None:
    error = _error(client, **options)
    assert (error.code, str(error.reason), error.field) == (code, reason, field)


def test_empty_prompt_and_reused_request_id(client: NodeClient) -> None:
    stub = client.stub("ConsensusService")
    with pytest.raises(EccoError) as failure:
        client.call(stub.Query, pb.QueryRequest(prompt=" "))
    assert (failure.value.code, failure.value.field) == ("INVALID_ARGUMENT", "prompt")
    find = pb.ConsensusOptions(discovery_mode=pb.DISCOVERY_MODE_FIND)
    first = client.call(stub.Query, pb.QueryRequest(request_id="r-1", prompt="Q", options=find)).result
    again = client.call(stub.Query, pb.QueryRequest(request_id="r-1", prompt="Q", options=find)).result
    assert first == again
    with pytest.raises(EccoError) as failure:
        client.call(stub.Query, pb.QueryRequest(request_id="r-1", prompt="other", options=find))
    assert str(failure.value.reason) == "IDEMPOTENCY_CONFLICT"


def test_a_node_without_consensus_answers_unimplemented(node: NodeHandle) -> None:
    channel = node.channel()
    with pytest.raises(grpc.RpcError) as failure:
        consensus_service_pb2_grpc.ConsensusServiceStub(channel).Query(pb.QueryRequest(prompt="x"), timeout=5)
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_verify_receipt_refuses_a_response_whose_payload_is_not_json(client: NodeClient) -> None:
    stub = client.stub("ConsensusService")
    broken = common_pb2.Message(id="m-1", type="agent-response", payload_json="{")
    with pytest.raises(EccoError) as failure:
        client.call(stub.VerifyReceipt, pb.VerifyReceiptRequest(receipt_json="{}", responses=[broken]))
    assert (failure.value.code, str(failure.value.reason), failure.value.field) == (
        "INVALID_ARGUMENT",
        "INVALID_PAYLOAD",
        "responses",
    )
    assert failure.value.message == "responses[0].payload_json is not valid JSON"
