"""The API's message size limit is one number for the daemon and every client, and above the largest event."""

from __future__ import annotations

import re
from pathlib import Path

from ecco.limits import API_MAX_MESSAGE_BYTES, MAX_FRAME_BYTES, REPLY_MAX_BYTES
from ecco.services.events.log import EVENT_OVERHEAD_BYTES

ROOT = Path(__file__).resolve().parents[2]


def _bytes_of(expression: str) -> int:
    factors = [int(part) for part in re.split(r"\s*\*\s*", expression.strip())]
    total = 1
    for factor in factors:
        total *= factor
    return total


def test_every_client_reads_the_largest_event_a_node_stores() -> None:
    # an event's payload is re-encoded from a frame, so it is never larger than one
    assert API_MAX_MESSAGE_BYTES >= MAX_FRAME_BYTES + EVENT_OVERHEAD_BYTES + 64 * 1024
    assert REPLY_MAX_BYTES <= 4 * 1024 * 1024 // 2  # gRPC's default receive limit, with room
    go = (ROOT / "clients/go/node/conn.go").read_text()
    ts = (ROOT / "clients/ts/src/node.ts").read_text()
    (go_value,) = re.findall(r"const APIMaxMessageBytes = ([0-9* ]+)", go)
    (ts_value,) = re.findall(r"export const API_MAX_MESSAGE_BYTES = ([0-9* ]+);", ts)
    assert _bytes_of(go_value) == _bytes_of(ts_value) == API_MAX_MESSAGE_BYTES
    assert "MaxCallRecvMsgSize(APIMaxMessageBytes)" in go and "readMaxBytes: API_MAX_MESSAGE_BYTES" in ts
