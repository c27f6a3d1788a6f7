"""Conversions between service values and protobuf messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from ecco.errors import InvalidArgument, Reason
from ecco.services.matching import CapabilityMatch, CapabilityQuery
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


def capability_to_pb(capability: Mapping[str, Any]) -> common_pb2.Capability:
    metadata = struct_pb2.Struct()
    metadata.update(capability.get("metadata") or {})
    return common_pb2.Capability(
        type=capability["type"], name=capability["name"], version=capability["version"], metadata=metadata
    )


def query_from_pb(query: common_pb2.CapabilityQuery) -> CapabilityQuery:
    """A CapabilityQuery from the API: `raw_json` (the upstream query) or the flag-style fields, never both."""
    if query.raw_json:
        if query.name or query.type or query.version or query.features or query.preferred_peer_ids:
            raise InvalidArgument(
                "give either raw_json or the capability fields, not both", Reason.INVALID_ARGUMENT, field="--raw"
            )
        return CapabilityQuery.from_raw(query.raw_json)
    return CapabilityQuery.from_flags(
        query.name,
        type=query.type or None,
        version=query.version or None,
        features=list(query.features),
        preferred=list(query.preferred_peer_ids),
    )


def match_to_pb(match: CapabilityMatch, addresses: Sequence[str] = ()) -> common_pb2.CapabilityMatch:
    peer = common_pb2.PeerInfo(
        peer_id=match.peer_id,
        addresses=list(addresses),
        capabilities=[capability_to_pb(c) for c in match.peer.capabilities],
    )
    return common_pb2.CapabilityMatch(
        peer=peer,
        match_score=match.match_score,
        combined_score=match.match_score,
        matched_capabilities=[capability_to_pb(c) for c in match.matched_capabilities],
        reasons=list(match.reasons),
    )
