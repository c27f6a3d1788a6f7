"""Reputation arithmetic, tiers, latency zones and the post-discovery ranking (upstream-ecco §7.4, §7.6, §7.7).

Upstream never wired these into its node (§13 #7), so ranking there degraded to the match score. They are pure
functions here so the node can wire them, and so the numbers can be checked against the worked values of §7.6.
The stores (local reputation table, chain feedback cache, RTT samples) live elsewhere and feed these functions.

Pure logic: no I/O, no clocks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from ecco.parsing import TIERS, Tier
from ecco.services.ports import ReputationRecord

# ---------------------------------------------------------------------------------------------------------------------
# Local reputation
# ---------------------------------------------------------------------------------------------------------------------

LOCAL_SCORE_MIN: Final = -1000
LOCAL_SCORE_MAX: Final = 1000


def clamp_local_score(score: int) -> int:
    return max(LOCAL_SCORE_MIN, min(LOCAL_SCORE_MAX, score))


@dataclass(frozen=True)
class LocalReputation:
    """One row of upstream's `local_reputation`: what this node saw of a peer's jobs."""

    local_score: int = 0
    total_jobs: int = 0
    successful_jobs: int = 0
    failed_jobs: int = 0
    last_interaction_at: int | None = None
    """Epoch milliseconds of the last recorded job."""

    @classmethod
    def of(cls, record: ReputationRecord | None) -> LocalReputation:
        """The counts of a stored record (a peer without one starts at zero)."""
        if record is None:
            return cls()
        return cls(
            record.local_score,
            record.total_jobs,
            record.successful_jobs,
            record.failed_jobs,
            record.last_interaction_at_ms,
        )

    def as_record(self, peer_id: str) -> ReputationRecord:
        return ReputationRecord(
            peer_id, self.local_score, self.total_jobs, self.successful_jobs, self.failed_jobs, self.last_interaction_at
        )

    def record(self, success: bool, now_ms: int | None = None) -> LocalReputation:
        """The reputation after one more job: +1 for a success, -1 for a failure, clamped to [-1000, 1000]."""
        return replace(
            self,
            local_score=clamp_local_score(self.local_score + (1 if success else -1)),
            total_jobs=self.total_jobs + 1,
            successful_jobs=self.successful_jobs + (1 if success else 0),
            failed_jobs=self.failed_jobs + (0 if success else 1),
            last_interaction_at=self.last_interaction_at if now_ms is None else now_ms,
        )


# ---------------------------------------------------------------------------------------------------------------------
# Discovery score (0-100)
# ---------------------------------------------------------------------------------------------------------------------

LOCAL_WEIGHT: Final = 0.25
FEEDBACK_WEIGHT: Final = 0.5


def js_round(value: float) -> int:
    """JavaScript's Math.round: halves round up (towards +infinity), unlike Python's round-half-to-even."""
    return math.floor(value + 0.5)


def local_share(successful_jobs: int, total_jobs: int) -> float | None:
    """The local source, 0..1: the share of jobs that succeeded, with one success and one failure assumed up front
    (Laplace's rule), so two outcomes already separate peers: 2 of 2 answered 0.75, 2 of 2 failed 0.25. None
    without jobs. Upstream's (s + 1000) / 2000 moved 0.0005 per job: a peer that failed twice and one that
    answered twice both scored 50, and the failing one kept being tried first."""
    return (successful_jobs + 1) / (total_jobs + 2) if total_jobs > 0 else None


def discovery_score(
    local_score: int = 0, feedback: float | None = None, *, successful_jobs: int = 0, total_jobs: int = 0
) -> int:
    """The 0-100 reputation used by discovery: a weighted mean of the sources known for the peer.

    local with weight 0.25: `local_share` of the job counts when they are given, else upstream's
    (s + 1000) / 2000 counted only when s != 0; on-chain feedback (v + 100) / 200 with weight 0.5, counted when it
    was fetched (not None). The validation source of upstream is never counted. round(100 x mean), clamped to
    0..100; a peer with no data scores 0."""
    weighted = 0.0
    weights = 0.0
    share = local_share(successful_jobs, total_jobs)
    if share is None and local_score != 0:
        share = (local_score + 1000) / 2000
    if share is not None:
        weighted += share * LOCAL_WEIGHT
        weights += LOCAL_WEIGHT
    if feedback is not None:
        weighted += (feedback + 100) / 200 * FEEDBACK_WEIGHT
        weights += FEEDBACK_WEIGHT
    if weights == 0:
        return 0
    return max(0, min(100, js_round(100 * (weighted / weights))))


def effective_score(local_score: int, feedback: float | None = None, feedback_count: int = 0) -> float:
    """The score upstream lists "peers by score" with: localScore + clamp(feedback, -100, 100) x
    min(1, log10(count + 1)). Not the discovery score."""
    if feedback is None or feedback_count <= 0:
        return float(local_score)
    return local_score + max(-100.0, min(100.0, feedback)) * min(1.0, math.log10(feedback_count + 1))


# ---------------------------------------------------------------------------------------------------------------------
# Tiers
# ---------------------------------------------------------------------------------------------------------------------


TIER_THRESHOLDS: Final[Mapping[Tier, int]] = {Tier.ELITE: 90, Tier.GOOD: 70, Tier.ACCEPTABLE: 50}
BLOOM_BONUS: Final[Mapping[Tier, float]] = {Tier.ELITE: 0.3, Tier.GOOD: 0.15, Tier.ACCEPTABLE: 0.05}


def tier_for_score(score: float) -> Tier | None:
    """The best tier whose threshold the discovery score reaches; None below 50."""
    for tier in TIERS:
        if score >= TIER_THRESHOLDS[tier]:
            return tier
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Latency zones
# ---------------------------------------------------------------------------------------------------------------------


class LatencyZone(StrEnum):
    LOCAL = "local"
    REGIONAL = "regional"
    CONTINENTAL = "continental"
    GLOBAL = "global"


ZONES: Final = (LatencyZone.LOCAL, LatencyZone.REGIONAL, LatencyZone.CONTINENTAL, LatencyZone.GLOBAL)
"""Nearest first."""
ZONE_LIMITS_MS: Final[Mapping[LatencyZone, float]] = {
    LatencyZone.LOCAL: 50,
    LatencyZone.REGIONAL: 150,
    LatencyZone.CONTINENTAL: 300,
}
ZONE_WEIGHTS: Final[Mapping[LatencyZone, float]] = {
    LatencyZone.LOCAL: 1.0,
    LatencyZone.REGIONAL: 0.8,
    LatencyZone.CONTINENTAL: 0.6,
    LatencyZone.GLOBAL: 0.4,
}
UNKNOWN_ZONE_WEIGHT: Final = 0.5


def classify_latency(average_rtt_ms: float) -> LatencyZone:
    """The zone of a peer from its recent average round trip: < 50 ms local, < 150 regional, < 300 continental."""
    for zone, limit in ZONE_LIMITS_MS.items():
        if average_rtt_ms < limit:
            return zone
    return LatencyZone.GLOBAL


def zone_weight(zone: LatencyZone | None) -> float:
    return UNKNOWN_ZONE_WEIGHT if zone is None else ZONE_WEIGHTS[zone]


def select_by_zone(
    peer_ids: Sequence[str],
    zones: Mapping[str, LatencyZone],
    count: int,
    preferred: LatencyZone = LatencyZone.LOCAL,
    max_zone: LatencyZone = LatencyZone.GLOBAL,
) -> list[str]:
    """Up to `count` peers, walking the zones from `preferred` out to `max_zone`; peers of unknown zone are
    never chosen (as upstream)."""
    chosen: list[str] = []
    for zone in ZONES[ZONES.index(preferred) : ZONES.index(max_zone) + 1]:
        for peer_id in peer_ids:
            if len(chosen) >= count:
                return chosen
            if zones.get(peer_id) == zone and peer_id not in chosen:
                chosen.append(peer_id)
    return chosen


# ---------------------------------------------------------------------------------------------------------------------
# Ranking after discovery
# ---------------------------------------------------------------------------------------------------------------------

MATCH_RANK_WEIGHT: Final = 0.4
REPUTATION_RANK_WEIGHT: Final = 0.3
ZONE_RANK_WEIGHT: Final = 0.2


@dataclass(frozen=True)
class RankInput:
    """What discovery knows about one matched peer."""

    peer_id: str
    match_score: float
    reputation_score: float = 0
    """The 0-100 discovery score (`discovery_score`)."""
    bloom_tier: Tier | None = None
    """The tier whose bloom filter holds the peer for the type of the first required capability."""
    zone: LatencyZone | None = None
    proximity_bonus: int = 0
    """1 when the peer was found over a proximity transport (BLE)."""


@dataclass(frozen=True)
class RankedPeer:
    peer: RankInput
    combined_score: float


def combined_score(peer: RankInput) -> float:
    """0.4 x matchScore + bloom bonus + 0.3 x clamp(rep / 100, 0, 1) + 0.2 x zone weight."""
    bloom = BLOOM_BONUS[peer.bloom_tier] if peer.bloom_tier is not None else 0.0
    reputation = max(0.0, min(1.0, peer.reputation_score / 100))
    return (
        MATCH_RANK_WEIGHT * peer.match_score
        + bloom
        + REPUTATION_RANK_WEIGHT * reputation
        + ZONE_RANK_WEIGHT * zone_weight(peer.zone)
    )


def rank_peers(peers: Iterable[RankInput]) -> list[RankedPeer]:
    """Best first by reputation score, then proximity bonus, then combined score (all descending; stable)."""
    ranked = [RankedPeer(p, combined_score(p)) for p in peers]
    ranked.sort(key=lambda r: (-r.peer.reputation_score, -r.peer.proximity_bonus, -r.combined_score))
    return ranked
