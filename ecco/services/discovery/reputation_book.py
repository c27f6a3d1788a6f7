"""The node's local reputation book: records the outcome of every request this node sent, and answers the
0-100 discovery score and tier of a peer (upstream-ecco §7.6) from the stored counts.

The stored records are mirrored in memory (this process is the database's only writer, under the node lock),
so discovery can rank peers by score without a query per match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ecco.parsing import Tier
from ecco.services.discovery.reputation import TIER_THRESHOLDS, discovery_score, tier_for_score
from ecco.services.ports import ReputationPort, ReputationRecord


@dataclass(frozen=True)
class ScoredReputation:
    record: ReputationRecord
    score: int
    """The 0-100 discovery score: local data, plus ERC-8004 feedback when a chain feeds it (set_feedback)."""
    tier: Tier | None


NEUTRAL_SCORE = 50
"""What ranking assumes of a peer this node has no data on: the local source's prior (one success, one failure
assumed), so a peer never asked ranks below one that answered and above one that failed."""


def scored(record: ReputationRecord, feedback: float | None = None) -> ScoredReputation:
    score = discovery_score(
        record.local_score, feedback, successful_jobs=record.successful_jobs, total_jobs=record.total_jobs
    )
    return ScoredReputation(record, score, tier_for_score(score))


class ReputationBook:
    def __init__(self, store: ReputationPort, clock_ms: Callable[[], int]) -> None:
        self._store = store
        self._clock_ms = clock_ms
        self._scores: dict[str, int] = {}
        self._local: dict[str, ReputationRecord] = {}
        self._feedback: dict[str, float] = {}

    async def load(self) -> None:
        """Read every stored record once, at start-up."""
        self._local = {r.peer_id: r for r in await self._store.list()}
        self._scores = {peer_id: scored(record).score for peer_id, record in self._local.items()}

    async def record(self, peer_id: str, success: bool) -> ScoredReputation:
        """One job with the peer ended: +1 for a success, -1 for a failure (clamped)."""
        stored = await self._store.record(peer_id, success, self._clock_ms())
        result = scored(stored, self._feedback.get(peer_id))
        self._local[peer_id] = stored
        self._scores[peer_id] = result.score
        return result

    def set_feedback(self, peer_id: str, feedback: float | None) -> None:
        """The peer's ERC-8004 feedback (average value, -100..100) from the chain; None when it has none."""
        if feedback is None:
            self._feedback.pop(peer_id, None)
        else:
            self._feedback[peer_id] = feedback
        score = scored(self._local.get(peer_id, ReputationRecord(peer_id)), feedback).score
        if score or peer_id in self._scores:
            self._scores[peer_id] = score

    def rank_score(self, peer_id: str) -> int:
        """The score discovery ranks by: the discovery score, NEUTRAL_SCORE for a peer without data."""
        return self._scores.get(peer_id, NEUTRAL_SCORE)

    def scores(self) -> dict[str, int]:
        """Every peer's discovery score (a copy); the reputation bloom filters are built from it."""
        return dict(self._scores)

    async def get(self, peer_id: str) -> ScoredReputation | None:
        stored = await self._store.get(peer_id)
        return None if stored is None else scored(stored, self._feedback.get(peer_id))

    async def list(self, min_tier: Tier | None = None) -> list[ScoredReputation]:
        """Every record (in `min_tier` or better), best discovery score first, then by peer id."""
        threshold = TIER_THRESHOLDS[min_tier] if min_tier is not None else None
        rows = [scored(r, self._feedback.get(r.peer_id)) for r in await self._store.list()]
        rows = [r for r in rows if threshold is None or r.score >= threshold]
        return sorted(rows, key=lambda r: (-r.score, r.record.peer_id))
