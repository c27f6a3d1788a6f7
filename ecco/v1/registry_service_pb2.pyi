import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRequest(_message.Message):
    __slots__ = ("request_id", "agent_uri", "chain_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_URI_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    agent_uri: str
    chain_id: int
    def __init__(self, request_id: _Optional[str] = ..., agent_uri: _Optional[str] = ..., chain_id: _Optional[int] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("agent_id", "tx_hash", "chain_id", "registry_address", "already_registered", "agent_registry", "owner_address", "agent_uri")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ALREADY_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    AGENT_REGISTRY_FIELD_NUMBER: _ClassVar[int]
    OWNER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AGENT_URI_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    tx_hash: str
    chain_id: int
    registry_address: str
    already_registered: bool
    agent_registry: str
    owner_address: str
    agent_uri: str
    def __init__(self, agent_id: _Optional[str] = ..., tx_hash: _Optional[str] = ..., chain_id: _Optional[int] = ..., registry_address: _Optional[str] = ..., already_registered: _Optional[bool] = ..., agent_registry: _Optional[str] = ..., owner_address: _Optional[str] = ..., agent_uri: _Optional[str] = ...) -> None: ...

class GetRegistrationRequest(_message.Message):
    __slots__ = ("chain_id",)
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    def __init__(self, chain_id: _Optional[int] = ...) -> None: ...

class GetRegistrationResponse(_message.Message):
    __slots__ = ("registered", "agent_id", "agent_uri", "tx_hash", "chain_id", "registry_address", "agent_registry", "owner_address", "register_time")
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_URI_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AGENT_REGISTRY_FIELD_NUMBER: _ClassVar[int]
    OWNER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REGISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    registered: bool
    agent_id: str
    agent_uri: str
    tx_hash: str
    chain_id: int
    registry_address: str
    agent_registry: str
    owner_address: str
    register_time: _timestamp_pb2.Timestamp
    def __init__(self, registered: _Optional[bool] = ..., agent_id: _Optional[str] = ..., agent_uri: _Optional[str] = ..., tx_hash: _Optional[str] = ..., chain_id: _Optional[int] = ..., registry_address: _Optional[str] = ..., agent_registry: _Optional[str] = ..., owner_address: _Optional[str] = ..., register_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
