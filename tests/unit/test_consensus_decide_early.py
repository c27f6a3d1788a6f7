"""When a query may stop waiting: only once no pending answer can change the outcome. Each case sits on a boundary
(a tie, exactly the threshold, exactly min_agents, the heaviest weight a late answer could bring)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ecco.parsing import Aggregation, Similarity
from ecco.services.consensus.aggregation import AgentAnswer, AgentStatus, StopReason, decided
from ecco.services.consensus.options import ConsensusOptions


def answer(peer: str, text: str, score: float = 1.0, ok: bool = True) -> AgentAnswer:
    status = AgentStatus.SUCCEEDED if ok else AgentStatus.FAILED
    return AgentAnswer(peer, status, text, "" if ok else "boom", 10, score, f"req-{peer}")


def answers(*texts: str) -> list[AgentAnswer]:
    return [answer(f"p{i}", text) for i, text in enumerate(texts)]


def decide(
    given: list[AgentAnswer],
    pending: list[float],
    performance: Callable[[str], float] = lambda _p: 0.5,
    **options: object,
) -> StopReason | None:
    opts = ConsensusOptions.create(**{"similarity": Similarity.EXACT, **options})  # type: ignore[arg-type]
    return decided(given, pending, opts, "q?", performance)


def test_best_score_stops_once_no_pending_agent_scores_higher() -> None:
    given = [answer("a", "x", 0.8)]
    assert decide(given, [0.8, 0.3], aggregation=Aggregation.BEST_SCORE) == StopReason.BEST_SCORE_ANSWERED
    assert decide(given, [0.81], aggregation=Aggregation.BEST_SCORE) is None


def test_without_allow_partial_only_a_failure_stops_early() -> None:
    ok = answers("x", "y")
    assert decide([*ok, answer("f", "", ok=False)], [1.0], allow_partial=False) == StopReason.FAILURE
    assert decide(ok, [1.0], allow_partial=False, min_agents=1) is None


@pytest.mark.parametrize(
    ("texts", "pending", "min_agents", "expected"),
    [
        (("x", "x"), 1, 2, StopReason.LEADER_CANNOT_BE_CAUGHT),  # 2 > 0 + 1, exactly min_agents
        (("x", "x"), 1, 3, None),  # uncatchable but short of min_agents
        (("x", "x", "y"), 1, 1, None),  # 2 vs 1 + 1: a late answer could tie
        (("x", "y"), 1, 1, None),  # a tie leads nobody
    ],
)
def test_a_majority_stops_when_the_leader_cannot_be_caught(
    texts: tuple[str, ...], pending: int, min_agents: int, expected: StopReason | None
) -> None:
    given = answers(*texts)
    assert decide(given, [1.0] * pending, aggregation=Aggregation.MAJORITY_VOTE, min_agents=min_agents) == expected


def test_a_weighted_leader_must_outweigh_the_heaviest_late_answers() -> None:
    """A pending answer can weigh at most its match score x 1.5 (performance 1 + 0.5)."""
    given = [answer("a", "Paris"), answer("b", "Paris"), answer("c", "London", 0.5)]
    weighted = {"aggregation": Aggregation.WEIGHTED_VOTE, "min_agents": 2}
    # Paris 2 x 1 x (0.5 + 0.5) = 2.0; London 0.5 + a pending 1.0 x 1.5 = 2.0: a tie is not a lead
    assert decide(given, [1.0], **weighted) is None
    assert decide(given, [0.9], **weighted) == StopReason.LEADER_CANNOT_BE_CAUGHT
    assert decide(given, [0.9], **{**weighted, "min_agents": 3}) is None
    # the same answers, but Paris comes from the better performers: 3.0 vs 0.25 + 1.5
    strong = {"a": 1.0, "b": 1.0, "c": 0.0}.__getitem__
    assert decide(given, [1.0], strong, **weighted) == StopReason.LEADER_CANNOT_BE_CAUGHT


def test_peer_embedding_and_non_vote_strategies_wait_for_every_answer() -> None:
    unanimous = answers("x", "x", "x")
    assert decide(unanimous, [1.0], aggregation=Aggregation.MAJORITY_VOTE, similarity=Similarity.PEER_EMBEDDING) is None
    assert decide(unanimous, [1.0], aggregation=Aggregation.LONGEST, min_agents=1) is None


@pytest.mark.parametrize(
    ("texts", "pending", "threshold", "min_agents", "expected"),
    [
        (("x", "y", "z"), 1, 0.6, 1, StopReason.THRESHOLD_OUT_OF_REACH),  # (1 + 1) / 4 < 0.6
        (("x", "x", "y"), 2, 0.8, 1, None),  # (2 + 2) / 5 is exactly 0.8: still reachable
        (("x", "y"), 1, 0.5, 3, StopReason.THRESHOLD_OUT_OF_REACH),  # 1 + 1 answers < min_agents 3
        (("x", "x"), 1, 0.5, 3, None),  # 2 + 1 is exactly min_agents: reachable, not yet met
        (("x", "x", "x", "y"), 1, 0.6, 2, StopReason.THRESHOLD_MET),  # 3 / 5 is exactly 0.6, and 3 > 1 + 1
        (("x", "x", "x"), 1, 0.8, 2, None),  # 3 / 4 < 0.8 although nobody can catch up
    ],
)
def test_a_consensus_threshold_stops_once_met_for_good_or_out_of_reach(
    texts: tuple[str, ...], pending: int, threshold: float, min_agents: int, expected: StopReason | None
) -> None:
    options = {"aggregation": Aggregation.CONSENSUS_THRESHOLD, "consensus_threshold": threshold}
    assert decide(answers(*texts), [1.0] * pending, min_agents=min_agents, **options) == expected
