"""Protobuf responses as the JSON documents the CLI prints (camelCase, like grpcurl and the upstream CLI)."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

NETWORK_NAMES = {"NETWORK_TESTNET": "testnet", "NETWORK_MAINNET": "mainnet", "NETWORK_UNSPECIFIED": ""}
DIRECTION_NAMES = {
    "EVENT_DIRECTION_INBOUND": "inbound",
    "EVENT_DIRECTION_OUTBOUND": "outbound",
    "EVENT_DIRECTION_LOCAL": "local",
    "EVENT_DIRECTION_UNSPECIFIED": "",
}


def to_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def status_dict(status: Message) -> dict[str, Any]:
    doc = to_dict(status)
    doc["network"] = NETWORK_NAMES.get(doc.get("network", ""), doc.get("network"))
    doc["pid"] = int(doc.get("pid", 0))
    doc["headCursor"] = int(doc.get("headCursor", 0))
    return doc


def event_dict(event: Message) -> dict[str, Any]:
    """An event with its payload as JSON rather than as escaped text."""
    doc = to_dict(event)
    doc["cursor"] = int(doc.get("cursor", 0))
    doc["direction"] = DIRECTION_NAMES.get(doc.get("direction", ""), doc.get("direction"))
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
