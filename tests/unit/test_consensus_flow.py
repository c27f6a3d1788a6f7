"""The consensus flow with fake messaging and discovery: fan-out, failures, allow-partial, include-self, events,
idempotent repeats."""

from __future__ import annotations

import json
import os
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

    async def prompt(
        self, peer_id: str, prompt: str, timeout_s: float, *, message_id: str = "", system: str = ""
    ) -> Reply:
        self.asked.append((peer_id, prompt, system))
        name = next(n for n, s in AGENTS.items() if s.peer_id == peer_id)
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

    def discover(self, query: CapabilityQuery, options: Any) -> AsyncIterator[Any]:
        raise AssertionError("these tests use find mode")


async def _consensus(
    names: list[str], answers: dict[str, str] | None = None, responder: Any = None
) -> tuple[Consensus, FakeMessenger, FakeEventStore]:
    store = FakeEventStore()
    events = EventLog(store)
    await events.start()
    messenger = FakeMessenger(answers or {})
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
