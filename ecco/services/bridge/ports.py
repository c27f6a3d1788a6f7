"""The webhook bridge's ports: the HTTP client that reaches OpenClaw, the link to the node (gRPC for
`ecco webhook-bridge`, in process for `ecco up --webhook-bridge`), and the node's delivery records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from ecco.services.bridge.rules import AttemptResult
from ecco.services.ports import EventRecord


class Outcome(IntEnum):
    """Mirrors ecco.v1.DeliveryOutcome."""

    DELIVERED = 1
    RETRYING = 2
    DEAD_LETTER = 3


@dataclass(frozen=True)
class BridgeConfig:
    """What a bridge tells the node about itself (the token stays with the bridge)."""

    openclaw_url: str
    hook_path: str
    provider_hook_path: str
    filter: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """The node's answer to an attaching bridge: where to resume, and who the node is."""

    session_id: str
    consumer: str
    consumer_cursor: int
    peer_id: str
    node_name: str


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery attempt, as the bridge reports it."""

    event_cursor: int
    outcome: Outcome
    hook_path: str
    http_status: int = 0
    error: str = ""
    attempts: int = 1
    first_attempt_ms: int = 0


class HookClient(Protocol):
    """POSTs JSON to OpenClaw; never raises for HTTP or network failures, it returns them."""

    async def post(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> AttemptResult: ...


class BridgeLink(Protocol):
    """The bridge's view of its node."""

    def attach(self, config: BridgeConfig) -> AbstractAsyncContextManager[Attachment]:
        """Attached for the duration of the block; raises AlreadyExists when another bridge is attached."""
        ...

    def events(self, cursor: int, types: frozenset[str]) -> AsyncIterator[Sequence[EventRecord]]:
        """Batches of events after `cursor` of these types, replayed then live, until the node goes away
        (Unavailable)."""
        ...

    async def report(self, session_id: str, report: DeliveryReport) -> int:
        """Record the attempt in the node; returns the consumer's committed cursor."""
        ...

    async def send(self, peer_id: str, type: str, payload: dict[str, Any], message_id: str) -> None:
        """Send a message from the node (A2A mode: the agent's reply); raises EccoError when it cannot."""
        ...


@dataclass(frozen=True)
class BridgeCounters:
    """The stored counters of the current (or last) bridge session."""

    started_at_ms: int | None = None
    delivered: int = 0
    failed: int = 0
    last_error: str = ""
    last_error_ms: int | None = None
    last_delivered_cursor: int = 0
    failed_events: int = 0
    """Events given up on (dead letters) since the session started; `failed` counts every failed attempt."""


@dataclass(frozen=True)
class DeadLetterRecord:
    id: str
    event: EventRecord
    hook_path: str
    attempts: int
    last_http_status: int
    last_error: str
    first_attempt_ms: int
    created_at_ms: int


class BridgeStore(Protocol):
    """Durable bridge state in the node's database."""

    async def start_session(self, consumer: str, now_ms: int) -> None:
        """Reset the counters for a newly attached bridge (cursors and dead letters stay)."""
        ...

    async def record(self, consumer: str, report: DeliveryReport, now_ms: int) -> None:
        """Count the attempt; a DEAD_LETTER also stores a dead letter (once per event, however often reported)."""
        ...

    async def counters(self, consumer: str) -> BridgeCounters: ...

    async def count_pending(self, after_cursor: int, types: frozenset[str], inbound_only: bool) -> int:
        """Events after the cursor of these types, not outbound (inbound only when `inbound_only`)."""
        ...

    async def dead_letters(self, offset: int, limit: int) -> tuple[list[DeadLetterRecord], int]:
        """A page of dead letters, newest first, and the total stored."""
        ...
