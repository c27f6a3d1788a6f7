"""Every event type the log can hold. Filters naming anything else are refused, so a typo never silently
matches nothing."""

from __future__ import annotations

from collections.abc import Iterable

from ecco.errors import InvalidArgument, Reason

# The upstream ecco message types (upstream-ecco.md §5); inbound and outbound messages are logged under them.
MESSAGE_TYPES: frozenset[str] = frozenset(
    {
        "capability-query",
        "capability-response",
        "agent-request",
        "agent-response",
        "embedding-request",
        "embedding-response",
        "generation-request",
        "generation-response",
        "generation-stream-chunk",
        "generation-stream-complete",
        "gossip",
        "ping",
        "pong",
        "request-quote",
        "invoice",
        "submit-payment-proof",
        "payment-verified",
        "payment-failed",
        "streaming-tick",
        "stream-chunk",
        "stream-complete",
        "escrow-approval",
        "stake-confirmation",
        "swarm-distribution",
        "version-handshake",
        "version-handshake-response",
        "version-incompatible-notice",
        "constitution-mismatch-notice",
    }
)

# Things that happen inside the node.
NODE_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "node-started",  # the daemon came up; payload has peerId, pid, version
        "node-stopped",  # the daemon shut down cleanly
        "node-recovered",  # the previous run ended without a clean shutdown (crash, SIGKILL)
        "peer-connected",  # a libp2p connection to a peer opened
        "peer-disconnected",  # the last connection to a peer closed
        "message-rejected",  # an inbound message failed a check (signature, freshness, size, rate); payload says why
        "unknown-message",  # an inbound message of a type this node does not know; recorded, not acted on
        "request-failed",  # an outbound request failed or timed out
        "capabilities-provided",  # our DHT provider records reached other peers (first time, or again after none did)
        "consensus-progress",  # a consensus query received an agent's response
        "consensus-completed",  # a consensus query finished
        "payment-queued",  # an invoice entered the settlement queue
        "payment-settled",  # a settlement transaction was confirmed
        "payment-failed-local",  # a settlement transaction failed
        "bridge-delivery-failed",  # the webhook bridge gave up on an event (dead letter)
    }
)

EVENT_TYPES: frozenset[str] = MESSAGE_TYPES | NODE_EVENT_TYPES


def validate_types(types: Iterable[str], field: str = "types") -> frozenset[str]:
    """Return the filter as a set, or raise UNKNOWN_EVENT_TYPE naming the first unknown type."""
    wanted = frozenset(t.strip() for t in types if t.strip())
    unknown = sorted(wanted - EVENT_TYPES)
    if unknown:
        raise InvalidArgument(
            f"unknown event type {unknown[0]!r}; known types: {', '.join(sorted(EVENT_TYPES))}",
            Reason.UNKNOWN_EVENT_TYPE,
            field=field,
        )
    return wanted
