"""Conversions between service values and protobuf messages."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from ecco.services.ports import EventRecord
from ecco.v1 import common_pb2

NETWORKS = {"testnet": common_pb2.NETWORK_TESTNET, "mainnet": common_pb2.NETWORK_MAINNET}


def timestamp_ms(ms: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def event_to_pb(record: EventRecord) -> common_pb2.Event:
    return common_pb2.Event(
        cursor=record.cursor,
        id=record.id,
        type=record.type,
        create_time=timestamp_ms(record.created_at_ms),
        direction=int(record.direction),
        peer_id=record.peer_id,
        message_id=record.message_id,
        request_id=record.request_id,
        payload_json=record.payload_json,
    )


def capability_to_pb(capability: dict[str, Any]) -> common_pb2.Capability:
    metadata = struct_pb2.Struct()
    metadata.update(capability.get("metadata") or {})
    return common_pb2.Capability(
        type=capability["type"], name=capability["name"], version=capability["version"], metadata=metadata
    )
