"""Conversions between service values and protobuf messages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from google.protobuf import struct_pb2, timestamp_pb2

from ecco.errors import InvalidArgument, Reason
from ecco.parsing import MAX_PHASE_TIMEOUT_MS, DiscoveryOptions, DiscoveryPhase, Tier
from ecco.services.discovery import (
    CapabilityMatch,
    CapabilityQuery,
    DiscoveredPeer,
    DiscoveryResult,
    PhaseProgress,
    PhaseState,
)
from ecco.services.ports import EventRecord
from ecco.v1 import common_pb2, discovery_service_pb2

NETWORKS = {"testnet": common_pb2.NETWORK_TESTNET, "mainnet": common_pb2.NETWORK_MAINNET}


def timestamp_ms(ms: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def enum_from_pb(table: Mapping[int, T], number: int, field: str, kind: str) -> T:
    """The value an enum number stands for; a number outside `table` (a value this node does not know, which
    proto3 lets any client send) is refused rather than read as unspecified."""
    if number not in table:
        raise InvalidArgument(f"{field}: {number} is not a known {kind}", Reason.INVALID_ARGUMENT, field=field)
    return table[number]


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
    """A CapabilityQuery from the API: `raw_json` (the upstream query) or the capability fields, never both;
    `preferred_peer_ids` combine with either (added to the raw query's `preferredPeers`)."""
    if query.raw_json:
        if query.name or query.type or query.version or query.features:
            raise InvalidArgument(
                "give either raw_json or the capability fields (name, type, version, features), not both",
                Reason.INVALID_ARGUMENT,
                field="--raw",
            )
        raw = CapabilityQuery.from_raw(query.raw_json)
        preferred = tuple(dict.fromkeys([*raw.preferred_peers, *query.preferred_peer_ids]))
        return dataclasses.replace(raw, preferred_peers=preferred)
    return CapabilityQuery.from_flags(
        query.name,
        type=query.type or None,
        version=query.version or None,
        features=list(query.features),
        preferred=list(query.preferred_peer_ids),
    )


def match_to_pb(
    match: CapabilityMatch,
    addresses: Sequence[str] = (),
    *,
    combined_score: float | None = None,
    latency_ms: float | None = None,
    connected: bool = False,
    bloom_tier: Tier | None = None,
) -> common_pb2.CapabilityMatch:
    """`combined_score` defaults to the match score (what ranking reduces to without reputation and zones)."""
    peer = common_pb2.PeerInfo(
        peer_id=match.peer_id,
        addresses=list(addresses),
        capabilities=[capability_to_pb(c) for c in match.peer.capabilities],
        latency_ms=latency_ms or 0.0,
        connected=connected,
    )
    return common_pb2.CapabilityMatch(
        peer=peer,
        match_score=match.match_score,
        combined_score=match.match_score if combined_score is None else combined_score,
        matched_capabilities=[capability_to_pb(c) for c in match.matched_capabilities],
        reasons=list(match.reasons),
        bloom_tier=TIERS_TO_PB[bloom_tier] if bloom_tier is not None else common_pb2.REPUTATION_TIER_UNSPECIFIED,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Phased discovery
# ---------------------------------------------------------------------------------------------------------------------

PHASES_TO_PB = {
    DiscoveryPhase.PROXIMITY: common_pb2.DISCOVERY_PHASE_PROXIMITY,
    DiscoveryPhase.LOCAL: common_pb2.DISCOVERY_PHASE_LOCAL,
    DiscoveryPhase.INTERNET: common_pb2.DISCOVERY_PHASE_INTERNET,
    DiscoveryPhase.FALLBACK: common_pb2.DISCOVERY_PHASE_FALLBACK,
}
PHASES_FROM_PB = {number: phase for phase, number in PHASES_TO_PB.items()}
TIERS_FROM_PB = {
    common_pb2.REPUTATION_TIER_ELITE: Tier.ELITE,
    common_pb2.REPUTATION_TIER_GOOD: Tier.GOOD,
    common_pb2.REPUTATION_TIER_ACCEPTABLE: Tier.ACCEPTABLE,
}
TIERS_TO_PB = {tier: number for number, tier in TIERS_FROM_PB.items()}
PHASE_STATES_TO_PB = {
    PhaseState.STARTED: common_pb2.DISCOVERY_PHASE_STATE_STARTED,
    PhaseState.COMPLETED: common_pb2.DISCOVERY_PHASE_STATE_COMPLETED,
    PhaseState.SKIPPED: common_pb2.DISCOVERY_PHASE_STATE_SKIPPED,
    PhaseState.FAILED: common_pb2.DISCOVERY_PHASE_STATE_FAILED,
}


def discovery_options_from_pb(options: common_pb2.DiscoveryOptions) -> DiscoveryOptions:
    """Validated options; 0 / unspecified / unset take upstream's defaults. Errors name the CLI flag, as
    `query_from_pb` does."""
    phases: list[str] = []
    for number in options.phases:
        phase = PHASES_FROM_PB.get(number)
        if phase is None:
            shown = common_pb2.DiscoveryPhase.Name(number) if number in common_pb2.DiscoveryPhase.values() else number
            raise InvalidArgument(
                f"--phases: {shown} is not a discovery phase (expected proximity, local, internet or fallback)",
                Reason.UNKNOWN_DISCOVERY_PHASE,
                field="--phases",
            )
        phases.append(phase)
    if not 0 <= options.phase_timeout_ms <= MAX_PHASE_TIMEOUT_MS:
        raise InvalidArgument(
            f"--phase-timeout: must be between 1 and {MAX_PHASE_TIMEOUT_MS} ms (0 means the default), "
            f"got {options.phase_timeout_ms}",
            Reason.INVALID_ARGUMENT,
            field="--phase-timeout",
        )
    if options.min_peers < 0:
        raise InvalidArgument(
            f"--min-peers: must be a positive integer (0 means the default), got {options.min_peers}",
            Reason.INVALID_ARGUMENT,
            field="--min-peers",
        )
    tier: str | None = None
    if options.bloom_tier:
        if options.bloom_tier not in TIERS_FROM_PB:
            raise InvalidArgument(
                f"--bloom-tier: {options.bloom_tier} is not a reputation tier (expected elite, good or acceptable)",
                Reason.UNKNOWN_REPUTATION_TIER,
                field="--bloom-tier",
            )
        tier = TIERS_FROM_PB[options.bloom_tier]
    return DiscoveryOptions.from_flags(
        phases or None,
        phase_timeout_ms=options.phase_timeout_ms or None,
        min_peers=options.min_peers or None,
        prefer_proximity=options.prefer_proximity if options.HasField("prefer_proximity") else None,
        bloom_tier=tier,
    )


def progress_to_pb(progress: PhaseProgress) -> common_pb2.DiscoveryProgress:
    return common_pb2.DiscoveryProgress(
        phase=PHASES_TO_PB[progress.phase],
        state=PHASE_STATES_TO_PB[progress.state],
        new_matches=progress.new_matches,
        total_matches=progress.total_matches,
        elapsed_ms=progress.elapsed_ms,
        detail=progress.detail,
    )


def discovered_peer_to_pb(peer: DiscoveredPeer, addresses: Sequence[str] = ()) -> discovery_service_pb2.DiscoveredPeer:
    return discovery_service_pb2.DiscoveredPeer(
        match=match_to_pb(
            peer.match,
            addresses,
            combined_score=peer.combined_score,
            latency_ms=peer.latency_ms,
            connected=peer.connected,
            bloom_tier=peer.bloom_tier,
        ),
        phase=PHASES_TO_PB[peer.phase],
        proximity=peer.proximity,
    )


def discovery_result_to_pb(
    result: DiscoveryResult, addresses: Callable[[str], Sequence[str]] = lambda peer_id: ()
) -> discovery_service_pb2.DiscoveryResult:
    """`addresses(peer_id)` gives the dialable addresses known for a peer."""
    return discovery_service_pb2.DiscoveryResult(
        peers=[discovered_peer_to_pb(p, addresses(p.match.peer_id)) for p in result.peers],
        phases_run=[PHASES_TO_PB[p] for p in result.phases_run],
        min_peers_reached=result.min_peers_reached,
        total_time_ms=result.total_time_ms,
    )


T = TypeVar("T")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(size: int) -> int:
    """A request's page_size: 0 means the default; above the maximum it is capped; negative is refused."""
    if size < 0:
        raise InvalidArgument("page_size must not be negative", Reason.INVALID_ARGUMENT, field="page_size")
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def offset_page(items: Sequence[T], token: str, size: int) -> tuple[Sequence[T], str]:
    """One page of an offset-paged list held in memory, and the token of the next page ("" after the last)."""
    offset, size = page_offset(token), page_size(size)
    return items[offset : offset + size], str(offset + size) if offset + size < len(items) else ""


def page_offset(token: str) -> int:
    """The offset encoded in a page token of an offset-paged list (peers, reputation); empty means the start."""
    if not token:
        return 0
    if not token.isdigit():
        raise InvalidArgument("page_token is malformed", Reason.INVALID_PAGE_TOKEN, field="page_token")
    return int(token)
