from ecco.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AskCandidateOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASK_CANDIDATE_OUTCOME_UNSPECIFIED: _ClassVar[AskCandidateOutcome]
    ASK_CANDIDATE_OUTCOME_ANSWERED: _ClassVar[AskCandidateOutcome]
    ASK_CANDIDATE_OUTCOME_FAILED: _ClassVar[AskCandidateOutcome]
    ASK_CANDIDATE_OUTCOME_TIMED_OUT: _ClassVar[AskCandidateOutcome]
    ASK_CANDIDATE_OUTCOME_UNREACHABLE: _ClassVar[AskCandidateOutcome]
    ASK_CANDIDATE_OUTCOME_CANCELLED: _ClassVar[AskCandidateOutcome]
ASK_CANDIDATE_OUTCOME_UNSPECIFIED: AskCandidateOutcome
ASK_CANDIDATE_OUTCOME_ANSWERED: AskCandidateOutcome
ASK_CANDIDATE_OUTCOME_FAILED: AskCandidateOutcome
ASK_CANDIDATE_OUTCOME_TIMED_OUT: AskCandidateOutcome
ASK_CANDIDATE_OUTCOME_UNREACHABLE: AskCandidateOutcome
ASK_CANDIDATE_OUTCOME_CANCELLED: AskCandidateOutcome

class SendPromptRequest(_message.Message):
    __slots__ = ("request_id", "peer_id", "prompt")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    peer_id: str
    prompt: str
    def __init__(self, request_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., prompt: _Optional[str] = ...) -> None: ...

class SendPromptResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _common_pb2.Message
    def __init__(self, message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class PromptRequest(_message.Message):
    __slots__ = ("request_id", "peer_id", "prompt", "timeout_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    peer_id: str
    prompt: str
    timeout_ms: int
    def __init__(self, request_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., prompt: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class PromptResponse(_message.Message):
    __slots__ = ("reply",)
    REPLY_FIELD_NUMBER: _ClassVar[int]
    reply: AgentReply
    def __init__(self, reply: _Optional[_Union[AgentReply, _Mapping]] = ...) -> None: ...

class StreamPromptRequest(_message.Message):
    __slots__ = ("request_id", "peer_id", "prompt", "timeout_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    peer_id: str
    prompt: str
    timeout_ms: int
    def __init__(self, request_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., prompt: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class StreamPromptResponse(_message.Message):
    __slots__ = ("sent", "chunk", "complete", "reply")
    SENT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    sent: PromptSent
    chunk: StreamChunk
    complete: StreamComplete
    reply: AgentReply
    def __init__(self, sent: _Optional[_Union[PromptSent, _Mapping]] = ..., chunk: _Optional[_Union[StreamChunk, _Mapping]] = ..., complete: _Optional[_Union[StreamComplete, _Mapping]] = ..., reply: _Optional[_Union[AgentReply, _Mapping]] = ...) -> None: ...

class PromptSent(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _common_pb2.Message
    def __init__(self, message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class StreamChunk(_message.Message):
    __slots__ = ("text", "index", "message")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    index: int
    message: _common_pb2.Message
    def __init__(self, text: _Optional[str] = ..., index: _Optional[int] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class StreamComplete(_message.Message):
    __slots__ = ("text", "chunk_count", "message")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    chunk_count: int
    message: _common_pb2.Message
    def __init__(self, text: _Optional[str] = ..., chunk_count: _Optional[int] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class AgentReply(_message.Message):
    __slots__ = ("peer_id", "request_message_id", "text", "finish_reason", "error", "latency_ms", "chunk_count", "message")
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    request_message_id: str
    text: str
    finish_reason: str
    error: str
    latency_ms: int
    chunk_count: int
    message: _common_pb2.Message
    def __init__(self, peer_id: _Optional[str] = ..., request_message_id: _Optional[str] = ..., text: _Optional[str] = ..., finish_reason: _Optional[str] = ..., error: _Optional[str] = ..., latency_ms: _Optional[int] = ..., chunk_count: _Optional[int] = ..., message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("request_id", "peer_id", "type", "payload_json")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    peer_id: str
    type: str
    payload_json: str
    def __init__(self, request_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., type: _Optional[str] = ..., payload_json: _Optional[str] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _common_pb2.Message
    def __init__(self, message: _Optional[_Union[_common_pb2.Message, _Mapping]] = ...) -> None: ...

class AskRequest(_message.Message):
    __slots__ = ("request_id", "query", "prompt", "timeout_ms", "max_attempts", "hedge")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    HEDGE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    query: _common_pb2.CapabilityQuery
    prompt: str
    timeout_ms: int
    max_attempts: int
    hedge: bool
    def __init__(self, request_id: _Optional[str] = ..., query: _Optional[_Union[_common_pb2.CapabilityQuery, _Mapping]] = ..., prompt: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., max_attempts: _Optional[int] = ..., hedge: _Optional[bool] = ...) -> None: ...

class AskResponse(_message.Message):
    __slots__ = ("reply", "candidates", "match_count")
    REPLY_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    MATCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    reply: AgentReply
    candidates: _containers.RepeatedCompositeFieldContainer[AskCandidate]
    match_count: int
    def __init__(self, reply: _Optional[_Union[AgentReply, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[AskCandidate, _Mapping]]] = ..., match_count: _Optional[int] = ...) -> None: ...

class AskCandidate(_message.Message):
    __slots__ = ("match", "outcome", "error", "elapsed_ms", "budget_ms")
    MATCH_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_MS_FIELD_NUMBER: _ClassVar[int]
    match: _common_pb2.CapabilityMatch
    outcome: AskCandidateOutcome
    error: str
    elapsed_ms: int
    budget_ms: int
    def __init__(self, match: _Optional[_Union[_common_pb2.CapabilityMatch, _Mapping]] = ..., outcome: _Optional[_Union[AskCandidateOutcome, str]] = ..., error: _Optional[str] = ..., elapsed_ms: _Optional[int] = ..., budget_ms: _Optional[int] = ...) -> None: ...

class ListPeersRequest(_message.Message):
    __slots__ = ("connected_only", "page_size", "page_token")
    CONNECTED_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    connected_only: bool
    page_size: int
    page_token: str
    def __init__(self, connected_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPeersResponse(_message.Message):
    __slots__ = ("peers", "next_page_token", "total_size", "connected_count")
    PEERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[_common_pb2.PeerInfo]
    next_page_token: str
    total_size: int
    connected_count: int
    def __init__(self, peers: _Optional[_Iterable[_Union[_common_pb2.PeerInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., connected_count: _Optional[int] = ...) -> None: ...

class ConnectPeerRequest(_message.Message):
    __slots__ = ("multiaddr", "timeout_ms")
    MULTIADDR_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    multiaddr: str
    timeout_ms: int
    def __init__(self, multiaddr: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class ConnectPeerResponse(_message.Message):
    __slots__ = ("peer", "already_connected")
    PEER_FIELD_NUMBER: _ClassVar[int]
    ALREADY_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    peer: _common_pb2.PeerInfo
    already_connected: bool
    def __init__(self, peer: _Optional[_Union[_common_pb2.PeerInfo, _Mapping]] = ..., already_connected: _Optional[bool] = ...) -> None: ...
