"""The node's local reputation book: records the outcome of every request this node sent, and answers the
0-100 discovery score and tier of a peer (upstream-ecco §7.6) from the stored counts.

The stored records are mirrored in memory (this process is the database's only writer, under the node lock),
so discovery can rank peers by score without a query per match.

The outcome of a request is counted in memory at once (`note`) and written to the store shortly after, together
with the outcomes noted meanwhile: a request no longer waits for a database transaction of its own (profiled: 38% of
the requesting node's CPU per request, bench/README.md). Reads (`get`, `list`) and `record` write what is pending
first, so what they return is in the store; a crash loses at most the outcomes of the last FLUSH_DELAY_S (these are
local statistics, not events: no event is acknowledged on them), and `close` writes the rest at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from ecco.parsing import Tier
from ecco.services.discovery.reputation import TIER_THRESHOLDS, LocalReputation, discovery_score, tier_for_score
from ecco.services.ports import ReputationPort, ReputationRecord

log = logging.getLogger(__name__)

FLUSH_DELAY_S = 0.5
"""How long noted outcomes wait before they are written, so that one transaction carries many requests."""


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
        self._unsaved: list[tuple[str, bool, int]] = []  # (peer id, success, time) in the order noted
        self._flush_lock = asyncio.Lock()
        self._flush_timer: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Read every stored record once, at start-up."""
        self._local = {r.peer_id: r for r in await self._store.list()}
        self._scores = {peer_id: scored(record).score for peer_id, record in self._local.items()}

    async def note(self, peer_id: str, success: bool) -> ScoredReputation:
        """One job with the peer ended: +1 for a success, -1 for a failure (clamped). Counted now (ranking sees it
        at once), written to the store within FLUSH_DELAY_S; it never waits (the Messenger awaits it per request)."""
        now = self._clock_ms()
        self._remember(LocalReputation.of(self._local.get(peer_id)).record(success, now).as_record(peer_id))
        self._unsaved.append((peer_id, success, now))
        if self._flush_timer is None:
            self._flush_timer = asyncio.ensure_future(self._flush_later())
        return self._scored_now(peer_id)

    async def record(self, peer_id: str, success: bool) -> ScoredReputation:
        """`note`, and return once it is in the store."""
        await self.note(peer_id, success)
        await self.flush()
        return self._scored_now(peer_id)

    def _scored_now(self, peer_id: str) -> ScoredReputation:
        return scored(self._local.get(peer_id, ReputationRecord(peer_id)), self._feedback.get(peer_id))

    async def flush(self) -> None:
        """Write every outcome noted so far (in the order noted; the store's writes are increments)."""
        async with self._flush_lock:
            batch, self._unsaved = self._unsaved, []
            if not batch:
                return
            stored = await asyncio.gather(*(self._store.record(*outcome) for outcome in batch))
            pending = {peer_id for peer_id, _, _ in self._unsaved}
            for record in stored:  # the store is the truth (e.g. rows written before `load`)
                if record.peer_id not in pending:
                    self._remember(record)

    async def close(self) -> None:
        """Write what is pending (the node is stopping)."""
        timer, self._flush_timer = self._flush_timer, None
        if timer is not None:
            timer.cancel()
        await self.flush()

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(FLUSH_DELAY_S)
            self._flush_timer = None
            await self.flush()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("could not write request outcomes to the local reputation (counted in memory)", exc_info=True)

    def _remember(self, record: ReputationRecord) -> None:
        self._local[record.peer_id] = record
        self._scores[record.peer_id] = scored(record, self._feedback.get(record.peer_id)).score

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
        await self.flush()
        stored = await self._store.get(peer_id)
        return None if stored is None else scored(stored, self._feedback.get(peer_id))

    async def list(self, min_tier: Tier | None = None) -> list[ScoredReputation]:
        """Every record (in `min_tier` or better), best discovery score first, then by peer id."""
        threshold = TIER_THRESHOLDS[min_tier] if min_tier is not None else None
        await self.flush()
        rows = [scored(r, self._feedback.get(r.peer_id)) for r in await self._store.list()]
        rows = [r for r in rows if threshold is None or r.score >= threshold]
        return sorted(rows, key=lambda r: (-r.score, r.record.peer_id))
