import datetime

from ecco.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("name", "peer_id", "listen_addresses", "api_socket", "api_tcp_address", "network", "start_time", "pid", "version", "head_cursor", "connected_peers", "capabilities", "state_dir")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    LISTEN_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    API_SOCKET_FIELD_NUMBER: _ClassVar[int]
    API_TCP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HEAD_CURSOR_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_PEERS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    STATE_DIR_FIELD_NUMBER: _ClassVar[int]
    name: str
    peer_id: str
    listen_addresses: _containers.RepeatedScalarFieldContainer[str]
    api_socket: str
    api_tcp_address: str
    network: _common_pb2.Network
    start_time: _timestamp_pb2.Timestamp
    pid: int
    version: str
    head_cursor: int
    connected_peers: int
    capabilities: _containers.RepeatedCompositeFieldContainer[_common_pb2.Capability]
    state_dir: str
    def __init__(self, name: _Optional[str] = ..., peer_id: _Optional[str] = ..., listen_addresses: _Optional[_Iterable[str]] = ..., api_socket: _Optional[str] = ..., api_tcp_address: _Optional[str] = ..., network: _Optional[_Union[_common_pb2.Network, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pid: _Optional[int] = ..., version: _Optional[str] = ..., head_cursor: _Optional[int] = ..., connected_peers: _Optional[int] = ..., capabilities: _Optional[_Iterable[_Union[_common_pb2.Capability, _Mapping]]] = ..., state_dir: _Optional[str] = ...) -> None: ...

class StopNodeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopNodeResponse(_message.Message):
    __slots__ = ("pid",)
    PID_FIELD_NUMBER: _ClassVar[int]
    pid: int
    def __init__(self, pid: _Optional[int] = ...) -> None: ...

class GetConfigRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetConfigResponse(_message.Message):
    __slots__ = ("config_json", "sources")
    class SourcesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    config_json: str
    sources: _containers.ScalarMap[str, str]
    def __init__(self, config_json: _Optional[str] = ..., sources: _Optional[_Mapping[str, str]] = ...) -> None: ...
