"""Messaging between nodes: signed messages out, checked messages in, requests matched to their replies, the
version handshake, and the built-in responders that answer agent-requests when no harness does.

Owns `messenger`, `handshake` and `responders`. Uses the Transport port (`ecco.services.transport_port`), the
signing ports (`ecco.services.crypto_ports`), the envelope, and the event log (`ecco.services.events`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecco.services.exports import lazy_exports

if TYPE_CHECKING:
    from ecco.services.messaging.handshake import NETWORK_IDS as NETWORK_IDS
    from ecco.services.messaging.messenger import Chunk as Chunk
    from ecco.services.messaging.messenger import Complete as Complete
    from ecco.services.messaging.messenger import Messenger as Messenger
    from ecco.services.messaging.messenger import Reply as Reply
    from ecco.services.messaging.messenger import ReplyContent as ReplyContent
    from ecco.services.messaging.messenger import Sent as Sent
    from ecco.services.messaging.messenger import prompt_of as prompt_of
    from ecco.services.messaging.messenger import reply_content as reply_content
    from ecco.services.messaging.messenger import validate_peer_id as validate_peer_id
    from ecco.services.messaging.messenger import validate_request_id as validate_request_id
    from ecco.services.messaging.messenger import validate_timeout as validate_timeout
    from ecco.services.messaging.responders import Responder as Responder
    from ecco.services.messaging.responders import ResponderFailed as ResponderFailed
    from ecco.services.messaging.responders import parse_responder as parse_responder

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "handshake": ["NETWORK_IDS"],
        "messenger": [
            "Chunk",
            "Complete",
            "Messenger",
            "Reply",
            "ReplyContent",
            "Sent",
            "prompt_of",
            "reply_content",
            "validate_peer_id",
            "validate_request_id",
            "validate_timeout",
        ],
        "responders": ["Responder", "ResponderFailed", "parse_responder"],
    },
)
