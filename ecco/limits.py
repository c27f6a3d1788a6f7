"""The size limits the daemon and every client agree on, in one place (README "Limits and security").

A peer's frame is at most MAX_FRAME_BYTES; the event it becomes is never larger (its payload is re-encoded from
the frame's JSON, whose bytes travel as a JSON array of numbers, at least two characters each). The API carries
messages of up to API_MAX_MESSAGE_BYTES both ways, comfortably above the largest event, and the event RPCs pack
events into one reply only up to REPLY_MAX_BYTES of payload: so whatever peers send, every client can read every
event. The Go and TypeScript clients use the same API_MAX_MESSAGE_BYTES (tests/unit/test_limits.py checks).

No imports: the daemon, the services, the Python client and the bridge all read these.
"""

from __future__ import annotations

from typing import Final

MAX_FRAME_BYTES: Final = 10 * 1024 * 1024
"""The largest frame a peer may send (upstream's limit); larger ones are refused before they are parsed."""

API_MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
"""The largest gRPC message the API sends or accepts, on the server and in every client."""

REPLY_MAX_BYTES: Final = 2 * 1024 * 1024
"""Subscribe and ListEvents stop adding events to one reply at this many payload bytes (one larger event still
travels alone, within API_MAX_MESSAGE_BYTES). Half of gRPC's default 4 MiB, so even a client that kept the
default reads every reply that holds more than one event."""

INBOUND_STREAMS_PER_PEER: Final = 64
"""Concurrent inbound /ecco/direct streams one peer may hold open (1.0.0 opens one per message); more are reset."""

INBOUND_STREAMS: Final = 1024
"""Concurrent inbound /ecco/direct streams of all peers together (peer ids cost nothing to make)."""

BUFFERED_FRAME_BYTES_PER_PEER: Final = 2 * MAX_FRAME_BYTES
"""Bytes of frames being read that one peer may make this node hold, claimed from each frame's length prefix
before its body is read; a frame beyond it resets its stream and is charged to the peer's byte budget."""

BUFFERED_FRAME_BYTES: Final = 64 * 1024 * 1024
"""The same for all peers together: what hostile peers can make a node buffer at most."""

GRPC_MESSAGE_OPTIONS: Final = (
    ("grpc.max_receive_message_length", API_MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", API_MAX_MESSAGE_BYTES),
)
"""Channel and server options that apply API_MAX_MESSAGE_BYTES (gRPC's default receive limit is 4 MiB)."""
