import datetime

from ecco.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DiscoveryMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISCOVERY_MODE_UNSPECIFIED: _ClassVar[DiscoveryMode]
    DISCOVERY_MODE_PHASED: _ClassVar[DiscoveryMode]
    DISCOVERY_MODE_FIND: _ClassVar[DiscoveryMode]

class SelectionStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELECTION_STRATEGY_UNSPECIFIED: _ClassVar[SelectionStrategy]
    SELECTION_STRATEGY_ALL: _ClassVar[SelectionStrategy]
    SELECTION_STRATEGY_TOP_N: _ClassVar[SelectionStrategy]
    SELECTION_STRATEGY_ROUND_ROBIN: _ClassVar[SelectionStrategy]
    SELECTION_STRATEGY_RANDOM: _ClassVar[SelectionStrategy]
    SELECTION_STRATEGY_WEIGHTED: _ClassVar[SelectionStrategy]

class AggregationStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGGREGATION_STRATEGY_UNSPECIFIED: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_MAJORITY_VOTE: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_WEIGHTED_VOTE: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_BEST_SCORE: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_ENSEMBLE: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_CONSENSUS_THRESHOLD: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_FIRST_RESPONSE: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_LONGEST: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_SYNTHESIZED_CONSENSUS: _ClassVar[AggregationStrategy]
    AGGREGATION_STRATEGY_CUSTOM: _ClassVar[AggregationStrategy]

class SimilarityMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIMILARITY_METHOD_UNSPECIFIED: _ClassVar[SimilarityMethod]
    SIMILARITY_METHOD_EXACT: _ClassVar[SimilarityMethod]
    SIMILARITY_METHOD_TEXT_OVERLAP: _ClassVar[SimilarityMethod]
    SIMILARITY_METHOD_PEER_EMBEDDING: _ClassVar[SimilarityMethod]
    SIMILARITY_METHOD_CONTENT: _ClassVar[SimilarityMethod]

class ConsensusAgentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENSUS_AGENT_STATUS_UNSPECIFIED: _ClassVar[ConsensusAgentStatus]
    CONSENSUS_AGENT_STATUS_SUCCEEDED: _ClassVar[ConsensusAgentStatus]
    CONSENSUS_AGENT_STATUS_FAILED: _ClassVar[ConsensusAgentStatus]
    CONSENSUS_AGENT_STATUS_TIMED_OUT: _ClassVar[ConsensusAgentStatus]
    CONSENSUS_AGENT_STATUS_UNREACHABLE: _ClassVar[ConsensusAgentStatus]
    CONSENSUS_AGENT_STATUS_CANCELLED: _ClassVar[ConsensusAgentStatus]
DISCOVERY_MODE_UNSPECIFIED: DiscoveryMode
DISCOVERY_MODE_PHASED: DiscoveryMode
DISCOVERY_MODE_FIND: DiscoveryMode
SELECTION_STRATEGY_UNSPECIFIED: SelectionStrategy
SELECTION_STRATEGY_ALL: SelectionStrategy
SELECTION_STRATEGY_TOP_N: SelectionStrategy
SELECTION_STRATEGY_ROUND_ROBIN: SelectionStrategy
SELECTION_STRATEGY_RANDOM: SelectionStrategy
SELECTION_STRATEGY_WEIGHTED: SelectionStrategy
AGGREGATION_STRATEGY_UNSPECIFIED: AggregationStrategy
AGGREGATION_STRATEGY_MAJORITY_VOTE: AggregationStrategy
AGGREGATION_STRATEGY_WEIGHTED_VOTE: AggregationStrategy
AGGREGATION_STRATEGY_BEST_SCORE: AggregationStrategy
AGGREGATION_STRATEGY_ENSEMBLE: AggregationStrategy
AGGREGATION_STRATEGY_CONSENSUS_THRESHOLD: AggregationStrategy
AGGREGATION_STRATEGY_FIRST_RESPONSE: AggregationStrategy
AGGREGATION_STRATEGY_LONGEST: AggregationStrategy
AGGREGATION_STRATEGY_SYNTHESIZED_CONSENSUS: AggregationStrategy
AGGREGATION_STRATEGY_CUSTOM: AggregationStrategy
SIMILARITY_METHOD_UNSPECIFIED: SimilarityMethod
SIMILARITY_METHOD_EXACT: SimilarityMethod
SIMILARITY_METHOD_TEXT_OVERLAP: SimilarityMethod
SIMILARITY_METHOD_PEER_EMBEDDING: SimilarityMethod
SIMILARITY_METHOD_CONTENT: SimilarityMethod
CONSENSUS_AGENT_STATUS_UNSPECIFIED: ConsensusAgentStatus
CONSENSUS_AGENT_STATUS_SUCCEEDED: ConsensusAgentStatus
CONSENSUS_AGENT_STATUS_FAILED: ConsensusAgentStatus
CONSENSUS_AGENT_STATUS_TIMED_OUT: ConsensusAgentStatus
CONSENSUS_AGENT_STATUS_UNREACHABLE: ConsensusAgentStatus
CONSENSUS_AGENT_STATUS_CANCELLED: ConsensusAgentStatus

class ConsensusOptions(_message.Message):
    __slots__ = ("discovery_mode", "query", "discovery", "selection", "aggregation", "agent_count", "min_agents", "timeout_ms", "consensus_threshold", "allow_partial", "system_prompt", "include_self", "synthesizer", "aggregator_cmd", "similarity", "similarity_threshold", "decide_early")
    DISCOVERY_MODE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    DISCOVERY_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    AGENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    MIN_AGENTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SELF_FIELD_NUMBER: _ClassVar[int]
    SYNTHESIZER_FIELD_NUMBER: _ClassVar[int]
    AGGREGATOR_CMD_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DECIDE_EARLY_FIELD_NUMBER: _ClassVar[int]
    discovery_mode: DiscoveryMode
    query: _common_pb2.CapabilityQuery
    discovery: _common_pb2.DiscoveryOptions
    selection: SelectionStrategy
    aggregation: AggregationStrategy
    agent_count: int
    min_agents: int
    timeout_ms: int
    consensus_threshold: float
    allow_partial: bool
    system_prompt: str
    include_self: bool
    synthesizer: str
    aggregator_cmd: str
    similarity: SimilarityMethod
    similarity_threshold: float
    decide_early: bool
    def __init__(self, discovery_mode: _Optional[_Union[DiscoveryMode, str]] = ..., query: _Optional[_Union[_common_pb2.CapabilityQuery, _Mapping]] = ..., discovery: _Optional[_Union[_common_pb2.DiscoveryOptions, _Mapping]] = ..., selection: _Optional[_Union[SelectionStrategy, str]] = ..., aggregation: _Optional[_Union[AggregationStrategy, str]] = ..., agent_count: _Optional[int] = ..., min_agents: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., consensus_threshold: _Optional[float] = ..., allow_partial: _Optional[bool] = ..., system_prompt: _Optional[str] = ..., include_self: _Optional[bool] = ..., synthesizer: _Optional[str] = ..., aggregator_cmd: _Optional[str] = ..., similarity: _Optional[_Union[SimilarityMethod, str]] = ..., similarity_threshold: _Optional[float] = ..., decide_early: _Optional[bool] = ...) -> None: ...

class ConsensusVote(_message.Message):
    __slots__ = ("text", "peer_ids", "weight")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PEER_IDS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    text: str
    peer_ids: _containers.RepeatedScalarFieldContainer[str]
    weight: float
    def __init__(self, text: _Optional[str] = ..., peer_ids: _Optional[_Iterable[str]] = ..., weight: _Optional[float] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("request_id", "prompt", "options")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    prompt: str
    options: ConsensusOptions
    def __init__(self, request_id: _Optional[str] = ..., prompt: _Optional[str] = ..., options: _Optional[_Union[ConsensusOptions, _Mapping]] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ConsensusResult
    def __init__(self, result: _Optional[_Union[ConsensusResult, _Mapping]] = ...) -> None: ...

class StreamQueryRequest(_message.Message):
    __slots__ = ("request_id", "prompt", "options")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    prompt: str
    options: ConsensusOptions
    def __init__(self, request_id: _Optional[str] = ..., prompt: _Optional[str] = ..., options: _Optional[_Union[ConsensusOptions, _Mapping]] = ...) -> None: ...

class StreamQueryResponse(_message.Message):
    __slots__ = ("discovery", "selection", "agent_response", "result")
    DISCOVERY_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    AGENT_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    discovery: _common_pb2.DiscoveryProgress
    selection: ConsensusSelection
    agent_response: ConsensusAgentResponse
    result: ConsensusResult
    def __init__(self, discovery: _Optional[_Union[_common_pb2.DiscoveryProgress, _Mapping]] = ..., selection: _Optional[_Union[ConsensusSelection, _Mapping]] = ..., agent_response: _Optional[_Union[ConsensusAgentResponse, _Mapping]] = ..., result: _Optional[_Union[ConsensusResult, _Mapping]] = ...) -> None: ...

class ConsensusSelection(_message.Message):
    __slots__ = ("candidate_count", "peer_ids")
    CANDIDATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PEER_IDS_FIELD_NUMBER: _ClassVar[int]
    candidate_count: int
    peer_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, candidate_count: _Optional[int] = ..., peer_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ConsensusAgentResponse(_message.Message):
    __slots__ = ("peer_id", "text", "latency_ms", "status", "error", "message_id", "request_message_id", "match_score", "self_answer", "message")
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_SCORE_FIELD_NUMBER: _ClassVar[int]
    SELF_ANSWER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    text: str
    latency_ms: int
    status: ConsensusAgentStatus
    error: str
    message_id: str
    request_message_id: str
    match_score: float
    self_answer: bool
    message: _common_pb2.Message
    def __init__(self, peer_id: _Optional[str] = ..., text: _Optional[str] = ..., latency_ms: _Optional[int] = ..., status: _Optional[_Union[ConsensusAgentStatus, str]] = ..., error: _Optional[str] = ..., message_id: _Optional[str] = ..., request_message_id: _Optional[str] = ..., match_score: _Optional[float] = ..., self_answer: _Optional[bool] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class ConsensusRanking(_message.Message):
    __slots__ = ("peer_id", "score", "contribution")
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    score: float
    contribution: float
    def __init__(self, peer_id: _Optional[str] = ..., score: _Optional[float] = ..., contribution: _Optional[float] = ...) -> None: ...

class ConsensusMetrics(_message.Message):
    __slots__ = ("total_agents", "successful_agents", "failed_agents", "average_latency_ms", "total_time_ms")
    TOTAL_AGENTS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_AGENTS_FIELD_NUMBER: _ClassVar[int]
    FAILED_AGENTS_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    total_agents: int
    successful_agents: int
    failed_agents: int
    average_latency_ms: float
    total_time_ms: int
    def __init__(self, total_agents: _Optional[int] = ..., successful_agents: _Optional[int] = ..., failed_agents: _Optional[int] = ..., average_latency_ms: _Optional[float] = ..., total_time_ms: _Optional[int] = ...) -> None: ...

class ConsensusResult(_message.Message):
    __slots__ = ("consensus_id", "text", "result_json", "achieved", "confidence", "agreement", "strategy", "responses", "rankings", "metrics", "receipt", "votes", "stop_reason")
    CONSENSUS_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ACHIEVED_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    RANKINGS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    consensus_id: str
    text: str
    result_json: str
    achieved: bool
    confidence: float
    agreement: int
    strategy: AggregationStrategy
    responses: _containers.RepeatedCompositeFieldContainer[ConsensusAgentResponse]
    rankings: _containers.RepeatedCompositeFieldContainer[ConsensusRanking]
    metrics: ConsensusMetrics
    receipt: ConsensusReceipt
    votes: _containers.RepeatedCompositeFieldContainer[ConsensusVote]
    stop_reason: str
    def __init__(self, consensus_id: _Optional[str] = ..., text: _Optional[str] = ..., result_json: _Optional[str] = ..., achieved: _Optional[bool] = ..., confidence: _Optional[float] = ..., agreement: _Optional[int] = ..., strategy: _Optional[_Union[AggregationStrategy, str]] = ..., responses: _Optional[_Iterable[_Union[ConsensusAgentResponse, _Mapping]]] = ..., rankings: _Optional[_Iterable[_Union[ConsensusRanking, _Mapping]]] = ..., metrics: _Optional[_Union[ConsensusMetrics, _Mapping]] = ..., receipt: _Optional[_Union[ConsensusReceipt, _Mapping]] = ..., votes: _Optional[_Iterable[_Union[ConsensusVote, _Mapping]]] = ..., stop_reason: _Optional[str] = ...) -> None: ...

class ConsensusReceipt(_message.Message):
    __slots__ = ("receipt_json", "consensus_id", "prompt_hash", "strategy", "selection", "parameters_json", "entries", "result_hash", "confidence", "achieved", "agreement", "signer_peer_id", "signer_public_key", "create_time", "signature")
    RECEIPT_JSON_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_HASH_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    RESULT_HASH_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ACHIEVED_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    SIGNER_PEER_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNER_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    receipt_json: str
    consensus_id: str
    prompt_hash: str
    strategy: AggregationStrategy
    selection: SelectionStrategy
    parameters_json: str
    entries: _containers.RepeatedCompositeFieldContainer[ConsensusReceiptEntry]
    result_hash: str
    confidence: float
    achieved: bool
    agreement: int
    signer_peer_id: str
    signer_public_key: str
    create_time: _timestamp_pb2.Timestamp
    signature: str
    def __init__(self, receipt_json: _Optional[str] = ..., consensus_id: _Optional[str] = ..., prompt_hash: _Optional[str] = ..., strategy: _Optional[_Union[AggregationStrategy, str]] = ..., selection: _Optional[_Union[SelectionStrategy, str]] = ..., parameters_json: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[ConsensusReceiptEntry, _Mapping]]] = ..., result_hash: _Optional[str] = ..., confidence: _Optional[float] = ..., achieved: _Optional[bool] = ..., agreement: _Optional[int] = ..., signer_peer_id: _Optional[str] = ..., signer_public_key: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., signature: _Optional[str] = ...) -> None: ...

class ConsensusReceiptEntry(_message.Message):
    __slots__ = ("peer_id", "message_id", "signature", "public_key", "response_hash", "match_score")
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_HASH_FIELD_NUMBER: _ClassVar[int]
    MATCH_SCORE_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    message_id: str
    signature: str
    public_key: str
    response_hash: str
    match_score: float
    def __init__(self, peer_id: _Optional[str] = ..., message_id: _Optional[str] = ..., signature: _Optional[str] = ..., public_key: _Optional[str] = ..., response_hash: _Optional[str] = ..., match_score: _Optional[float] = ...) -> None: ...

class VerifyReceiptRequest(_message.Message):
    __slots__ = ("receipt_json", "responses")
    RECEIPT_JSON_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    receipt_json: str
    responses: _containers.RepeatedCompositeFieldContainer[_common_pb2.Message]
    def __init__(self, receipt_json: _Optional[str] = ..., responses: _Optional[_Iterable[_Union[_common_pb2.Message, _Mapping]]] = ...) -> None: ...

class VerifyReceiptResponse(_message.Message):
    __slots__ = ("verified", "problems", "signer_peer_id", "consensus_id", "responses_verified")
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    SIGNER_PEER_ID_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    verified: bool
    problems: _containers.RepeatedScalarFieldContainer[str]
    signer_peer_id: str
    consensus_id: str
    responses_verified: int
    def __init__(self, verified: _Optional[bool] = ..., problems: _Optional[_Iterable[str]] = ..., signer_peer_id: _Optional[str] = ..., consensus_id: _Optional[str] = ..., responses_verified: _Optional[int] = ...) -> None: ...
