import datetime

from ecco.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FindPeersRequest(_message.Message):
    __slots__ = ("query", "max_matches")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    MAX_MATCHES_FIELD_NUMBER: _ClassVar[int]
    query: _common_pb2.CapabilityQuery
    max_matches: int
    def __init__(self, query: _Optional[_Union[_common_pb2.CapabilityQuery, _Mapping]] = ..., max_matches: _Optional[int] = ...) -> None: ...

class FindPeersResponse(_message.Message):
    __slots__ = ("matches",)
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[_common_pb2.CapabilityMatch]
    def __init__(self, matches: _Optional[_Iterable[_Union[_common_pb2.CapabilityMatch, _Mapping]]] = ...) -> None: ...

class DiscoverPeersRequest(_message.Message):
    __slots__ = ("query", "options")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    query: _common_pb2.CapabilityQuery
    options: _common_pb2.DiscoveryOptions
    def __init__(self, query: _Optional[_Union[_common_pb2.CapabilityQuery, _Mapping]] = ..., options: _Optional[_Union[_common_pb2.DiscoveryOptions, _Mapping]] = ...) -> None: ...

class DiscoverPeersResponse(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: _common_pb2.DiscoveryProgress
    result: DiscoveryResult
    def __init__(self, progress: _Optional[_Union[_common_pb2.DiscoveryProgress, _Mapping]] = ..., result: _Optional[_Union[DiscoveryResult, _Mapping]] = ...) -> None: ...

class DiscoveryResult(_message.Message):
    __slots__ = ("peers", "phases_run", "min_peers_reached", "total_time_ms")
    PEERS_FIELD_NUMBER: _ClassVar[int]
    PHASES_RUN_FIELD_NUMBER: _ClassVar[int]
    MIN_PEERS_REACHED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[DiscoveredPeer]
    phases_run: _containers.RepeatedScalarFieldContainer[_common_pb2.DiscoveryPhase]
    min_peers_reached: bool
    total_time_ms: int
    def __init__(self, peers: _Optional[_Iterable[_Union[DiscoveredPeer, _Mapping]]] = ..., phases_run: _Optional[_Iterable[_Union[_common_pb2.DiscoveryPhase, str]]] = ..., min_peers_reached: _Optional[bool] = ..., total_time_ms: _Optional[int] = ...) -> None: ...

class DiscoveredPeer(_message.Message):
    __slots__ = ("match", "phase", "proximity")
    MATCH_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PROXIMITY_FIELD_NUMBER: _ClassVar[int]
    match: _common_pb2.CapabilityMatch
    phase: _common_pb2.DiscoveryPhase
    proximity: bool
    def __init__(self, match: _Optional[_Union[_common_pb2.CapabilityMatch, _Mapping]] = ..., phase: _Optional[_Union[_common_pb2.DiscoveryPhase, str]] = ..., proximity: _Optional[bool] = ...) -> None: ...

class GetReputationRequest(_message.Message):
    __slots__ = ("peer_id",)
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    def __init__(self, peer_id: _Optional[str] = ...) -> None: ...

class GetReputationResponse(_message.Message):
    __slots__ = ("reputation",)
    REPUTATION_FIELD_NUMBER: _ClassVar[int]
    reputation: PeerReputation
    def __init__(self, reputation: _Optional[_Union[PeerReputation, _Mapping]] = ...) -> None: ...

class ListReputationRequest(_message.Message):
    __slots__ = ("min_tier", "page_size", "page_token")
    MIN_TIER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    min_tier: _common_pb2.ReputationTier
    page_size: int
    page_token: str
    def __init__(self, min_tier: _Optional[_Union[_common_pb2.ReputationTier, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReputationResponse(_message.Message):
    __slots__ = ("reputations", "next_page_token", "total_size")
    REPUTATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    reputations: _containers.RepeatedCompositeFieldContainer[PeerReputation]
    next_page_token: str
    total_size: int
    def __init__(self, reputations: _Optional[_Iterable[_Union[PeerReputation, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class PeerReputation(_message.Message):
    __slots__ = ("peer_id", "local_score", "total_jobs", "successful_jobs", "failed_jobs", "discovery_score", "tier", "feedback_score", "feedback_count", "wallet_address", "agent_id", "last_interaction_time", "last_sync_time")
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    LOCAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_JOBS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_JOBS_FIELD_NUMBER: _ClassVar[int]
    FAILED_JOBS_FIELD_NUMBER: _ClassVar[int]
    DISCOVERY_SCORE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_SCORE_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_COUNT_FIELD_NUMBER: _ClassVar[int]
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_INTERACTION_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNC_TIME_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    local_score: int
    total_jobs: int
    successful_jobs: int
    failed_jobs: int
    discovery_score: int
    tier: _common_pb2.ReputationTier
    feedback_score: float
    feedback_count: int
    wallet_address: str
    agent_id: str
    last_interaction_time: _timestamp_pb2.Timestamp
    last_sync_time: _timestamp_pb2.Timestamp
    def __init__(self, peer_id: _Optional[str] = ..., local_score: _Optional[int] = ..., total_jobs: _Optional[int] = ..., successful_jobs: _Optional[int] = ..., failed_jobs: _Optional[int] = ..., discovery_score: _Optional[int] = ..., tier: _Optional[_Union[_common_pb2.ReputationTier, str]] = ..., feedback_score: _Optional[float] = ..., feedback_count: _Optional[int] = ..., wallet_address: _Optional[str] = ..., agent_id: _Optional[str] = ..., last_interaction_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_sync_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
