import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Network(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NETWORK_UNSPECIFIED: _ClassVar[Network]
    NETWORK_TESTNET: _ClassVar[Network]
    NETWORK_MAINNET: _ClassVar[Network]

class EventDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_DIRECTION_UNSPECIFIED: _ClassVar[EventDirection]
    EVENT_DIRECTION_INBOUND: _ClassVar[EventDirection]
    EVENT_DIRECTION_OUTBOUND: _ClassVar[EventDirection]
    EVENT_DIRECTION_LOCAL: _ClassVar[EventDirection]

class DiscoveryPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISCOVERY_PHASE_UNSPECIFIED: _ClassVar[DiscoveryPhase]
    DISCOVERY_PHASE_PROXIMITY: _ClassVar[DiscoveryPhase]
    DISCOVERY_PHASE_LOCAL: _ClassVar[DiscoveryPhase]
    DISCOVERY_PHASE_INTERNET: _ClassVar[DiscoveryPhase]
    DISCOVERY_PHASE_FALLBACK: _ClassVar[DiscoveryPhase]

class ReputationTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPUTATION_TIER_UNSPECIFIED: _ClassVar[ReputationTier]
    REPUTATION_TIER_ELITE: _ClassVar[ReputationTier]
    REPUTATION_TIER_GOOD: _ClassVar[ReputationTier]
    REPUTATION_TIER_ACCEPTABLE: _ClassVar[ReputationTier]

class DiscoveryPhaseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISCOVERY_PHASE_STATE_UNSPECIFIED: _ClassVar[DiscoveryPhaseState]
    DISCOVERY_PHASE_STATE_STARTED: _ClassVar[DiscoveryPhaseState]
    DISCOVERY_PHASE_STATE_COMPLETED: _ClassVar[DiscoveryPhaseState]
    DISCOVERY_PHASE_STATE_SKIPPED: _ClassVar[DiscoveryPhaseState]
    DISCOVERY_PHASE_STATE_FAILED: _ClassVar[DiscoveryPhaseState]
NETWORK_UNSPECIFIED: Network
NETWORK_TESTNET: Network
NETWORK_MAINNET: Network
EVENT_DIRECTION_UNSPECIFIED: EventDirection
EVENT_DIRECTION_INBOUND: EventDirection
EVENT_DIRECTION_OUTBOUND: EventDirection
EVENT_DIRECTION_LOCAL: EventDirection
DISCOVERY_PHASE_UNSPECIFIED: DiscoveryPhase
DISCOVERY_PHASE_PROXIMITY: DiscoveryPhase
DISCOVERY_PHASE_LOCAL: DiscoveryPhase
DISCOVERY_PHASE_INTERNET: DiscoveryPhase
DISCOVERY_PHASE_FALLBACK: DiscoveryPhase
REPUTATION_TIER_UNSPECIFIED: ReputationTier
REPUTATION_TIER_ELITE: ReputationTier
REPUTATION_TIER_GOOD: ReputationTier
REPUTATION_TIER_ACCEPTABLE: ReputationTier
DISCOVERY_PHASE_STATE_UNSPECIFIED: DiscoveryPhaseState
DISCOVERY_PHASE_STATE_STARTED: DiscoveryPhaseState
DISCOVERY_PHASE_STATE_COMPLETED: DiscoveryPhaseState
DISCOVERY_PHASE_STATE_SKIPPED: DiscoveryPhaseState
DISCOVERY_PHASE_STATE_FAILED: DiscoveryPhaseState

class Capability(_message.Message):
    __slots__ = ("type", "name", "version", "metadata")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    type: str
    name: str
    version: str
    metadata: _struct_pb2.Struct
    def __init__(self, type: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class PeerInfo(_message.Message):
    __slots__ = ("peer_id", "addresses", "capabilities", "last_seen_time", "latency_ms", "connected", "reputation")
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    REPUTATION_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    addresses: _containers.RepeatedScalarFieldContainer[str]
    capabilities: _containers.RepeatedCompositeFieldContainer[Capability]
    last_seen_time: _timestamp_pb2.Timestamp
    latency_ms: float
    connected: bool
    reputation: int
    def __init__(self, peer_id: _Optional[str] = ..., addresses: _Optional[_Iterable[str]] = ..., capabilities: _Optional[_Iterable[_Union[Capability, _Mapping]]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latency_ms: _Optional[float] = ..., connected: _Optional[bool] = ..., reputation: _Optional[int] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "from_peer_id", "to_peer_id", "type", "payload_json", "timestamp_ms", "signature", "public_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    FROM_PEER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_PEER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    from_peer_id: str
    to_peer_id: str
    type: str
    payload_json: str
    timestamp_ms: int
    signature: str
    public_key: str
    def __init__(self, id: _Optional[str] = ..., from_peer_id: _Optional[str] = ..., to_peer_id: _Optional[str] = ..., type: _Optional[str] = ..., payload_json: _Optional[str] = ..., timestamp_ms: _Optional[int] = ..., signature: _Optional[str] = ..., public_key: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("cursor", "id", "type", "create_time", "direction", "peer_id", "message_id", "request_id", "payload_json")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    id: str
    type: str
    create_time: _timestamp_pb2.Timestamp
    direction: EventDirection
    peer_id: str
    message_id: str
    request_id: str
    payload_json: str
    def __init__(self, cursor: _Optional[int] = ..., id: _Optional[str] = ..., type: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., direction: _Optional[_Union[EventDirection, str]] = ..., peer_id: _Optional[str] = ..., message_id: _Optional[str] = ..., request_id: _Optional[str] = ..., payload_json: _Optional[str] = ...) -> None: ...

class CapabilityQuery(_message.Message):
    __slots__ = ("name", "type", "version", "features", "preferred_peer_ids", "raw_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_PEER_IDS_FIELD_NUMBER: _ClassVar[int]
    RAW_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    version: str
    features: _containers.RepeatedScalarFieldContainer[str]
    preferred_peer_ids: _containers.RepeatedScalarFieldContainer[str]
    raw_json: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., preferred_peer_ids: _Optional[_Iterable[str]] = ..., raw_json: _Optional[str] = ...) -> None: ...

class DiscoveryOptions(_message.Message):
    __slots__ = ("phases", "phase_timeout_ms", "min_peers", "prefer_proximity", "bloom_tier")
    PHASES_FIELD_NUMBER: _ClassVar[int]
    PHASE_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MIN_PEERS_FIELD_NUMBER: _ClassVar[int]
    PREFER_PROXIMITY_FIELD_NUMBER: _ClassVar[int]
    BLOOM_TIER_FIELD_NUMBER: _ClassVar[int]
    phases: _containers.RepeatedScalarFieldContainer[DiscoveryPhase]
    phase_timeout_ms: int
    min_peers: int
    prefer_proximity: bool
    bloom_tier: ReputationTier
    def __init__(self, phases: _Optional[_Iterable[_Union[DiscoveryPhase, str]]] = ..., phase_timeout_ms: _Optional[int] = ..., min_peers: _Optional[int] = ..., prefer_proximity: _Optional[bool] = ..., bloom_tier: _Optional[_Union[ReputationTier, str]] = ...) -> None: ...

class CapabilityMatch(_message.Message):
    __slots__ = ("peer", "match_score", "combined_score", "matched_capabilities", "reasons", "bloom_tier")
    PEER_FIELD_NUMBER: _ClassVar[int]
    MATCH_SCORE_FIELD_NUMBER: _ClassVar[int]
    COMBINED_SCORE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    BLOOM_TIER_FIELD_NUMBER: _ClassVar[int]
    peer: PeerInfo
    match_score: float
    combined_score: float
    matched_capabilities: _containers.RepeatedCompositeFieldContainer[Capability]
    reasons: _containers.RepeatedScalarFieldContainer[str]
    bloom_tier: ReputationTier
    def __init__(self, peer: _Optional[_Union[PeerInfo, _Mapping]] = ..., match_score: _Optional[float] = ..., combined_score: _Optional[float] = ..., matched_capabilities: _Optional[_Iterable[_Union[Capability, _Mapping]]] = ..., reasons: _Optional[_Iterable[str]] = ..., bloom_tier: _Optional[_Union[ReputationTier, str]] = ...) -> None: ...

class DiscoveryProgress(_message.Message):
    __slots__ = ("phase", "state", "new_matches", "total_matches", "elapsed_ms", "detail")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NEW_MATCHES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MATCHES_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    phase: DiscoveryPhase
    state: DiscoveryPhaseState
    new_matches: int
    total_matches: int
    elapsed_ms: int
    detail: str
    def __init__(self, phase: _Optional[_Union[DiscoveryPhase, str]] = ..., state: _Optional[_Union[DiscoveryPhaseState, str]] = ..., new_matches: _Optional[int] = ..., total_matches: _Optional[int] = ..., elapsed_ms: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...
