"""Selection strategies (upstream-ecco §8.2) and the load state they read (§7.7)."""

from __future__ import annotations

from collections import Counter

from ecco.parsing import Selection
from ecco.services.consensus.selection import Candidate, LoadTracker, PeerLoad, select

CANDIDATES = [Candidate(f"peer-{i}", 1.0 - i / 100) for i in range(40)]


def test_all_takes_the_first_33_and_top_n_the_best() -> None:
    loads = LoadTracker()
    assert select(Selection.ALL, CANDIDATES, 3, loads) == CANDIDATES[:33]
    assert select(Selection.TOP_N, CANDIDATES, 3, loads) == CANDIDATES[:3]


def test_round_robin_takes_the_least_recently_asked() -> None:
    loads = LoadTracker()
    few = CANDIDATES[:5]
    first = select(Selection.ROUND_ROBIN, few, 2, loads)
    assert first == few[:2]  # never asked: ranked order
    for n, candidate in enumerate(first):
        loads.started(candidate.peer_id, 1000 + n)
    assert select(Selection.ROUND_ROBIN, few, 3, loads) == few[2:5]


def test_random_is_a_uniform_sample_without_repeats() -> None:
    loads = LoadTracker()
    counts: Counter[str] = Counter()
    for _ in range(300):
        chosen = select(Selection.RANDOM, CANDIDATES[:6], 3, loads)
        assert len({c.peer_id for c in chosen}) == 3
        counts.update(c.peer_id for c in chosen)
    assert set(counts) == {c.peer_id for c in CANDIDATES[:6]}


def test_weighted_prefers_idle_well_matching_peers() -> None:
    loads = LoadTracker()
    busy, idle = Candidate("busy", 0.0), Candidate("idle", 1.0)
    for _ in range(50):
        loads.started("busy", 1)
    picks = Counter(select(Selection.WEIGHTED, [busy, idle], 1, loads)[0].peer_id for _ in range(400))
    # weights: busy 0.3/51 ~ 0.006, idle 0.7 + 0.3 = 1.0
    assert picks["idle"] > 350
    both = select(Selection.WEIGHTED, [busy, idle], 5, loads)
    assert sorted(c.peer_id for c in both) == ["busy", "idle"]


def test_load_state_counts_and_averages() -> None:
    loads = LoadTracker()
    loads.started("p", 10)
    assert loads.of("p").active_requests == 1
    loads.finished("p", 100, True)
    loads.started("p", 20)
    loads.finished("p", 200, False)
    load = loads.of("p")
    assert (load.active_requests, load.total_requests, load.errors, load.last_request_ms) == (0, 2, 1, 20)
    assert load.average_latency_ms == 0.8 * 100 + 0.2 * 200
    assert PeerLoad().performance_score() == 0.5
    assert load.performance_score() == (50 * 0.5 + 30 * 0.5 + 20 * (1 - 120 / 10_000)) / 100


def test_selecting_does_not_track_peers_never_asked() -> None:
    loads = LoadTracker()
    loads.started("peer-0", 5)
    for strategy in (Selection.ROUND_ROBIN, Selection.WEIGHTED):
        select(strategy, CANDIDATES, 3, loads)
    assert loads.peek("peer-1") == PeerLoad() and loads.peek("peer-0").last_request_ms == 5
    assert len(loads._loads) == 1
