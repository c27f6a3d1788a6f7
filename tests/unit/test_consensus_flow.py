"""The consensus flow with fake messaging and discovery: fan-out, failures, allow-partial, include-self, events,
idempotent repeats."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ecco.errors import DeadlineExceeded, EccoError, Reason, Unavailable
from ecco.parsing import Aggregation, DiscoveryMode, Selection, Similarity
from ecco.services.consensus.aggregation import AgentAnswer, AgentStatus
from ecco.services.consensus.options import MAX_PROMPT_CHARS, ConsensusOptions
from ecco.services.consensus.receipt import verify_receipt
from ecco.services.consensus.service import Consensus, ConsensusOutcome, Selected
from ecco.services.discovery.matching import CapabilityMatch, CapabilityQuery
from ecco.services.envelope import new_message, sign_message
from ecco.services.events.log import EventLog
from ecco.services.messaging.messenger import Reply
from ecco.services.messaging.responders import EchoResponder, ResponderFailed
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier
from tests.unit.conftest import FakeEventStore

ME = Ed25519Signer(os.urandom(32))
AGENTS = {name: Ed25519Signer(os.urandom(32)) for name in ("a", "b", "c", "slow", "broken", "gone")}


def pid(name: str) -> str:
    return AGENTS[name].peer_id


@dataclass
class FakeMessenger:
    """Answers like a remote agent would: a text, an error reply, a timeout or an unreachable peer."""

    answers: dict[str, str]
    asked: list[tuple[str, str, str]] = field(default_factory=list)
    silent: set[str] = field(default_factory=set)
    """Agents that never answer: their request times out at the caller's deadline, like a real silent peer."""
    withdrawn: list[str] = field(default_factory=list)

    async def prompt(
        self, peer_id: str, prompt: str, timeout_s: float, *, message_id: str = "", system: str = ""
    ) -> Reply:
        self.asked.append((peer_id, prompt, system))
        name = next(n for n, s in AGENTS.items() if s.peer_id == peer_id)
        if name in self.silent:
            try:
                await asyncio.sleep(timeout_s)  # the messenger's own timeout, as it runs for a silent peer
            except asyncio.CancelledError:
                self.withdrawn.append(name)
                raise
            raise DeadlineExceeded(f"peer {peer_id} did not answer within {timeout_s:g}s", Reason.REQUEST_TIMEOUT)
        if name == "slow":
            raise DeadlineExceeded(f"peer {peer_id} did not answer within {timeout_s:g}s", Reason.REQUEST_TIMEOUT)
        if name == "gone":
            raise Unavailable(f"peer {peer_id} disconnected before answering", Reason.PEER_UNREACHABLE)
        error = "the responder command exited with status 3" if name == "broken" else ""
        response = {"error": error} if error else {"text": self.answers.get(name, "Paris"), "finishReason": "stop"}
        message = sign_message(
            new_message(peer_id, ME.peer_id, "agent-response", {"requestId": message_id, "response": response}),
            AGENTS[name],
        )
        return Reply(peer_id, message_id, response.get("text", ""), "stop", error, 3, 0, message)


@dataclass
class _Peer:
    peer_id: str
    capabilities: tuple[dict[str, Any], ...] = ({"type": "agent", "name": "x", "version": "1.0.0"},)
    reputation: float | None = None


class FakeDiscovery:
    def __init__(self, names: list[str]) -> None:
        self.names = names

    async def find(self, query: CapabilityQuery) -> list[CapabilityMatch]:
        return [CapabilityMatch(pid(n), 1.0 - i / 10, (), (), _Peer(pid(n))) for i, n in enumerate(self.names)]

    async def reach(self, peer_id: str, timeout_s: float) -> None:
        return None

    def is_agent(self, peer_id: str) -> bool:
        return True

    def discover(self, query: CapabilityQuery, options: Any) -> AsyncIterator[Any]:
        raise AssertionError("these tests use find mode")


async def _consensus(
    names: list[str], answers: dict[str, str] | None = None, responder: Any = None, silent: set[str] | None = None
) -> tuple[Consensus, FakeMessenger, FakeEventStore]:
    store = FakeEventStore()
    events = EventLog(store)
    await events.start()
    messenger = FakeMessenger(answers or {}, silent=silent or set())
    consensus = Consensus(messenger, FakeDiscovery(names), ME, events, responder)  # type: ignore[arg-type]
    return consensus, messenger, store


def _options(**kwargs: Any) -> ConsensusOptions:
    return ConsensusOptions.create(mode=DiscoveryMode.FIND, **kwargs)


async def _collect(consensus: Consensus, prompt: str, options: ConsensusOptions, request_id: str = "") -> list[Any]:
    return [event async for event in consensus.run(prompt, options, request_id)]


async def test_every_agent_is_reported_and_failures_are_listed() -> None:
    consensus, messenger, events = await _consensus(["a", "b", "c", "slow", "broken", "gone"], {"c": "London"})
    items = await _collect(consensus, "Capital?", _options(system_prompt="one word"))
    selected, *answers, outcome = items
    assert isinstance(selected, Selected) and selected.candidate_count == 6
    assert {a.status for a in answers} == {
        AgentStatus.SUCCEEDED,
        AgentStatus.TIMED_OUT,
        AgentStatus.FAILED,
        AgentStatus.UNREACHABLE,
    }
    assert isinstance(outcome, ConsensusOutcome)
    assert (outcome.aggregate.text, outcome.aggregate.agreement, outcome.achieved) == ("Paris", 2, True)
    assert (outcome.metrics.total_agents, outcome.metrics.successful_agents, outcome.metrics.failed_agents) == (6, 3, 3)
    assert {system for _, _, system in messenger.asked} == {"one word"}
    assert outcome.rankings[0].peer_id in {pid("a"), pid("b"), pid("c")}
    messages = [a.message for a in outcome.answers if a.ok and a.message]
    assert verify_receipt(_json(outcome.receipt), messages, Ed25519Verifier()).verified
    logged = [r.type for r in events.records]
    assert logged == ["consensus-progress"] * 6 + ["consensus-completed"]


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc)


async def test_allow_partial_false_fails_on_any_failed_agent() -> None:
    consensus, _, _ = await _consensus(["a", "broken"])
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "Capital?", _options(allow_partial=False))
    assert failure.value.reason == Reason.PARTIAL_RESULTS_NOT_ALLOWED
    assert pid("broken") in failure.value.message and "exited with status 3" in failure.value.message


async def test_all_failed_no_agents_and_too_few_agents_are_errors() -> None:
    consensus, _, _ = await _consensus(["slow", "broken"])
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "Capital?", _options())
    assert failure.value.reason == Reason.ALL_AGENTS_FAILED
    nobody, _, _ = await _consensus([])
    with pytest.raises(EccoError) as failure:
        await _collect(nobody, "Capital?", _options())
    assert (failure.value.reason, failure.value.code) == (Reason.NO_MATCHING_AGENTS, "NOT_FOUND")
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "Capital?", _options(min_agents=3))
    assert (failure.value.reason, failure.value.code, failure.value.field) == (
        Reason.INSUFFICIENT_AGENTS,
        "INVALID_ARGUMENT",
        "--min-agents",
    )


async def test_include_self_adds_a_signed_answer_from_this_nodes_responder() -> None:
    consensus, _, _ = await _consensus(["a"], responder=EchoResponder())
    *_, outcome = await _collect(consensus, "Paris", _options(include_self=True, aggregation=Aggregation.ENSEMBLE))
    mine = next(a for a in outcome.answers if a.self_answer)
    assert (mine.peer_id, mine.text, mine.match_score) == (ME.peer_id, "Paris", 1.0)
    assert mine.message is not None and mine.message.from_ == ME.peer_id
    assert outcome.aggregate.agreement == 2 and len(outcome.receipt["entries"]) == 2


async def test_synthesizer_self_without_a_responder_fails_before_asking_anyone() -> None:
    consensus, messenger, _ = await _consensus(["a"])
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "Q", _options(aggregation=Aggregation.SYNTHESIZED_CONSENSUS))
    assert failure.value.reason == Reason.NO_SYNTHESIZER and messenger.asked == []


async def test_a_repeat_with_the_same_request_id_asks_nobody_again() -> None:
    consensus, messenger, _ = await _consensus(["a", "b"])
    first = await _collect(consensus, "Q", _options(), request_id="req-1")
    asked = len(messenger.asked)
    again = await _collect(consensus, "Q", _options(), request_id="req-1")
    assert again == first and len(messenger.asked) == asked
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "other prompt", _options(), request_id="req-1")
    assert failure.value.reason == Reason.IDEMPOTENCY_CONFLICT


async def test_a_query_outlives_a_caller_that_stops_following() -> None:
    consensus, _, _ = await _consensus(["a", "b"])
    stream = consensus.run("Q", _options(selection=Selection.TOP_N, agent_count=1), "req-2")
    first = await anext(stream)
    assert isinstance(first, Selected) and len(first.peer_ids) == 1
    await stream.aclose()
    rejoined = [
        event async for event in consensus.run("Q", _options(selection=Selection.TOP_N, agent_count=1), "req-2")
    ]
    assert isinstance(rejoined[-1], ConsensusOutcome) and isinstance(rejoined[1], AgentAnswer)
    await consensus.stop()


@pytest.mark.parametrize(
    ("synthesizer", "problem"),
    [("gone", "did not answer: peer"), ("broken", "answered with an error: the responder command exited")],
)
async def test_a_peer_synthesizer_that_fails_aborts_naming_it(synthesizer: str, problem: str) -> None:
    consensus, _, _ = await _consensus(["a"])
    options = _options(aggregation=Aggregation.SYNTHESIZED_CONSENSUS, synthesizer=pid(synthesizer))
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "Q", options)
    assert (failure.value.reason, failure.value.field) == (Reason.AGGREGATOR_FAILED, "--synthesizer")
    assert f"the synthesizer {pid(synthesizer)} {problem}" in failure.value.message


class _FailingResponder:
    """Answers the agents' prompt, fails the synthesis prompt."""

    streams = False

    async def respond(self, prompt: str) -> AsyncIterator[str]:
        if prompt.startswith("Original question:"):
            raise ResponderFailed("no model loaded")
        yield "Paris"


async def test_a_self_synthesizer_that_fails_aborts() -> None:
    consensus, _, _ = await _consensus(["a"], responder=_FailingResponder())
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "Q", _options(aggregation=Aggregation.SYNTHESIZED_CONSENSUS))
    assert (failure.value.reason, failure.value.field) == (Reason.AGGREGATOR_FAILED, "--synthesizer")
    assert failure.value.message == "this node's responder could not synthesize: no model loaded"


async def test_a_too_long_prompt_and_peer_embedding_without_an_embedder_are_refused() -> None:
    consensus, _, _ = await _consensus(["a", "b"])
    with pytest.raises(EccoError) as failure:
        consensus.run("x" * (MAX_PROMPT_CHARS + 1), _options())
    assert (failure.value.reason, failure.value.field) == (Reason.INVALID_ARGUMENT, "prompt")
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "Q", _options(similarity=Similarity.PEER_EMBEDDING))
    assert (failure.value.reason, failure.value.field) == (Reason.NO_PROVIDER_FOUND, "--similarity")


async def test_an_unexpected_failure_is_internal_and_logged() -> None:
    consensus, _, store = await _consensus(["a"])

    async def broken_find(query: CapabilityQuery) -> list[CapabilityMatch]:
        raise RuntimeError("boom")

    consensus._discovery.find = broken_find  # type: ignore[method-assign]
    with pytest.raises(EccoError) as failure:
        await _collect(consensus, "Q", _options(), request_id="req-3")
    assert (failure.value.code, failure.value.reason) == ("INTERNAL", Reason.INTERNAL)
    (record,) = store.records
    assert record.type == "consensus-completed" and json.loads(record.payload_json)["error"] == "INTERNAL"


class _HarnessMessenger(FakeMessenger):
    """This node's own harness: it answers with an error, or not at all."""

    async def ask_own_harness(self, prompt: str, timeout_s: float, *, message_id: str, system: str = "") -> Reply:
        if "silent" in prompt:
            raise DeadlineExceeded(f"no answer within {timeout_s:g}s", Reason.REQUEST_TIMEOUT)
        message = sign_message(
            new_message(ME.peer_id, ME.peer_id, "agent-response", {"requestId": message_id, "error": "busy"}), ME
        )
        return Reply(ME.peer_id, message_id, "", "", "busy", 3, 0, message)


@pytest.mark.parametrize(("prompt", "status", "error"), [("Q", "failed", "busy"), ("silent", "timed-out", "no answer")])
async def test_include_self_without_a_responder_reports_the_harness_failing(
    prompt: str, status: str, error: str
) -> None:
    events = EventLog(FakeEventStore())
    await events.start()
    consensus = Consensus(_HarnessMessenger({}), FakeDiscovery(["a"]), ME, events)  # type: ignore[arg-type]
    *_, outcome = await _collect(consensus, prompt, _options(include_self=True))
    mine = next(a for a in outcome.answers if a.self_answer)
    assert (mine.peer_id, str(mine.status)) == (ME.peer_id, status) and error in mine.error
    assert (outcome.aggregate.text, outcome.metrics.failed_agents) == ("Paris", 1)


# ---------------------------------------------------------------------------------------------------------------------
# deciding early: a silent agent is withdrawn as soon as the outcome cannot change
# ---------------------------------------------------------------------------------------------------------------------

LONG_MS = 20_000
"""A deadline no test reaches: a test that waited for it would take 20 s and fail its own time check."""


async def _decided(names: list[str], silent: set[str], **options: Any) -> tuple[ConsensusOutcome, list[Any], float]:
    consensus, messenger, _ = await _consensus(names, {"c": "London"}, silent=silent)
    began = time.monotonic()
    items = await _collect(consensus, "Capital?", _options(timeout_ms=LONG_MS, **options))
    elapsed = time.monotonic() - began
    assert set(messenger.withdrawn) == silent
    return items[-1], items, elapsed


@pytest.mark.parametrize(
    ("aggregation", "names", "reason"),
    [
        (Aggregation.MAJORITY_VOTE, ["a", "b", "gone"], "leader-cannot-be-caught"),
        (Aggregation.WEIGHTED_VOTE, ["a", "b", "gone"], "leader-cannot-be-caught"),
        (Aggregation.FIRST_RESPONSE, ["a", "gone"], "first-answer"),
        (Aggregation.CONSENSUS_THRESHOLD, ["a", "b", "gone"], "threshold-met"),
        (Aggregation.BEST_SCORE, ["a", "gone"], "best-score-answered"),
    ],
)
async def test_the_outcome_is_returned_as_soon_as_it_is_decided(
    aggregation: Aggregation, names: list[str], reason: str
) -> None:
    silent = {"slow"}
    outcome, items, elapsed = await _decided([*names, "slow"], silent, aggregation=aggregation)
    assert elapsed < 5 and outcome.stop_reason == reason
    cancelled = [a for a in outcome.answers if a.status == AgentStatus.CANCELLED]
    assert [a.peer_id for a in cancelled] == [pid("slow")]
    assert cancelled[0] in items  # the progress stream shows the withdrawn request too
    assert outcome.receipt["stopReason"] == reason
    assert {"peerId": pid("slow"), "status": "cancelled"} in outcome.receipt["agents"]
    assert pid("slow") not in {e["peerId"] for e in outcome.receipt["entries"]}


async def test_allow_partial_false_fails_at_the_first_failure_without_waiting() -> None:
    consensus, messenger, _ = await _consensus(["broken", "slow"], silent={"slow"})
    began = time.monotonic()
    items: list[Any] = []
    with pytest.raises(EccoError) as failure:
        async for item in consensus.run("Capital?", _options(timeout_ms=LONG_MS, allow_partial=False)):
            items.append(item)
    assert time.monotonic() - began < 5
    assert failure.value.reason == Reason.PARTIAL_RESULTS_NOT_ALLOWED
    assert messenger.withdrawn == ["slow"]
    assert [a.status for a in items if isinstance(a, AgentAnswer)] == [AgentStatus.FAILED, AgentStatus.CANCELLED]


async def test_a_threshold_out_of_reach_stops_with_achieved_false() -> None:
    # Paris and London split; even if the silent agent said Paris, 2 of 3 stays below 0.9
    outcome, _, elapsed = await _decided(["a", "c", "slow"], {"slow"}, consensus_threshold=0.9)
    assert elapsed < 5 and outcome.stop_reason == "threshold-out-of-reach"
    assert not outcome.achieved and outcome.aggregate.confidence == pytest.approx(1 / 3)


async def test_an_undecided_vote_waits_for_the_deadline_and_no_longer() -> None:
    consensus, _, _ = await _consensus(["a", "c", "slow"], {"c": "London"}, silent={"slow"})
    began = time.monotonic()
    items = await _collect(consensus, "Capital?", _options(timeout_ms=400, aggregation=Aggregation.MAJORITY_VOTE))
    elapsed = time.monotonic() - began
    outcome = items[-1]
    assert 0.4 <= elapsed < 0.4 * 1.1 + 0.2
    assert outcome.stop_reason == "deadline"
    assert {a.peer_id: a.status for a in outcome.answers}[pid("slow")] == AgentStatus.TIMED_OUT


async def test_without_a_capability_query_only_agents_are_asked() -> None:
    consensus, _, _ = await _consensus(["a", "b", "gone"])
    consensus._discovery.is_agent = lambda peer_id: peer_id != pid("gone")  # type: ignore[method-assign]
    items = await _collect(consensus, "Capital?", _options())
    assert items[0].peer_ids == [pid("a"), pid("b")]
    # once a peer answered this node it counts as an agent whatever it announces
    consensus.loads.finished(pid("gone"), 10, True)
    items = await _collect(consensus, "Capital?", _options())
    assert pid("gone") in items[0].peer_ids


async def test_decide_early_false_waits_for_every_agent() -> None:
    consensus, _, _ = await _consensus(["a", "b", "slow"], silent={"slow"})
    options = _options(timeout_ms=300, aggregation=Aggregation.FIRST_RESPONSE, decide_early=False)
    outcome = (await _collect(consensus, "Capital?", options))[-1]
    assert outcome.stop_reason == "deadline" and outcome.receipt["parameters"]["decideEarly"] is False
    assert {a.status for a in outcome.answers} == {AgentStatus.SUCCEEDED, AgentStatus.TIMED_OUT}
