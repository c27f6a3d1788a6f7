"""ConsensusService: Query, StreamQuery and VerifyReceipt over the node's consensus flow."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import grpc

from ecco.api.convert import discovery_options_from_pb, enum_from_pb, progress_to_pb, query_from_pb, timestamp_ms
from ecco.api.messaging import message_to_pb
from ecco.errors import Internal, InvalidArgument, Reason
from ecco.parsing import Aggregation, DiscoveryMode, Selection, Similarity
from ecco.services.consensus import (
    AgentAnswer,
    AgentStatus,
    Consensus,
    ConsensusEvent,
    ConsensusOptions,
    ConsensusOutcome,
    Selected,
    verify_receipt,
)
from ecco.services.crypto_ports import Verifier
from ecco.services.discovery import CapabilityQuery, PhaseProgress
from ecco.services.envelope import Message, canonical_json, parse_json
from ecco.v1 import common_pb2, consensus_service_pb2_grpc
from ecco.v1 import consensus_service_pb2 as pb

SELECTIONS = {
    pb.SELECTION_STRATEGY_UNSPECIFIED: Selection.ALL,
    pb.SELECTION_STRATEGY_ALL: Selection.ALL,
    pb.SELECTION_STRATEGY_TOP_N: Selection.TOP_N,
    pb.SELECTION_STRATEGY_ROUND_ROBIN: Selection.ROUND_ROBIN,
    pb.SELECTION_STRATEGY_RANDOM: Selection.RANDOM,
    pb.SELECTION_STRATEGY_WEIGHTED: Selection.WEIGHTED,
}
AGGREGATIONS = {
    pb.AGGREGATION_STRATEGY_UNSPECIFIED: Aggregation.CONSENSUS_THRESHOLD,
    pb.AGGREGATION_STRATEGY_MAJORITY_VOTE: Aggregation.MAJORITY_VOTE,
    pb.AGGREGATION_STRATEGY_WEIGHTED_VOTE: Aggregation.WEIGHTED_VOTE,
    pb.AGGREGATION_STRATEGY_BEST_SCORE: Aggregation.BEST_SCORE,
    pb.AGGREGATION_STRATEGY_ENSEMBLE: Aggregation.ENSEMBLE,
    pb.AGGREGATION_STRATEGY_CONSENSUS_THRESHOLD: Aggregation.CONSENSUS_THRESHOLD,
    pb.AGGREGATION_STRATEGY_FIRST_RESPONSE: Aggregation.FIRST_RESPONSE,
    pb.AGGREGATION_STRATEGY_LONGEST: Aggregation.LONGEST,
    pb.AGGREGATION_STRATEGY_SYNTHESIZED_CONSENSUS: Aggregation.SYNTHESIZED_CONSENSUS,
    pb.AGGREGATION_STRATEGY_CUSTOM: Aggregation.CUSTOM,
}
AGGREGATIONS_TO_PB = {name: number for number, name in AGGREGATIONS.items() if number}
SELECTIONS_TO_PB = {name: number for number, name in SELECTIONS.items() if number}
SIMILARITIES = {
    pb.SIMILARITY_METHOD_UNSPECIFIED: Similarity.CONTENT,
    pb.SIMILARITY_METHOD_EXACT: Similarity.EXACT,
    pb.SIMILARITY_METHOD_TEXT_OVERLAP: Similarity.TEXT_OVERLAP,
    pb.SIMILARITY_METHOD_PEER_EMBEDDING: Similarity.PEER_EMBEDDING,
    pb.SIMILARITY_METHOD_CONTENT: Similarity.CONTENT,
}
MODES = {
    pb.DISCOVERY_MODE_UNSPECIFIED: DiscoveryMode.PHASED,
    pb.DISCOVERY_MODE_PHASED: DiscoveryMode.PHASED,
    pb.DISCOVERY_MODE_FIND: DiscoveryMode.FIND,
}
STATUSES_TO_PB = {
    AgentStatus.SUCCEEDED: pb.CONSENSUS_AGENT_STATUS_SUCCEEDED,
    AgentStatus.FAILED: pb.CONSENSUS_AGENT_STATUS_FAILED,
    AgentStatus.TIMED_OUT: pb.CONSENSUS_AGENT_STATUS_TIMED_OUT,
    AgentStatus.UNREACHABLE: pb.CONSENSUS_AGENT_STATUS_UNREACHABLE,
    AgentStatus.CANCELLED: pb.CONSENSUS_AGENT_STATUS_CANCELLED,
}


def consensus_query_from_pb(query: common_pb2.CapabilityQuery) -> CapabilityQuery:
    """Like the other services' queries, except that no capability at all means any peer that announces one
    (upstream's consensus default), optionally only among --preferred peers."""
    if query.name or query.type or query.version or query.features or query.raw_json:
        return query_from_pb(query)
    return CapabilityQuery.from_raw(
        {"requiredCapabilities": [], "preferredPeers": list(query.preferred_peer_ids)}, field="--preferred"
    )


def options_from_pb(options: pb.ConsensusOptions) -> ConsensusOptions:
    """Validated options; unset and 0 take the defaults. Errors name the CLI flag."""
    mode = enum_from_pb(MODES, options.discovery_mode, "discovery_mode", "discovery mode")
    discovery = discovery_options_from_pb(options.discovery)
    min_agents = options.min_agents
    if not options.discovery.min_peers and min_agents > discovery.min_peers:
        # discovery should not stop before it found the agents the query needs
        discovery = dataclasses.replace(discovery, min_peers=min_agents)
    if options.min_agents < 0:
        raise InvalidArgument(
            f"--min-agents: must be a positive integer, got {options.min_agents}",
            Reason.INVALID_ARGUMENT,
            field="--min-agents",
        )
    if options.agent_count < 0:
        raise InvalidArgument(
            f"--agent-count: must be at least 1, got {options.agent_count}",
            Reason.INVALID_ARGUMENT,
            field="--agent-count",
        )
    if options.timeout_ms < 0:
        raise InvalidArgument(
            f"--timeout: must be a positive number of milliseconds, got {options.timeout_ms}",
            Reason.INVALID_ARGUMENT,
            field="--timeout",
        )
    return ConsensusOptions.create(
        mode=mode,
        query=consensus_query_from_pb(options.query),
        discovery=discovery,
        discovery_given=options.HasField("discovery"),
        selection=enum_from_pb(SELECTIONS, options.selection, "--selection", "selection strategy"),
        aggregation=enum_from_pb(AGGREGATIONS, options.aggregation, "--aggregation", "aggregation strategy"),
        agent_count=options.agent_count,
        min_agents=min_agents,
        timeout_ms=options.timeout_ms,
        consensus_threshold=options.consensus_threshold if options.HasField("consensus_threshold") else None,
        allow_partial=options.allow_partial if options.HasField("allow_partial") else None,
        decide_early=options.decide_early if options.HasField("decide_early") else None,
        system_prompt=options.system_prompt,
        include_self=options.include_self if options.HasField("include_self") else None,
        synthesizer=options.synthesizer,
        aggregator_cmd=options.aggregator_cmd,
        similarity=enum_from_pb(SIMILARITIES, options.similarity, "--similarity", "similarity method"),
        similarity_threshold=options.similarity_threshold if options.HasField("similarity_threshold") else None,
    )


def answer_to_pb(answer: AgentAnswer) -> pb.ConsensusAgentResponse:
    response = pb.ConsensusAgentResponse(
        peer_id=answer.peer_id,
        text=answer.text,
        latency_ms=answer.latency_ms,
        status=STATUSES_TO_PB[answer.status],
        error=answer.error,
        message_id=answer.message.id if answer.message else "",
        request_message_id=answer.request_message_id,
        match_score=answer.match_score,
        self_answer=answer.self_answer,
    )
    if answer.message is not None:
        response.message.CopyFrom(message_to_pb(answer.message))
    return response


def receipt_to_pb(receipt: dict[str, Any]) -> pb.ConsensusReceipt:
    return pb.ConsensusReceipt(
        receipt_json=canonical_json(receipt),
        consensus_id=receipt["consensusId"],
        prompt_hash=receipt["promptHash"],
        strategy=AGGREGATIONS_TO_PB[Aggregation(receipt["strategy"])],
        selection=SELECTIONS_TO_PB[Selection(receipt["selection"])],
        parameters_json=canonical_json(receipt["parameters"]),
        entries=[
            pb.ConsensusReceiptEntry(
                peer_id=e["peerId"],
                message_id=e["messageId"],
                signature=e["signature"],
                public_key=e["publicKey"],
                response_hash=e["responseHash"],
                match_score=e["matchScore"],
            )
            for e in receipt["entries"]
        ],
        result_hash=receipt["resultHash"],
        confidence=receipt["confidence"],
        achieved=receipt["achieved"],
        agreement=receipt["agreement"],
        signer_peer_id=receipt["signerPeerId"],
        signer_public_key=receipt["signerPublicKey"],
        create_time=timestamp_ms(receipt["createTime"]),
        signature=receipt["signature"],
    )


def outcome_to_pb(outcome: ConsensusOutcome) -> pb.ConsensusResult:
    agg, metrics = outcome.aggregate, outcome.metrics
    return pb.ConsensusResult(
        consensus_id=outcome.consensus_id,
        text=agg.text,
        result_json=canonical_json(agg.result),
        achieved=outcome.achieved,
        confidence=agg.confidence,
        agreement=agg.agreement,
        strategy=AGGREGATIONS_TO_PB[outcome.strategy],
        responses=[answer_to_pb(a) for a in outcome.answers],
        rankings=[
            pb.ConsensusRanking(peer_id=r.peer_id, score=r.score, contribution=r.contribution) for r in outcome.rankings
        ],
        metrics=pb.ConsensusMetrics(
            total_agents=metrics.total_agents,
            successful_agents=metrics.successful_agents,
            failed_agents=metrics.failed_agents,
            average_latency_ms=metrics.average_latency_ms,
            total_time_ms=metrics.total_time_ms,
        ),
        receipt=receipt_to_pb(outcome.receipt),
        votes=[pb.ConsensusVote(text=v.text, peer_ids=list(v.peer_ids), weight=v.weight) for v in agg.votes],
        stop_reason=str(outcome.stop_reason),
    )


def event_to_pb(event: ConsensusEvent) -> pb.StreamQueryResponse:
    if isinstance(event, PhaseProgress):
        return pb.StreamQueryResponse(discovery=progress_to_pb(event))
    if isinstance(event, Selected):
        return pb.StreamQueryResponse(
            selection=pb.ConsensusSelection(candidate_count=event.candidate_count, peer_ids=event.peer_ids)
        )
    if isinstance(event, AgentAnswer):
        return pb.StreamQueryResponse(agent_response=answer_to_pb(event))
    return pb.StreamQueryResponse(result=outcome_to_pb(event))


def message_from_pb(message: common_pb2.Message, index: int) -> Message:
    try:
        payload = parse_json(message.payload_json or "null")
    except (ValueError, RecursionError):
        raise InvalidArgument(
            f"responses[{index}].payload_json is not valid JSON", Reason.INVALID_PAYLOAD, field="responses"
        ) from None
    return Message(
        id=message.id,
        from_=message.from_peer_id,
        to=message.to_peer_id,
        type=message.type,
        payload=payload,
        timestamp=message.timestamp_ms,
        signature=message.signature or None,
        public_key=message.public_key or None,
    )


class ConsensusServicer(consensus_service_pb2_grpc.ConsensusServiceServicer):
    def __init__(self, consensus: Consensus, verifier: Verifier) -> None:
        self._consensus = consensus
        self._verifier = verifier

    def _run(self, request: pb.QueryRequest | pb.StreamQueryRequest) -> AsyncIterator[ConsensusEvent]:
        return self._consensus.run(request.prompt, options_from_pb(request.options), request.request_id)

    async def Query(self, request: pb.QueryRequest, context: grpc.aio.ServicerContext) -> pb.QueryResponse:
        async for event in self._run(request):
            if isinstance(event, ConsensusOutcome):
                return pb.QueryResponse(result=outcome_to_pb(event))
        raise Internal("the consensus query ended without a result", Reason.INTERNAL)

    async def StreamQuery(
        self, request: pb.StreamQueryRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamQueryResponse]:
        async for event in self._run(request):
            yield event_to_pb(event)

    async def VerifyReceipt(
        self, request: pb.VerifyReceiptRequest, context: grpc.aio.ServicerContext
    ) -> pb.VerifyReceiptResponse:
        """Checks the receipt against the responder messages given in the request; a bad receipt is a problem in
        the answer, not an RPC error."""
        messages = [message_from_pb(m, i) for i, m in enumerate(request.responses)]
        report = verify_receipt(request.receipt_json, messages, self._verifier)
        return pb.VerifyReceiptResponse(
            verified=report.verified,
            problems=report.problems,
            signer_peer_id=report.signer_peer_id,
            consensus_id=report.consensus_id,
            responses_verified=report.responses_verified,
        )
