"""Protobuf responses as the JSON documents the CLI prints (camelCase, like grpcurl and the upstream CLI)."""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

CONTRACT_VERSION = 1
"""The version of the JSON output contract (README "Output and exit codes"); bumped on an incompatible change."""

_WELL_KNOWN = {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.Struct",
    "google.protobuf.Value",
}
_INTEGERS = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}


def enum_word(enum: EnumDescriptor, number: int) -> str | None:
    """An enum value as the word a user types: REPUTATION_TIER_ACCEPTABLE -> "acceptable",
    SELECTION_STRATEGY_TOP_N -> "top-n"; the UNSPECIFIED value (or one this build does not know) -> None."""
    value = enum.values_by_number.get(number)
    if value is None or number == 0:
        return None
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    return value.name.removeprefix(prefix).lower().replace("_", "-")


def to_dict(message: Message) -> dict[str, Any]:
    """A protobuf message as the contract's JSON object: camelCase keys, every field present, int64 as numbers,
    enums as short lowercase words, an unset message or optional field as null (never a placeholder)."""
    doc: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            doc[field.json_name] = {key: _value(value_field, item) for key, item in value.items()}
        elif field.is_repeated:
            doc[field.json_name] = [_value(field, item) for item in value]
        elif field.has_presence and not message.HasField(field.name):
            doc[field.json_name] = None
        else:
            doc[field.json_name] = _value(field, value)
    return doc


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        if field.message_type.full_name in _WELL_KNOWN:
            return json_format.MessageToDict(value)
        return to_dict(value)
    if field.enum_type is not None:
        return enum_word(field.enum_type, value)
    if field.type in _INTEGERS:
        return int(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def event_dict(event: Message) -> dict[str, Any]:
    """An event with its payload as JSON rather than as escaped text."""
    doc = to_dict(event)
    raw = doc.pop("payloadJson", "") or "{}"
    try:
        doc["payload"] = json.loads(raw)
    except ValueError:
        doc["payload"] = raw
    return doc


def short_peer(peer_id: str) -> str:
    """A peer id shortened for a one-line display: 12D3KooW…abcdef."""
    return f"{peer_id[:8]}…{peer_id[-6:]}" if len(peer_id) > 16 else peer_id


def event_line(event: dict[str, Any]) -> str:
    """One human-readable line per event."""
    peer = short_peer(event.get("peerId") or "-")
    payload = json.dumps(event.get("payload"), ensure_ascii=False, separators=(",", ":"))
    return (
        f"#{event['cursor']:<6} {event.get('createTime', '')}  {event['type']:<22} {event['direction']:<8} "
        f"{peer}  {payload}"
    )
