"""How each vote weighs answers, when a consensus counts as met, and that a custom aggregator never outlives its
time budget: the rules mutation testing (`make mutation`) found no test held."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from pathlib import Path

import pytest

from ecco.errors import EccoError, FailedPrecondition, Reason
from ecco.parsing import Aggregation, Similarity
from ecco.services.consensus import aggregation as consensus_aggregation
from ecco.services.consensus.aggregation import AgentAnswer, AgentStatus, Aggregate, aggregate
from ecco.services.consensus.options import ConsensusOptions


def answer(peer: str, text: str, score: float = 1.0) -> AgentAnswer:
    return AgentAnswer(peer, AgentStatus.SUCCEEDED, text, "", 10, score, f"req-{peer}")


def run(
    answers: list[AgentAnswer], performance=lambda _p: 0.5, embed=None, cancelled: int = 0, **options: object
) -> Aggregate:
    opts = ConsensusOptions.create(**options)  # type: ignore[arg-type]
    return asyncio.run(
        aggregate(answers, opts, "q?", performance=performance, synthesize=None, embed=embed, cancelled=cancelled)
    )


def test_weighted_vote_favours_the_better_performing_peer() -> None:
    """Equal match scores: weight = matchScore x (performance + 0.5), so 0.9 performance outweighs 0.1."""
    performance = {"a": 0.1, "b": 0.9}.get
    result = run(
        [answer("a", "London"), answer("b", "Paris")],
        performance=performance,
        aggregation=Aggregation.WEIGHTED_VOTE,
        similarity=Similarity.EXACT,
    )
    assert result.text == "Paris"
    assert [(v.text, v.weight) for v in result.votes] == [("Paris", pytest.approx(1.4)), ("London", 0.6)]
    assert result.confidence == pytest.approx(1.4 / 2.0)


class Embedder:
    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors
        self.calls: list[list[str]] = []

    async def __call__(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(texts)
        return [self.vectors[t] for t in texts]


@pytest.mark.parametrize("strategy", [Aggregation.MAJORITY_VOTE, Aggregation.CONSENSUS_THRESHOLD])
def test_peer_embedding_groups_answers_whose_embeddings_agree(strategy: Aggregation) -> None:
    """ "cat" and "feline" share no word, yet their embeddings say they agree."""
    embed = Embedder({"cat": [1.0, 0.0], "feline": [0.99, 0.05], "dog": [0.0, 1.0]})
    answers = [answer("a", "dog"), answer("b", "cat"), answer("c", "feline")]
    result = run(answers, embed=embed, aggregation=strategy, similarity=Similarity.PEER_EMBEDDING)
    assert embed.calls == [["dog", "cat", "feline"]]
    assert (result.text, result.agreement) == ("cat", 2)
    assert result.confidence == pytest.approx(2 / 3)


def test_two_answers_are_compared_by_embedding_and_one_needs_no_embedder() -> None:
    embed = Embedder({"cat": [1.0, 0.0], "feline": [1.0, 0.01]})
    two = run(
        [answer("a", "cat"), answer("b", "feline")],
        embed=embed,
        aggregation=Aggregation.MAJORITY_VOTE,
        similarity=Similarity.PEER_EMBEDDING,
    )
    assert (two.agreement, two.confidence, embed.calls) == (2, 1.0, [["cat", "feline"]])
    one = run([answer("a", "cat")], aggregation=Aggregation.MAJORITY_VOTE, similarity=Similarity.PEER_EMBEDDING)
    assert (one.text, one.agreement) == ("cat", 1)
    with pytest.raises(FailedPrecondition) as info:
        run(
            [answer("a", "x"), answer("b", "y")],
            aggregation=Aggregation.MAJORITY_VOTE,
            similarity=Similarity.PEER_EMBEDDING,
        )
    assert info.value.reason == Reason.NO_PROVIDER_FOUND


def test_a_consensus_reached_by_exactly_min_agents_is_met() -> None:
    answers = [answer("a", "yes"), answer("b", "yes")]
    met = run(answers, aggregation=Aggregation.CONSENSUS_THRESHOLD, min_agents=2, consensus_threshold=1.0)
    assert met.threshold_met and met.confidence == 1.0
    short = run(answers, aggregation=Aggregation.CONSENSUS_THRESHOLD, min_agents=3, consensus_threshold=0.5)
    assert not short.threshold_met


def test_a_custom_aggregator_that_times_out_is_killed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(consensus_aggregation, "AGGREGATOR_TIMEOUT_S", 0.2)
    pid_file = tmp_path / "pid"
    with pytest.raises(EccoError) as failure:
        run(
            [answer("a", "x")],
            aggregation=Aggregation.CUSTOM,
            aggregator_cmd=f"echo $$ > {pid_file}; exec sleep 30",
        )
    assert failure.value.reason == Reason.AGGREGATOR_FAILED
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(pid, 0)


def test_a_custom_aggregator_reads_each_answer_in_upstreams_shape() -> None:
    script = "import json, sys; print(json.dumps({'result': json.load(sys.stdin), 'confidence': 1, 'agreement': 0}))"
    result = run(
        [answer("a", "x", 0.5), answer("b", "y")],
        aggregation=Aggregation.CUSTOM,
        aggregator_cmd=f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}",
    )
    assert result.result == [
        {"peerId": "a", "text": "x", "matchScore": 0.5, "latencyMs": 10, "messageId": "", "self": False},
        {"peerId": "b", "text": "y", "matchScore": 1.0, "latencyMs": 10, "messageId": "", "self": False},
    ]
    assert (result.confidence, result.agreement) == (1.0, 0)


@pytest.mark.parametrize(
    "strategy", [Aggregation.MAJORITY_VOTE, Aggregation.WEIGHTED_VOTE, Aggregation.CONSENSUS_THRESHOLD]
)
@pytest.mark.parametrize("similarity", [Similarity.EXACT, Similarity.TEXT_OVERLAP])
def test_a_vote_result_is_the_winning_text_with_every_vote(strategy: Aggregation, similarity: Similarity) -> None:
    result = run(
        [answer("a", "no"), answer("b", "yes"), answer("c", "yes")], aggregation=strategy, similarity=similarity
    )
    assert (result.text, result.result, result.agreement) == ("yes", "yes", 2)
    assert [(v.text, v.peer_ids) for v in result.votes] == [("yes", ("b", "c")), ("no", ("a",))]


def test_a_majority_vote_counts_one_vote_per_answer() -> None:
    result = run([answer("a", "no", 0.2), answer("b", "yes"), answer("c", "yes")], similarity=Similarity.EXACT)
    assert [(v.text, v.weight) for v in result.votes] == [("yes", 2.0), ("no", 1.0)]


def test_a_withdrawn_request_counts_as_an_average_vote_that_might_dissent() -> None:
    """Two agreeing answers of weight 1 and one request withdrawn: confidence 2 / (2 + 1)."""
    result = run(
        [answer("a", "yes"), answer("b", "yes")],
        cancelled=1,
        aggregation=Aggregation.WEIGHTED_VOTE,
        similarity=Similarity.EXACT,
    )
    assert result.confidence == pytest.approx(2 / 3)


def test_a_weighted_vote_of_zero_weights_has_zero_confidence() -> None:
    result = run(
        [answer("a", "yes", 0.0), answer("b", "no", 0.0)],
        aggregation=Aggregation.WEIGHTED_VOTE,
        similarity=Similarity.EXACT,
    )
    assert result.confidence == 0.0


def test_a_single_answer_is_the_result() -> None:
    result = run([answer("a", "Paris")], aggregation=Aggregation.MAJORITY_VOTE)
    assert (result.text, result.result, result.confidence, result.agreement) == ("Paris", "Paris", 1.0, 1)


def test_a_failing_custom_aggregator_names_the_option_to_fix() -> None:
    with pytest.raises(EccoError) as failure:
        run([answer("a", "x")], aggregation=Aggregation.CUSTOM, aggregator_cmd="echo broken >&2; exit 3")
    assert (failure.value.reason, failure.value.field) == (Reason.AGGREGATOR_FAILED, "--aggregator-cmd")
    assert "status 3" in failure.value.message and "broken" in failure.value.message
