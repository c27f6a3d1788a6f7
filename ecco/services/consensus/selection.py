"""Which candidates a consensus query asks (upstream-ecco §8.2), and the per-peer load state that round-robin and
weighted selection read (§7.7). Random choices use a CSPRNG so a peer cannot predict or bias being picked."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ecco.parsing import Selection
from ecco.services.consensus.options import MAX_FANOUT

LOAD_WEIGHT = 0.3
LATENCY_EMA_OLD = 0.8
MAX_TOTAL_REQUESTS = 1_000_000
MAX_TRACKED_PEERS = 10_000
_random = secrets.SystemRandom()


@dataclass(frozen=True)
class Candidate:
    peer_id: str
    match_score: float


@dataclass
class PeerLoad:
    active_requests: int = 0
    average_latency_ms: float = 0.0
    total_requests: int = 0
    errors: int = 0
    last_request_ms: int = 0
    """When this node last selected the peer (epoch ms); 0 = never."""

    @property
    def success_rate(self) -> float:
        return (self.total_requests - self.errors) / self.total_requests if self.total_requests else 1.0

    def performance_score(self) -> float:
        """Upstream's performanceScore from this node's own samples; 0.5 for a peer never asked."""
        if not self.total_requests:
            return 0.5
        latency_term = max(0.0, 1 - self.average_latency_ms / 10_000)
        return (50 * self.success_rate + 30 * self.success_rate + 20 * latency_term) / 100


class LoadTracker:
    """Load state per peer: active requests go up on selection and down when the answer is in; latency is an EMA."""

    def __init__(self) -> None:
        self._loads: dict[str, PeerLoad] = {}

    def of(self, peer_id: str) -> PeerLoad:
        load = self._loads.get(peer_id)
        if load is None:
            if len(self._loads) >= MAX_TRACKED_PEERS:
                del self._loads[min(self._loads, key=lambda p: self._loads[p].last_request_ms)]
            load = self._loads[peer_id] = PeerLoad()
        return load

    def peek(self, peer_id: str) -> PeerLoad:
        """The peer's load for reading: a fresh one, not tracked, for a peer never asked (selecting among
        candidates or weighing answers does not make a peer take a slot, or push a tracked one out)."""
        load = self._loads.get(peer_id)
        return PeerLoad() if load is None else load

    def started(self, peer_id: str, now_ms: int) -> None:
        load = self.of(peer_id)
        load.active_requests += 1
        load.last_request_ms = now_ms

    def withdrawn(self, peer_id: str) -> None:
        """A request was withdrawn before it ended (the outcome was decided): no longer active, no sample."""
        load = self.of(peer_id)
        load.active_requests = max(0, load.active_requests - 1)

    def finished(self, peer_id: str, latency_ms: float, success: bool) -> None:
        load = self.of(peer_id)
        load.active_requests = max(0, load.active_requests - 1)
        load.average_latency_ms = (
            latency_ms
            if not load.total_requests
            else LATENCY_EMA_OLD * load.average_latency_ms + (1 - LATENCY_EMA_OLD) * latency_ms
        )
        if load.total_requests < MAX_TOTAL_REQUESTS:
            load.total_requests += 1
            load.errors += 0 if success else 1


def select(
    strategy: Selection, candidates: Sequence[Candidate], agent_count: int, loads: LoadTracker
) -> list[Candidate]:
    """The candidates to ask, in order. `candidates` come ranked best first (discovery order)."""
    if strategy == Selection.ALL:
        return list(candidates[:MAX_FANOUT])
    if strategy == Selection.TOP_N:
        return list(candidates[:agent_count])
    if strategy == Selection.ROUND_ROBIN:
        # sorted() is stable: peers asked equally recently keep their ranked order
        return sorted(candidates, key=lambda c: loads.peek(c.peer_id).last_request_ms)[:agent_count]
    if strategy == Selection.RANDOM:
        shuffled = list(candidates)
        _random.shuffle(shuffled)  # Fisher-Yates driven by the OS CSPRNG
        return shuffled[:agent_count]
    return _weighted(candidates, agent_count, loads)


def _weighted(candidates: Sequence[Candidate], agent_count: int, loads: LoadTracker) -> list[Candidate]:
    """Sampling without replacement; weight = matchScore x 0.7 + 1/(activeRequests + 1) x 0.3."""
    pool = list(candidates)
    chosen: list[Candidate] = []
    while pool and len(chosen) < agent_count:
        weights = [
            c.match_score * (1 - LOAD_WEIGHT) + LOAD_WEIGHT / (loads.peek(c.peer_id).active_requests + 1) for c in pool
        ]
        total = sum(weights)
        if total <= 0:
            index = _random.randrange(len(pool))
        else:
            point = _random.random() * total
            index = len(pool) - 1
            for i, weight in enumerate(weights):
                point -= weight
                if point < 0:
                    index = i
                    break
        chosen.append(pool.pop(index))
    return chosen
