"""Domain errors. Code below the API edge raises these; the edge maps them to gRPC statuses in one place.

The module imports nothing from grpc so that services, store and transport can raise errors without knowing
about the API. Each class carries a gRPC status code *name*; the reason names match `ecco.v1.ErrorReason`
without its `ERROR_REASON_` prefix (a test keeps the two lists equal).
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum


class Reason(StrEnum):
    """Machine-readable failure reasons; mirrors proto/ecco/v1/error_reason.proto."""

    INTERNAL = "INTERNAL"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    FEATURE_NOT_IMPLEMENTED = "FEATURE_NOT_IMPLEMENTED"
    TOKEN_MISSING = "TOKEN_MISSING"
    TOKEN_INVALID = "TOKEN_INVALID"
    NODE_ALREADY_RUNNING = "NODE_ALREADY_RUNNING"
    NODE_NOT_RUNNING = "NODE_NOT_RUNNING"
    NODE_NOT_FOUND = "NODE_NOT_FOUND"
    NODE_AMBIGUOUS = "NODE_AMBIGUOUS"
    NODE_START_FAILED = "NODE_START_FAILED"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    CONFIG_INVALID = "CONFIG_INVALID"
    IDENTITY_INVALID = "IDENTITY_INVALID"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    INVALID_CURSOR = "INVALID_CURSOR"
    UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE"
    INVALID_PAGE_TOKEN = "INVALID_PAGE_TOKEN"
    INVALID_CONSUMER = "INVALID_CONSUMER"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    INVALID_PEER_ID = "INVALID_PEER_ID"
    INVALID_MULTIADDR = "INVALID_MULTIADDR"
    PEER_NOT_FOUND = "PEER_NOT_FOUND"
    PEER_UNREACHABLE = "PEER_UNREACHABLE"
    INVALID_MESSAGE_TYPE = "INVALID_MESSAGE_TYPE"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    REQUEST_NOT_FOUND = "REQUEST_NOT_FOUND"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    MESSAGE_STALE = "MESSAGE_STALE"
    MESSAGE_DUPLICATE = "MESSAGE_DUPLICATE"
    RATE_LIMITED = "RATE_LIMITED"
    HANDSHAKE_FAILED = "HANDSHAKE_FAILED"
    INVALID_CAPABILITY = "INVALID_CAPABILITY"
    UNKNOWN_DISCOVERY_PHASE = "UNKNOWN_DISCOVERY_PHASE"
    UNKNOWN_REPUTATION_TIER = "UNKNOWN_REPUTATION_TIER"
    NO_PROVIDER_FOUND = "NO_PROVIDER_FOUND"
    NO_MATCHING_AGENTS = "NO_MATCHING_AGENTS"
    INSUFFICIENT_AGENTS = "INSUFFICIENT_AGENTS"
    ALL_AGENTS_FAILED = "ALL_AGENTS_FAILED"
    PARTIAL_RESULTS_NOT_ALLOWED = "PARTIAL_RESULTS_NOT_ALLOWED"
    CONSENSUS_THRESHOLD_NOT_MET = "CONSENSUS_THRESHOLD_NOT_MET"
    NO_SYNTHESIZER = "NO_SYNTHESIZER"
    AGGREGATOR_FAILED = "AGGREGATOR_FAILED"
    RECEIPT_INVALID = "RECEIPT_INVALID"
    WALLET_NOT_CONFIGURED = "WALLET_NOT_CONFIGURED"
    CHAIN_NOT_CONFIGURED = "CHAIN_NOT_CONFIGURED"
    CHAIN_UNAVAILABLE = "CHAIN_UNAVAILABLE"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_INVOICE = "INVALID_INVOICE"
    INVOICE_EXPIRED = "INVOICE_EXPIRED"
    INVOICE_UNEXPECTED = "INVOICE_UNEXPECTED"
    INVOICE_QUEUE_FULL = "INVOICE_QUEUE_FULL"
    TOKEN_NOT_ALLOWED = "TOKEN_NOT_ALLOWED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    TRANSACTION_FAILED = "TRANSACTION_FAILED"
    PAYMENT_PROOF_INVALID = "PAYMENT_PROOF_INVALID"
    PAYMENT_PROOF_REPLAYED = "PAYMENT_PROOF_REPLAYED"
    ESCROW_NOT_FOUND = "ESCROW_NOT_FOUND"
    MILESTONE_NOT_FOUND = "MILESTONE_NOT_FOUND"
    MILESTONE_ALREADY_RELEASED = "MILESTONE_ALREADY_RELEASED"
    APPROVER_MISMATCH = "APPROVER_MISMATCH"
    ESCROW_STATE_INVALID = "ESCROW_STATE_INVALID"
    CHANNEL_NOT_FOUND = "CHANNEL_NOT_FOUND"
    CHANNEL_CLOSED = "CHANNEL_CLOSED"
    INVALID_PARTICIPANTS = "INVALID_PARTICIPANTS"
    REGISTRY_UNAVAILABLE = "REGISTRY_UNAVAILABLE"
    BRIDGE_NOT_RUNNING = "BRIDGE_NOT_RUNNING"
    AGENT_FAILED = "AGENT_FAILED"
    BRIDGE_ALREADY_RUNNING = "BRIDGE_ALREADY_RUNNING"
    BRIDGE_CONFIG_INVALID = "BRIDGE_CONFIG_INVALID"
    OUTPUT_FAILED = "OUTPUT_FAILED"
    NOTHING_TO_INVOICE = "NOTHING_TO_INVOICE"


MAX_MESSAGE_CHARS = 1000
MAX_FIELD_CHARS = 100
MAX_QUOTED_CHARS = 80
"""How much of a user's value a message quotes (see `cut`)."""


def cut(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """`text` shortened to at most `limit` characters, marking the cut with how much was left out."""
    if len(text) <= limit:
        return text
    note = f"… ({len(text)} chars)"
    return text[: max(limit - len(note), 0)] + note


@dataclasses.dataclass
class EccoError(Exception):
    """Base of every error a user may see. `message` is safe to show; it never holds exception text."""

    message: str
    reason: Reason = Reason.INTERNAL
    # The request field at fault (reported as google.rpc.BadRequest), e.g. "cursor" or "--min-peers".
    field: str | None = None
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)

    code = "INTERNAL"

    def __post_init__(self) -> None:
        # A message may quote what a user typed; cut it so a 20,000-character value cannot overflow gRPC's
        # metadata limit (the status message travels in a header) or flood a terminal.
        self.message = cut(self.message, MAX_MESSAGE_CHARS)
        if self.field is not None:
            self.field = cut(self.field, MAX_FIELD_CHARS)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class InvalidArgument(EccoError):
    code = "INVALID_ARGUMENT"


class NotFound(EccoError):
    code = "NOT_FOUND"


class AlreadyExists(EccoError):
    code = "ALREADY_EXISTS"


class FailedPrecondition(EccoError):
    code = "FAILED_PRECONDITION"


class Aborted(EccoError):
    code = "ABORTED"


class Unauthenticated(EccoError):
    code = "UNAUTHENTICATED"


class PermissionDenied(EccoError):
    code = "PERMISSION_DENIED"


class ResourceExhausted(EccoError):
    code = "RESOURCE_EXHAUSTED"


class Unavailable(EccoError):
    code = "UNAVAILABLE"


class DeadlineExceeded(EccoError):
    code = "DEADLINE_EXCEEDED"


class Unimplemented(EccoError):
    code = "UNIMPLEMENTED"


class Cancelled(EccoError):
    code = "CANCELLED"


class Internal(EccoError):
    code = "INTERNAL"


ERROR_CLASSES: dict[str, type[EccoError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        Aborted,
        Unauthenticated,
        PermissionDenied,
        ResourceExhausted,
        Unavailable,
        DeadlineExceeded,
        Unimplemented,
        Cancelled,
        Internal,
    )
}
