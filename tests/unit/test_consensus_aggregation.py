"""Aggregation strategies (upstream-ecco §8.3), the synthesis prompt and the custom aggregator's validation."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys

import pytest

from ecco.errors import EccoError, Reason
from ecco.parsing import Aggregation, Similarity
from ecco.services.consensus import aggregation as consensus_aggregation
from ecco.services.consensus.aggregation import (
    AgentAnswer,
    AgentStatus,
    aggregate,
    parse_aggregator_output,
    synthesis_prompt,
)
from ecco.services.consensus.options import ConsensusOptions


def answer(peer: str, text: str, score: float = 1.0, latency: int = 10) -> AgentAnswer:
    return AgentAnswer(peer, AgentStatus.SUCCEEDED, text, "", latency, score, f"req-{peer}")


def run(answers: list[AgentAnswer], strategy: Aggregation, **options: object) -> object:
    opts = ConsensusOptions.create(aggregation=strategy, **options)  # type: ignore[arg-type]
    return asyncio.run(aggregate(answers, opts, "q?", performance=lambda _p: 0.5, synthesize=None))


VOTES = [
    answer("a", "London"),
    answer("b", "Paris"),
    answer("c", "paris."),
    answer("d", "London"),
    answer("e", "Paris"),
]


def test_majority_vote_exact_counts_identical_texts_first_to_the_top_wins() -> None:
    result = run(VOTES, Aggregation.MAJORITY_VOTE, similarity=Similarity.EXACT)
    # London and Paris both have 2; London reached 2 first (4th answer) before Paris (5th)
    assert (result.text, result.agreement, result.confidence) == ("London", 2, 0.4)
    assert [(v.text, v.peer_ids) for v in result.votes] == [
        ("London", ("a", "d")),
        ("Paris", ("b", "e")),
        ("paris.", ("c",)),
    ]


def test_majority_vote_with_text_overlap_clusters_near_identical_answers() -> None:
    result = run(VOTES, Aggregation.MAJORITY_VOTE)
    assert (result.text, result.agreement, result.confidence) == ("Paris", 3, 0.6)


def test_weighted_vote_weighs_by_match_score() -> None:
    answers = [answer("a", "London", 0.2), answer("b", "Paris", 0.9), answer("c", "London", 0.2)]
    result = run(answers, Aggregation.WEIGHTED_VOTE, similarity=Similarity.EXACT)
    # weights: matchScore x (0.5 + 0.5): London 0.4, Paris 0.9
    assert (result.text, result.agreement) == ("Paris", 1)
    assert result.confidence == pytest.approx(0.9 / 1.3)
    # with similarity on it is a majority vote
    assert run(answers, Aggregation.WEIGHTED_VOTE).text == "London"


def test_consensus_threshold_reports_a_miss_instead_of_failing() -> None:
    met = run(VOTES, Aggregation.CONSENSUS_THRESHOLD)
    assert met.threshold_met and met.text == "Paris"
    missed = run(VOTES, Aggregation.CONSENSUS_THRESHOLD, consensus_threshold=0.61)
    assert not missed.threshold_met and missed.confidence == 0.6 and len(missed.votes) == 2
    too_few = run(VOTES[:2], Aggregation.CONSENSUS_THRESHOLD, consensus_threshold=0.0, min_agents=3)
    assert not too_few.threshold_met


def test_single_answer_strategies() -> None:
    answers = [answer("a", "short", 0.5), answer("b", "the longest answer", 0.9), answer("c", "mid one", 0.9)]
    best = run(answers, Aggregation.BEST_SCORE)
    assert (best.text, best.confidence, best.agreement) == ("the longest answer", 1.0, 1)
    assert run(answers, Aggregation.FIRST_RESPONSE).text == "short"
    assert run(answers, Aggregation.LONGEST).text == "the longest answer"


def test_ensemble_combines_every_answer() -> None:
    result = run(VOTES[:2], Aggregation.ENSEMBLE)
    assert result.result == {
        "ensemble": True,
        "responses": [
            {"agentId": "a", "score": 1.0, "output": "London"},
            {"agentId": "b", "score": 1.0, "output": "Paris"},
        ],
        "summary": "Combined output from 2 agents",
    }
    assert (result.text, result.confidence, result.agreement) == ("Combined output from 2 agents", 1.0, 2)


def test_synthesis_uses_upstreams_prompt_and_needs_a_synthesizer() -> None:
    prompt = synthesis_prompt("Capital?", VOTES[:2])
    assert prompt == (
        'Original question: "Capital?"\n\nAgent responses:\n[a]: London\n\n[b]: Paris\n\n'
        "Provide a unified consensus answer that incorporates the key insights from all perspectives. "
        "Be concise (2-3 sentences)."
    )
    with pytest.raises(EccoError) as failure:
        run(VOTES, Aggregation.SYNTHESIZED_CONSENSUS)
    assert failure.value.reason == Reason.NO_SYNTHESIZER

    async def synthesize(text: str) -> str:
        return f"synthesized {len(text)}"

    opts = ConsensusOptions.create(aggregation=Aggregation.SYNTHESIZED_CONSENSUS)
    result = asyncio.run(aggregate(VOTES[:2], opts, "Capital?", performance=lambda _p: 0.5, synthesize=synthesize))
    assert result.result == {"text": f"synthesized {len(prompt)}", "synthesized": True, "sourceCount": 2}


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("not json", "invalid JSON"),
        ("[1]", "must print a JSON object"),
        ('{"confidence": 1}', "no `result`"),
        ('{"result": "x"}', "no numeric `confidence`"),
        ('{"result": "x", "confidence": 1.5}', "outside 0..1"),
        ('{"result": "x", "confidence": 1, "agreement": 9}', "not an integer from 0 to 3"),
    ],
)
def test_custom_aggregator_output_is_validated(output: str, problem: str) -> None:
    with pytest.raises(EccoError) as failure:
        parse_aggregator_output(output, 3)
    assert failure.value.reason == Reason.AGGREGATOR_FAILED and problem in failure.value.message


def test_custom_aggregator_runs_a_command_with_the_responses_on_stdin() -> None:
    script = (
        "import json, sys; r = json.load(sys.stdin); "
        "scores = {'confidence': 0.5, 'agreement': 1}; "
        "print(json.dumps({'consensus': scores, 'result': {'text': '+'.join(x['text'] for x in r)}}))"
    )
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    result = run(VOTES[:2], Aggregation.CUSTOM, aggregator_cmd=command)
    assert (result.text, result.confidence, result.agreement) == ("London+Paris", 0.5, 1)
    with pytest.raises(EccoError) as failure:
        run(VOTES[:2], Aggregation.CUSTOM, aggregator_cmd="echo broken >&2; exit 4")
    assert failure.value.reason == Reason.AGGREGATOR_FAILED
    assert failure.value.message == "the custom aggregator exited with status 4: broken"
    assert json.loads(parse_aggregator_output('{"result": [1], "confidence": 0}', 1).text) == [1]


def test_a_custom_aggregator_that_runs_too_long_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consensus_aggregation, "AGGREGATOR_TIMEOUT_S", 0.2)
    with pytest.raises(EccoError) as failure:
        run(VOTES[:2], Aggregation.CUSTOM, aggregator_cmd="exec sleep 30")
    assert (failure.value.reason, failure.value.message) == (
        Reason.AGGREGATOR_FAILED,
        "the custom aggregator took longer than 0.2s",
    )
