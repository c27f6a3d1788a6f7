"""Turning successful responses into one result (upstream-ecco §8.3). Every strategy is a function of the responses
alone, except synthesized-consensus (a synthesizer writes the answer) and custom (a command computes it), which
get what they need passed in. The custom aggregator's output is validated, which upstream never did (#95).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ecco.errors import Aborted, FailedPrecondition, Reason
from ecco.parsing import Aggregation, Similarity
from ecco.services.consensus.options import ConsensusOptions
from ecco.services.consensus.similarity import cluster, leaders, medoid
from ecco.services.envelope import Message, canonical_json

AGGREGATOR_TIMEOUT_S = 60.0
MAX_AGGREGATOR_OUTPUT = 10 * 1024 * 1024
SYNTHESIS_SYSTEM_PROMPT = "You synthesize multiple perspectives into a unified consensus answer."


class AgentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"
    """Still out when the outcome was decided: withdrawn, its answer (if any) ignored."""


class StopReason(StrEnum):
    """Why a query stopped waiting for answers (the result's and the receipt's `stopReason`)."""

    ALL_ANSWERED = "all-answered"
    FIRST_ANSWER = "first-answer"
    LEADER_CANNOT_BE_CAUGHT = "leader-cannot-be-caught"
    THRESHOLD_MET = "threshold-met"
    THRESHOLD_OUT_OF_REACH = "threshold-out-of-reach"
    BEST_SCORE_ANSWERED = "best-score-answered"
    FAILURE = "failure"
    """allow_partial is false and an agent failed."""
    DEADLINE = "deadline"
    """The overall deadline passed with agents still silent (they are timed out)."""


@dataclass(frozen=True)
class AgentAnswer:
    """One selected agent's part of a query, successful or not."""

    peer_id: str
    status: AgentStatus
    text: str
    error: str
    latency_ms: int
    match_score: float
    request_message_id: str
    message: Message | None = None
    """The agent's signed agent-response (for this node's own answer: one it signed itself)."""
    self_answer: bool = False

    @property
    def ok(self) -> bool:
        return self.status == AgentStatus.SUCCEEDED


@dataclass(frozen=True)
class Vote:
    text: str
    peer_ids: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class Aggregate:
    text: str
    result: Any
    """The result as JSON: the winning text, or an object (ensemble, synthesized, custom)."""
    confidence: float
    agreement: int
    votes: list[Vote] = field(default_factory=list)
    threshold_met: bool = True
    """False only for consensus-threshold below its threshold."""


Synthesize = Callable[[str], Awaitable[str]]
"""Sends a synthesis prompt to the synthesizer and returns its answer."""
Embed = Callable[[list[str]], Awaitable[list[list[float]]]]
"""Returns one embedding per text (for --similarity peer-embedding)."""
Vectors = Sequence[Sequence[float]] | None
VOTES = frozenset({Aggregation.MAJORITY_VOTE, Aggregation.WEIGHTED_VOTE, Aggregation.CONSENSUS_THRESHOLD})


def synthesis_prompt(question: str, answers: Sequence[AgentAnswer]) -> str:
    """Upstream's synthesis prompt, byte for byte."""
    parts = "\n\n".join(f"[{a.peer_id}]: {a.text}" for a in answers)
    return (
        f'Original question: "{question}"\n\nAgent responses:\n{parts}\n\n'
        "Provide a unified consensus answer that incorporates the key insights from all perspectives. "
        "Be concise (2-3 sentences)."
    )


def ranked_clusters(
    texts: Sequence[str], options: ConsensusOptions, vectors: Vectors = None, prompt: str = ""
) -> tuple[list[list[int]], list[list[int]]]:
    """The clusters of agreeing texts (indexes), each led by its medoid (its representative) then the others in
    input order; and the largest of them (several when tied)."""
    groups = []
    for group in cluster(texts, options.similarity, options.similarity_threshold, vectors, prompt):
        centre = medoid(texts, group, options.similarity, vectors, prompt)
        groups.append([centre, *(i for i in group if i != centre)])
    return groups, [list(g) for g in leaders(texts, groups, options.similarity, prompt)]


def _groups(
    answers: Sequence[AgentAnswer], options: ConsensusOptions, vectors: Vectors, prompt: str = ""
) -> list[list[AgentAnswer]]:
    groups, _ = ranked_clusters([a.text for a in answers], options, vectors, prompt)
    return [[answers[i] for i in group] for group in groups]


def _votes(groups: Sequence[Sequence[AgentAnswer]], weigh: Callable[[AgentAnswer], float]) -> list[Vote]:
    votes = [Vote(g[0].text, tuple(a.peer_id for a in g), sum(weigh(a) for a in g)) for g in groups]
    return sorted(votes, key=lambda v: -v.weight)  # stable: equal weights keep first-arrival order


def camps(
    answers: Sequence[AgentAnswer], options: ConsensusOptions, vectors: Vectors = None, prompt: str = ""
) -> tuple[list[list[AgentAnswer]], list[AgentAnswer]]:
    """The clusters (medoid first) and the winning one: the largest, ties broken at random (CSPRNG), so nobody
    can predict (and game) which of two equal camps wins."""
    groups, top = ranked_clusters([a.text for a in answers], options, vectors, prompt)
    return [[answers[i] for i in g] for g in groups], [answers[i] for i in secrets.choice(top)]


def majority_vote(
    answers: Sequence[AgentAnswer],
    options: ConsensusOptions,
    vectors: Vectors = None,
    prompt: str = "",
    cancelled: int = 0,
) -> Aggregate:
    """Exact: the most frequent text, ties to the first to reach the top count. Otherwise the largest cluster
    (ties at random); its medoid's text wins. Confidence is the winning share of the answers, the `cancelled`
    requests (withdrawn once the outcome was decided) counted as answers that might have disagreed."""
    groups, group = camps(answers, options, vectors, prompt)
    votes = _votes(groups, lambda _a: 1.0)
    voters = len(answers) + cancelled
    if options.similarity == Similarity.EXACT:
        counts: dict[str, int] = {}
        winner, best = answers[0].text, 0
        for answer in answers:
            counts[answer.text] = counts.get(answer.text, 0) + 1
            if counts[answer.text] > best:
                winner, best = answer.text, counts[answer.text]
        return Aggregate(winner, winner, best / voters, best, votes)
    return Aggregate(group[0].text, group[0].text, len(group) / voters, len(group), votes)


def weighted_vote(
    answers: Sequence[AgentAnswer],
    options: ConsensusOptions,
    performance: Callable[[str], float],
    vectors: Vectors = None,
    prompt: str = "",
    cancelled: int = 0,
) -> Aggregate:
    """With similarity on, the same as majority vote (upstream). Exact: each response adds matchScore x
    (performanceScore + 0.5) to its text; the heaviest text wins (ties: the first). Confidence is the winner's
    share of the weight, each `cancelled` request counted as an average vote."""
    if options.similarity != Similarity.EXACT:
        return majority_vote(answers, options, vectors, prompt, cancelled)
    weigh = lambda a: a.match_score * (performance(a.peer_id) + 0.5)  # noqa: E731
    votes = _votes(_groups(answers, options, None, prompt), weigh)
    best = votes[0]
    total = sum(v.weight for v in votes)
    total += cancelled * total / len(answers)  # a withdrawn request counts as an average vote that might dissent
    return Aggregate(best.text, best.text, best.weight / total if total else 0.0, len(best.peer_ids), votes)


def consensus_threshold(
    answers: Sequence[AgentAnswer],
    options: ConsensusOptions,
    vectors: Vectors = None,
    prompt: str = "",
    cancelled: int = 0,
) -> Aggregate:
    """Majority vote, reported as not met (never an error) when confidence is below the threshold or fewer than
    min_agents responded."""
    vote = majority_vote(answers, options, vectors, prompt, cancelled)
    met = vote.confidence >= options.consensus_threshold and len(answers) >= options.min_agents
    return dataclasses.replace(vote, threshold_met=met)


def ensemble(answers: Sequence[AgentAnswer]) -> Aggregate:
    summary = f"Combined output from {len(answers)} agents"
    result = {
        "ensemble": True,
        "responses": [{"agentId": a.peer_id, "score": a.match_score, "output": a.text} for a in answers],
        "summary": summary,
    }
    return Aggregate(summary, result, 1.0, len(answers))


def _single(answer: AgentAnswer) -> Aggregate:
    return Aggregate(answer.text, answer.text, 1.0, 1)


def decided(
    answers: Sequence[AgentAnswer],
    pending_scores: Sequence[float],
    options: ConsensusOptions,
    question: str,
    performance: Callable[[str], float],
) -> StopReason | None:
    """Whether the outcome is already decided by the `answers` in, with requests still out to agents of
    `pending_scores` (their match scores), and why; None while it is not. Only decides what no late answer can
    change: a vote's leader must beat every other answer and every pending one put together (single linkage
    could let one late answer join several camps); consensus-threshold is out of reach when even every pending
    answer joining the leading camp would stay below the threshold. peer-embedding votes wait for every answer
    (their similarity is only known once the embeddings are in)."""
    if not pending_scores:
        return StopReason.ALL_ANSWERED
    if not options.decide_early:
        return None
    successes = [a for a in answers if a.ok]
    if not options.allow_partial and len(successes) < len(answers):
        return StopReason.FAILURE
    if not successes:
        return None
    strategy, pending = options.aggregation, len(pending_scores)
    if strategy == Aggregation.FIRST_RESPONSE:
        return StopReason.FIRST_ANSWER
    if strategy == Aggregation.BEST_SCORE:
        best = max(a.match_score for a in successes)
        return StopReason.BEST_SCORE_ANSWERED if best >= max(pending_scores) else None
    if strategy not in VOTES or options.similarity == Similarity.PEER_EMBEDDING:
        return None
    if strategy == Aggregation.WEIGHTED_VOTE and options.similarity == Similarity.EXACT:
        weigh = lambda a: a.match_score * (performance(a.peer_id) + 0.5)  # noqa: E731
        votes = _votes(_groups(successes, options, None, question), weigh)
        others = sum(v.weight for v in votes[1:]) + sum(score * 1.5 for score in pending_scores)
        leads = votes[0].weight > others and len(votes[0].peer_ids) >= options.min_agents
        return StopReason.LEADER_CANNOT_BE_CAUGHT if leads else None
    _, top = ranked_clusters([a.text for a in successes], options, None, question)
    lead = len(top[0]) if len(top) == 1 else 0
    total = len(successes) + pending
    if strategy == Aggregation.CONSENSUS_THRESHOLD:
        best = max(len(g) for g in top)
        if (best + pending) / total < options.consensus_threshold or best + pending < options.min_agents:
            return StopReason.THRESHOLD_OUT_OF_REACH
        met = lead / total >= options.consensus_threshold
        return StopReason.THRESHOLD_MET if met and _uncatchable(lead, len(successes), pending, options) else None
    return StopReason.LEADER_CANNOT_BE_CAUGHT if _uncatchable(lead, len(successes), pending, options) else None


def _uncatchable(lead: int, answered: int, pending: int, options: ConsensusOptions) -> bool:
    return lead >= options.min_agents and lead > (answered - lead) + pending


async def aggregate(
    answers: Sequence[AgentAnswer],
    options: ConsensusOptions,
    question: str,
    *,
    performance: Callable[[str], float],
    synthesize: Synthesize | None,
    embed: Embed | None = None,
    cancelled: int = 0,
) -> Aggregate:
    """Aggregate the successful answers (in arrival order; at least one). Votes with --similarity peer-embedding
    first get the answers' embeddings from `embed`. `cancelled` requests were withdrawn once the outcome was
    decided: votes count them in the confidence's denominator."""
    strategy = options.aggregation
    vectors: Vectors = None
    if strategy in VOTES and options.similarity == Similarity.PEER_EMBEDDING and len(answers) > 1:
        if embed is None:
            raise FailedPrecondition(
                "--similarity peer-embedding: this node cannot ask peers for embeddings",
                Reason.NO_PROVIDER_FOUND,
                field="--similarity",
            )
        vectors = await embed([a.text for a in answers])
    if strategy == Aggregation.MAJORITY_VOTE:
        return majority_vote(answers, options, vectors, question, cancelled)
    if strategy == Aggregation.WEIGHTED_VOTE:
        return weighted_vote(answers, options, performance, vectors, question, cancelled)
    if strategy == Aggregation.CONSENSUS_THRESHOLD:
        return consensus_threshold(answers, options, vectors, question, cancelled)
    if strategy == Aggregation.BEST_SCORE:
        return _single(max(answers, key=lambda a: a.match_score))  # max keeps the first of equals
    if strategy == Aggregation.ENSEMBLE:
        return ensemble(answers)
    if strategy == Aggregation.FIRST_RESPONSE:
        return _single(answers[0])
    if strategy == Aggregation.LONGEST:
        return _single(max(answers, key=lambda a: len(a.text)))
    if strategy == Aggregation.SYNTHESIZED_CONSENSUS:
        if synthesize is None:
            raise FailedPrecondition(
                "synthesized-consensus needs a synthesizer: this node has no responder (start it with "
                "--responder) and --synthesizer names no peer",
                Reason.NO_SYNTHESIZER,
                field="--synthesizer",
            )
        text = await synthesize(synthesis_prompt(question, answers))
        return Aggregate(text, {"text": text, "synthesized": True, "sourceCount": len(answers)}, 1.0, len(answers))
    return await run_custom(options.aggregator_cmd, answers)


# ---------------------------------------------------------------------------------------------------------------------
# custom: a command reads the responses as JSON on stdin and prints the aggregated result JSON
# ---------------------------------------------------------------------------------------------------------------------


def aggregator_input(answers: Sequence[AgentAnswer]) -> list[dict[str, Any]]:
    return [
        {
            "peerId": a.peer_id,
            "text": a.text,
            "matchScore": a.match_score,
            "latencyMs": a.latency_ms,
            "messageId": a.message.id if a.message else "",
            "self": a.self_answer,
        }
        for a in answers
    ]


def _aggregator_failed(why: str) -> Aborted:
    return Aborted(f"the custom aggregator {why}", Reason.AGGREGATOR_FAILED, field="--aggregator-cmd")


def parse_aggregator_output(stdout: str, response_count: int) -> Aggregate:
    """Validate the custom aggregator's result: a JSON object with `result` (a string or any JSON value), a
    `confidence` from 0 to 1 and optionally `agreement` (an integer from 0 to the number of responses; default
    all). Upstream's AggregatedResult shape, with confidence and agreement under `consensus`, is accepted too."""
    try:
        doc = json.loads(stdout)
    except ValueError as exc:
        raise _aggregator_failed(f"printed invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise _aggregator_failed('must print a JSON object, e.g. {"result": "...", "confidence": 0.8}')
    if doc.get("result") is None:
        raise _aggregator_failed("printed no `result`")
    scores = doc["consensus"] if isinstance(doc.get("consensus"), dict) else doc
    confidence = scores.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not math.isfinite(confidence):
        raise _aggregator_failed("printed no numeric `confidence`")
    if not 0 <= confidence <= 1:
        raise _aggregator_failed(f"printed confidence {confidence}, outside 0..1")
    agreement = scores.get("agreement", response_count)
    if isinstance(agreement, bool) or not isinstance(agreement, int) or not 0 <= agreement <= response_count:
        raise _aggregator_failed(f"printed agreement {agreement!r}, not an integer from 0 to {response_count}")
    result = doc["result"]
    if isinstance(result, str):
        text = result
    elif isinstance(result, dict) and isinstance(result.get("text"), str):
        text = result["text"]
    else:
        text = canonical_json(result)
    return Aggregate(text, result, float(confidence), agreement)


async def run_custom(command: str, answers: Sequence[AgentAnswer]) -> Aggregate:
    """Run the aggregator command in a shell (bounded in time and output); its exit status must be 0."""
    process = await asyncio.create_subprocess_shell(
        command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=MAX_AGGREGATOR_OUTPUT,
    )
    try:
        async with asyncio.timeout(AGGREGATOR_TIMEOUT_S):
            stdout, stderr = await process.communicate(json.dumps(aggregator_input(answers)).encode("utf-8"))
    except TimeoutError:
        raise _aggregator_failed(f"took longer than {AGGREGATOR_TIMEOUT_S:g}s") from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode != 0:
        tail = stderr[-500:].decode("utf-8", errors="replace").strip()
        raise _aggregator_failed(f"exited with status {process.returncode}" + (f": {tail}" if tail else ""))
    if len(stdout) > MAX_AGGREGATOR_OUTPUT:
        raise _aggregator_failed("printed more than 10 MiB")
    return parse_aggregator_output(stdout.decode("utf-8", errors="replace"), len(answers))
