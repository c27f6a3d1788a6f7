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

class DeliveryOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_OUTCOME_UNSPECIFIED: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_DELIVERED: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_RETRYING: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_DEAD_LETTER: _ClassVar[DeliveryOutcome]
DELIVERY_OUTCOME_UNSPECIFIED: DeliveryOutcome
DELIVERY_OUTCOME_DELIVERED: DeliveryOutcome
DELIVERY_OUTCOME_RETRYING: DeliveryOutcome
DELIVERY_OUTCOME_DEAD_LETTER: DeliveryOutcome

class GetBridgeStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetBridgeStatusResponse(_message.Message):
    __slots__ = ("running", "openclaw_url", "hook_path", "provider_hook_path", "filter", "delivered_count", "pending_count", "failed_count", "dead_letter_count", "last_error", "last_error_time", "last_delivered_cursor", "consumer_cursor", "start_time", "failed_event_count")
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    OPENCLAW_URL_FIELD_NUMBER: _ClassVar[int]
    HOOK_PATH_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_HOOK_PATH_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DEAD_LETTER_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_DELIVERED_CURSOR_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FAILED_EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    running: bool
    openclaw_url: str
    hook_path: str
    provider_hook_path: str
    filter: _containers.RepeatedScalarFieldContainer[str]
    delivered_count: int
    pending_count: int
    failed_count: int
    dead_letter_count: int
    last_error: str
    last_error_time: _timestamp_pb2.Timestamp
    last_delivered_cursor: int
    consumer_cursor: int
    start_time: _timestamp_pb2.Timestamp
    failed_event_count: int
    def __init__(self, running: _Optional[bool] = ..., openclaw_url: _Optional[str] = ..., hook_path: _Optional[str] = ..., provider_hook_path: _Optional[str] = ..., filter: _Optional[_Iterable[str]] = ..., delivered_count: _Optional[int] = ..., pending_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., dead_letter_count: _Optional[int] = ..., last_error: _Optional[str] = ..., last_error_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_delivered_cursor: _Optional[int] = ..., consumer_cursor: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failed_event_count: _Optional[int] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("dead_letters", "next_page_token", "total_size")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    next_page_token: str
    total_size: int
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("id", "event", "hook_path", "attempts", "last_http_status", "last_error", "first_attempt_time", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    HOOK_PATH_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    FIRST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    event: _common_pb2.Event
    hook_path: str
    attempts: int
    last_http_status: int
    last_error: str
    first_attempt_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., event: _Optional[_Union[_common_pb2.Event, _Mapping]] = ..., hook_path: _Optional[str] = ..., attempts: _Optional[int] = ..., last_http_status: _Optional[int] = ..., last_error: _Optional[str] = ..., first_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AttachBridgeRequest(_message.Message):
    __slots__ = ("openclaw_url", "hook_path", "provider_hook_path", "filter")
    OPENCLAW_URL_FIELD_NUMBER: _ClassVar[int]
    HOOK_PATH_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_HOOK_PATH_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    openclaw_url: str
    hook_path: str
    provider_hook_path: str
    filter: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, openclaw_url: _Optional[str] = ..., hook_path: _Optional[str] = ..., provider_hook_path: _Optional[str] = ..., filter: _Optional[_Iterable[str]] = ...) -> None: ...

class AttachBridgeResponse(_message.Message):
    __slots__ = ("session_id", "consumer", "consumer_cursor", "peer_id", "node_name")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    consumer: str
    consumer_cursor: int
    peer_id: str
    node_name: str
    def __init__(self, session_id: _Optional[str] = ..., consumer: _Optional[str] = ..., consumer_cursor: _Optional[int] = ..., peer_id: _Optional[str] = ..., node_name: _Optional[str] = ...) -> None: ...

class ReportDeliveryRequest(_message.Message):
    __slots__ = ("session_id", "event_cursor", "outcome", "hook_path", "http_status", "error", "attempts", "first_attempt_time")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    HOOK_PATH_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    FIRST_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    event_cursor: int
    outcome: DeliveryOutcome
    hook_path: str
    http_status: int
    error: str
    attempts: int
    first_attempt_time: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[str] = ..., event_cursor: _Optional[int] = ..., outcome: _Optional[_Union[DeliveryOutcome, str]] = ..., hook_path: _Optional[str] = ..., http_status: _Optional[int] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ..., first_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportDeliveryResponse(_message.Message):
    __slots__ = ("consumer_cursor",)
    CONSUMER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    consumer_cursor: int
    def __init__(self, consumer_cursor: _Optional[int] = ...) -> None: ...
