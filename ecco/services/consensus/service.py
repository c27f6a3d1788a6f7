"""Consensus: ask several agents the same prompt and aggregate their answers (upstream-ecco §8), with a signed
receipt.

A query runs as a task of its own that appends each step (discovery progress, the selection, each agent's answer
as it arrives, the outcome) to a run record; callers follow the record. So a client that disconnects does not
abort the agents' work, and a repeat with the same request id asks nobody again: it replays the record (following
it while the original still runs). Each answer and the outcome are written to the event log before a caller sees
them. Unlike upstream, `allow_partial=false` is honoured (§13 #1) and a missed threshold is a result with
`achieved=false` and the votes, not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ecco.errors import (
    Aborted,
    DeadlineExceeded,
    EccoError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    Reason,
    Unavailable,
)
from ecco.parsing import Aggregation, DiscoveryMode
from ecco.services.consensus.aggregation import (
    SYNTHESIS_SYSTEM_PROMPT,
    AgentAnswer,
    AgentStatus,
    Aggregate,
    Embed,
    StopReason,
    Synthesize,
    aggregate,
    decided,
)
from ecco.services.consensus.embeddings import PeerEmbeddings
from ecco.services.consensus.options import MAX_PROMPT_CHARS, SELF_SYNTHESIZER, ConsensusOptions
from ecco.services.consensus.receipt import sha256_hex, sign_receipt
from ecco.services.consensus.selection import Candidate, LoadTracker, select
from ecco.services.crypto_ports import Signer
from ecco.services.discovery import CONNECT_TIMEOUT_S, CapabilityQuery, Discovery, DiscoveryResult, PhaseProgress
from ecco.services.envelope import Message, new_message, now_ms, sign_message
from ecco.services.events import EventLog
from ecco.services.messaging import Messenger, Responder, ResponderFailed, validate_peer_id, validate_request_id

log = logging.getLogger("ecco.consensus")

T = TypeVar("T")
MAX_STORED_RUNS = 256
UNREACHABLE_REASONS = frozenset({Reason.PEER_UNREACHABLE, Reason.PEER_NOT_FOUND})


@dataclass(frozen=True)
class Selected:
    candidate_count: int
    """Candidates found before selection, this node excluded."""
    peer_ids: list[str]
    """The agents asked, in selection order (this node's own id last when it answers too)."""


@dataclass(frozen=True)
class Ranking:
    peer_id: str
    score: float
    contribution: float


@dataclass(frozen=True)
class Metrics:
    total_agents: int
    successful_agents: int
    failed_agents: int
    average_latency_ms: float
    total_time_ms: int


@dataclass(frozen=True)
class ConsensusOutcome:
    consensus_id: str
    aggregate: Aggregate
    achieved: bool
    strategy: Aggregation
    answers: list[AgentAnswer]
    """Every selected agent's answer, successful or not, in arrival order."""
    rankings: list[Ranking]
    metrics: Metrics
    receipt: dict[str, Any]
    stop_reason: StopReason = StopReason.ALL_ANSWERED
    """Why the query stopped waiting (the receipt signs it as `stopReason`)."""


ConsensusEvent = PhaseProgress | Selected | AgentAnswer | ConsensusOutcome


@dataclass
class _Run:
    fingerprint: str
    events: list[ConsensusEvent] = field(default_factory=list)
    error: EccoError | None = None
    done: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, event: ConsensusEvent) -> None:
        async with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    async def finish(self, error: EccoError | None) -> None:
        async with self.changed:
            self.error, self.done = error, True
            self.changed.notify_all()

    async def follow(self) -> AsyncIterator[ConsensusEvent]:
        seen = 0
        while True:
            async with self.changed:
                await self.changed.wait_for(lambda seen=seen: self.done or len(self.events) > seen)
                fresh, finished, error = self.events[seen:], self.done, self.error
            seen += len(fresh)
            for event in fresh:
                yield event
            if finished and seen == len(self.events):
                if error is not None:
                    raise error
                return


def rankings_of(answers: Sequence[AgentAnswer]) -> list[Ranking]:
    """contribution_i = (matchScore_i / (latency_i + 1)) / max_j(...), best first."""
    raw = [(a, a.match_score / (a.latency_ms + 1)) for a in answers]
    best = max((value for _, value in raw), default=0.0)
    ranked = [Ranking(a.peer_id, a.match_score, value / best if best else 0.0) for a, value in raw]
    return sorted(ranked, key=lambda r: -r.contribution)


def _failure_list(answers: Sequence[AgentAnswer]) -> str:
    return "; ".join(
        f"{a.peer_id}: {a.status} ({a.error})" for a in answers if not a.ok and a.status != AgentStatus.CANCELLED
    )


class Consensus:
    def __init__(
        self,
        messenger: Messenger,
        discovery: Discovery,
        signer: Signer,
        events: EventLog,
        responder: Responder | None = None,
        loads: LoadTracker | None = None,
        embeddings: PeerEmbeddings | None = None,
    ) -> None:
        """`responder` is this node's own responder: it answers for include_self and is the "self" synthesizer;
        `embeddings` asks peers for embeddings (--similarity peer-embedding)."""
        self._messenger = messenger
        self._discovery = discovery
        self._signer = signer
        self._events = events
        self._responder = responder
        self._embeddings = embeddings
        self.loads = loads or LoadTracker()
        self._runs: OrderedDict[str, _Run] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def run(self, prompt: str, options: ConsensusOptions, request_id: str = "") -> AsyncIterator[ConsensusEvent]:
        """Start (or, for a known request id, rejoin) a query and follow it: PhaseProgress items (phased mode),
        one Selected, an AgentAnswer per agent as it arrives, then one ConsensusOutcome; or an EccoError."""
        if not prompt.strip():
            raise InvalidArgument("the prompt must not be empty", Reason.INVALID_ARGUMENT, field="prompt")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise InvalidArgument(
                f"the prompt is longer than {MAX_PROMPT_CHARS} characters", Reason.INVALID_ARGUMENT, field="prompt"
            )
        validate_request_id(request_id)
        self._check_synthesizer(options)
        fingerprint = sha256_hex(repr((prompt, options)))
        consensus_id = request_id or str(uuid.uuid4())
        existing = self._runs.get(consensus_id)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise InvalidArgument(
                    f"request id {consensus_id} was used for a different consensus query",
                    Reason.IDEMPOTENCY_CONFLICT,
                    field="request_id",
                )
            return existing.follow()
        record = _Run(fingerprint)
        self._runs[consensus_id] = record
        while len(self._runs) > MAX_STORED_RUNS:
            oldest = next(iter(self._runs))
            if not self._runs[oldest].done:
                break
            del self._runs[oldest]
        task = asyncio.ensure_future(self._execute(record, consensus_id, prompt, options))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return record.follow()

    def _check_synthesizer(self, options: ConsensusOptions) -> None:
        """Fail before any agent is asked when synthesis could not happen: never a silent fallback."""
        if options.aggregation != Aggregation.SYNTHESIZED_CONSENSUS:
            return
        if options.synthesizer == SELF_SYNTHESIZER:
            if self._responder is None:
                raise FailedPrecondition(
                    "synthesized-consensus with --synthesizer self needs this node to have a responder "
                    "(start it with --responder), or name a peer with --synthesizer <peerId>",
                    Reason.NO_SYNTHESIZER,
                    field="--synthesizer",
                )
            return
        validate_peer_id(options.synthesizer, field="--synthesizer")
        if options.synthesizer == self._signer.peer_id:
            raise InvalidArgument(
                "--synthesizer: use 'self' for this node", Reason.INVALID_PEER_ID, field="--synthesizer"
            )

    async def _execute(self, record: _Run, consensus_id: str, prompt: str, options: ConsensusOptions) -> None:
        error: EccoError | None = None
        try:
            async for event in self._query(consensus_id, prompt, options):
                await record.add(event)
        except EccoError as failure:
            error = failure
        except asyncio.CancelledError:
            error = Unavailable("the node is shutting down", Reason.SHUTTING_DOWN)
            raise
        except Exception:
            log.exception("consensus query failed", extra={"consensus": consensus_id})
            error = Internal("internal error", Reason.INTERNAL)
        finally:
            if error is not None:
                with contextlib.suppress(Exception):
                    await self._events.record(
                        "consensus-completed",
                        {"consensusId": consensus_id, "error": str(error.reason), "message": error.message},
                        request_id=consensus_id,
                    )
            await record.finish(error)

    # ------------------------------------------------------------------------------------------------ the query

    async def _query(self, consensus_id: str, prompt: str, options: ConsensusOptions) -> AsyncIterator[ConsensusEvent]:
        started = time.monotonic()
        deadline = started + options.timeout_ms / 1000
        if options.mode == DiscoveryMode.PHASED:
            result: DiscoveryResult | None = None
            async for event in _before(deadline, self._discovery.discover(options.query, options.discovery)):
                if isinstance(event, DiscoveryResult):
                    result = event
                else:
                    yield event
            assert result is not None
            candidates = [Candidate(p.match.peer_id, p.match.match_score) for p in result.peers]
            tried = f"phases tried: {', '.join(result.phases_run) or 'none'}"
        else:
            matches = await _within(deadline, self._discovery.find(options.query))
            candidates = [Candidate(m.peer_id, m.match_score) for m in matches]
            tried = "asked the local cache and the network"
        candidates = [c for c in candidates if c.peer_id != self._signer.peer_id]
        if options.query == CapabilityQuery():
            # no capability named: only peers that can answer a prompt, never one that merely announces something
            candidates = [c for c in candidates if self._can_answer(c.peer_id)]
            tried += "; without a capability query only agents (type agent, or answered this node before) count"
        with_self = options.include_self
        total = len(candidates) + with_self
        if total == 0:
            raise NotFound(f"no agent matches the consensus query ({tried})", Reason.NO_MATCHING_AGENTS)
        if total < options.min_agents:
            raise InvalidArgument(
                f"--min-agents {options.min_agents} is more than the {total} agents found",
                Reason.INSUFFICIENT_AGENTS,
                field="--min-agents",
            )
        chosen = select(options.selection, candidates, options.agent_count, self.loads)
        yield Selected(len(candidates), [c.peer_id for c in chosen] + ([self._signer.peer_id] if with_self else []))

        query_id = str(uuid.uuid4())
        scores = {c.peer_id: c.match_score for c in chosen} | ({self._signer.peer_id: 1.0} if with_self else {})
        answers: list[AgentAnswer] = []
        stop = StopReason.ALL_ANSWERED
        performance = lambda peer: self.loads.peek(peer).performance_score()  # noqa: E731
        fan_out = self._fan_out(prompt, options, chosen, with_self, query_id, deadline)
        async with contextlib.aclosing(fan_out) as batches:
            async for batch in batches:
                # answers that arrived together are logged together: one commit, not one per answer
                await asyncio.gather(*(self._log_progress(consensus_id, answer) for answer in batch))
                for answer in batch:
                    answers.append(answer)
                    yield answer
                answered = {a.peer_id for a in answers}
                pending = [score for peer, score in scores.items() if peer not in answered]
                reason = decided(answers, pending, options, prompt, performance)
                if reason is not None:
                    stop = reason
                    break
        answered = {a.peer_id for a in answers}
        withdrawn = [
            AgentAnswer(
                peer,
                AgentStatus.CANCELLED,
                "",
                f"withdrawn: the outcome was decided ({stop})",
                _ms(started),
                score,
                f"{query_id}-{peer}",
                self_answer=peer == self._signer.peer_id,
            )
            for peer, score in scores.items()
            if peer not in answered
        ]
        await asyncio.gather(*(self._log_progress(consensus_id, answer) for answer in withdrawn))
        for answer in withdrawn:
            answers.append(answer)
            yield answer
        if stop == StopReason.ALL_ANSWERED and any(a.status == AgentStatus.TIMED_OUT for a in answers):
            stop = StopReason.DEADLINE

        successes = [a for a in answers if a.ok]
        failures = [a for a in answers if not a.ok and a.status != AgentStatus.CANCELLED]
        if not successes and stop != StopReason.FAILURE:
            raise Aborted(f"every selected agent failed: {_failure_list(answers)}", Reason.ALL_AGENTS_FAILED)
        if failures and not options.allow_partial:
            raise Aborted(
                f"{len(failures)} of {len(answers)} agents failed and --allow-partial is false"
                + (f" ({len(withdrawn)} still out were withdrawn)" if withdrawn else "")
                + f": {_failure_list(answers)}",
                Reason.PARTIAL_RESULTS_NOT_ALLOWED,
                field="--allow-partial",
            )
        result_agg = await aggregate(
            successes,
            options,
            prompt,
            performance=performance,
            synthesize=self._synthesizer(options, deadline),
            embed=self._embedder(options, deadline),
            cancelled=len(withdrawn),
        )
        # upstream: achieved = agreement >= minAgents (§13 #16, kept); a missed threshold is reported, not raised
        achieved = result_agg.agreement >= options.min_agents and result_agg.threshold_met
        parameters = options.parameters()
        receipt = sign_receipt(
            self._signer,
            consensus_id=consensus_id,
            prompt=prompt,
            parameters=parameters,
            answers=successes,
            result_text=result_agg.text,
            confidence=result_agg.confidence,
            achieved=achieved,
            agreement=result_agg.agreement,
            created_ms=now_ms(),
            stop_reason=str(stop),
            outcomes=[(a.peer_id, str(a.status)) for a in answers],
        )
        latencies = [a.latency_ms for a in successes]
        outcome = ConsensusOutcome(
            consensus_id,
            result_agg,
            achieved,
            options.aggregation,
            answers,
            rankings_of(successes),
            Metrics(
                len(answers),
                len(successes),
                len(failures),
                sum(latencies) / len(latencies),
                _ms(started),
            ),
            receipt,
            stop,
        )
        await self._events.record(
            "consensus-completed",
            {
                "consensusId": consensus_id,
                "strategy": str(options.aggregation),
                "achieved": achieved,
                "confidence": result_agg.confidence,
                "agreement": result_agg.agreement,
                "resultHash": receipt["resultHash"],
                "totalAgents": outcome.metrics.total_agents,
                "successfulAgents": outcome.metrics.successful_agents,
                "stopReason": str(stop),
            },
            request_id=consensus_id,
        )
        yield outcome

    def _can_answer(self, peer_id: str) -> bool:
        """The peer announces an agent capability, or it answered this node before."""
        load = self.loads.peek(peer_id)
        return self._discovery.is_agent(peer_id) or load.total_requests > load.errors

    async def _log_progress(self, consensus_id: str, answer: AgentAnswer) -> None:
        await self._events.record(
            "consensus-progress",
            {
                "consensusId": consensus_id,
                "peerId": answer.peer_id,
                "status": str(answer.status),
                "latencyMs": answer.latency_ms,
                "messageId": answer.message.id if answer.message else "",
            },
            peer_id=answer.peer_id,
            request_id=consensus_id,
        )

    async def _fan_out(
        self,
        prompt: str,
        options: ConsensusOptions,
        chosen: Sequence[Candidate],
        with_self: bool,
        query_id: str,
        deadline: float,
    ) -> AsyncIterator[list[AgentAnswer]]:
        """Ask every chosen agent at once; yield the answers in arrival order, those already in as one batch.
        Closing the generator early withdraws the requests still out."""
        arrived: asyncio.Queue[AgentAnswer] = asyncio.Queue()

        async def one(job: Any) -> None:
            arrived.put_nowait(await job)

        jobs = [self._ask(c, f"{query_id}-{c.peer_id}", prompt, options, deadline) for c in chosen]
        if with_self:
            jobs.append(self._ask_self(f"{query_id}-{self._signer.peer_id}", prompt, options, deadline))
        tasks = [asyncio.ensure_future(one(job)) for job in jobs]
        try:
            remaining = len(tasks)
            while remaining:
                batch = [await arrived.get()]
                while not arrived.empty():
                    batch.append(arrived.get_nowait())
                remaining -= len(batch)
                yield batch
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _ask(
        self, candidate: Candidate, message_id: str, prompt: str, options: ConsensusOptions, deadline: float
    ) -> AgentAnswer:
        peer = candidate.peer_id
        self.loads.started(peer, now_ms())
        began = time.monotonic()
        status, text, error, message = AgentStatus.FAILED, "", "", None
        try:
            await self._discovery.reach(peer, min(_left(deadline), CONNECT_TIMEOUT_S))
            reply = await self._messenger.prompt(
                peer, prompt, _left(deadline), message_id=message_id, system=options.system_prompt
            )
            message = reply.message
            if reply.error:
                error = reply.error
            else:
                status, text = AgentStatus.SUCCEEDED, reply.text
        except EccoError as failure:
            error = failure.message
            if failure.reason == Reason.REQUEST_TIMEOUT:
                status = AgentStatus.TIMED_OUT
            elif failure.reason in UNREACHABLE_REASONS or failure.code == "UNAVAILABLE":
                status = AgentStatus.UNREACHABLE
        except asyncio.CancelledError:
            self.loads.withdrawn(peer)
            raise
        latency = _ms(began)
        self.loads.finished(peer, latency, status == AgentStatus.SUCCEEDED)
        return AgentAnswer(peer, status, text, error, latency, candidate.match_score, message_id, message)

    async def _respond_self(self, prompt: str, timeout_s: float) -> str:
        assert self._responder is not None
        pieces: list[str] = []
        async with asyncio.timeout(timeout_s):
            async for piece in self._responder.respond(prompt):
                pieces.append(piece)
        return "".join(pieces)

    async def _ask_self(self, message_id: str, prompt: str, options: ConsensusOptions, deadline: float) -> AgentAnswer:
        """This node answers as one more agent (match score 1): its responder, or else its harness (which sees an
        agent-request from this node's own peer id and answers it like any other). The answer is signed by this
        node like any agent-response, so the receipt covers it the same way."""
        me = self._signer.peer_id
        began = time.monotonic()

        def answer(status: AgentStatus, text: str = "", error: str = "", message: Message | None = None) -> AgentAnswer:
            return AgentAnswer(me, status, text, error, _ms(began), 1.0, message_id, message, self_answer=True)

        if self._responder is None:
            try:
                reply = await self._messenger.ask_own_harness(
                    prompt, _left(deadline), message_id=message_id, system=options.system_prompt
                )
            except EccoError as failure:
                timed_out = failure.reason == Reason.REQUEST_TIMEOUT
                return answer(AgentStatus.TIMED_OUT if timed_out else AgentStatus.FAILED, error=failure.message)
            if reply.error:
                return answer(AgentStatus.FAILED, error=reply.error, message=reply.message)
            return answer(AgentStatus.SUCCEEDED, reply.text, message=reply.message)
        try:
            text = await self._respond_self(prompt, _left(deadline))
        except TimeoutError:
            return answer(AgentStatus.TIMED_OUT, error="this node's responder timed out")
        except ResponderFailed as failure:
            return answer(AgentStatus.FAILED, error=str(failure))
        payload = {"requestId": message_id, "response": {"text": text, "finishReason": "stop"}}
        return answer(
            AgentStatus.SUCCEEDED,
            text,
            message=sign_message(new_message(me, me, "agent-response", payload), self._signer),
        )

    def _embedder(self, options: ConsensusOptions, deadline: float) -> Embed | None:
        embeddings = self._embeddings
        if embeddings is None:
            return None

        async def embed(texts: list[str]) -> list[list[float]]:
            return await embeddings.embed(texts, _left(deadline))

        return embed

    def _synthesizer(self, options: ConsensusOptions, deadline: float) -> Synthesize | None:
        if options.synthesizer == SELF_SYNTHESIZER:
            if self._responder is None:
                return None

            async def by_self(synthesis: str) -> str:
                try:
                    return await self._respond_self(synthesis, _left(deadline))
                except (TimeoutError, ResponderFailed) as failure:
                    raise Aborted(
                        f"this node's responder could not synthesize: {failure or 'timed out'}",
                        Reason.AGGREGATOR_FAILED,
                        field="--synthesizer",
                    ) from None

            return by_self

        async def by_peer(synthesis: str) -> str:
            peer = options.synthesizer
            try:
                await self._discovery.reach(peer, min(_left(deadline), CONNECT_TIMEOUT_S))
                reply = await self._messenger.prompt(peer, synthesis, _left(deadline), system=SYNTHESIS_SYSTEM_PROMPT)
            except EccoError as failure:
                raise Aborted(
                    f"the synthesizer {peer} did not answer: {failure.message}",
                    Reason.AGGREGATOR_FAILED,
                    field="--synthesizer",
                ) from None
            if reply.error:
                raise Aborted(
                    f"the synthesizer {peer} answered with an error: {reply.error}",
                    Reason.AGGREGATOR_FAILED,
                    field="--synthesizer",
                )
            return reply.text

        return by_peer


def _ms(began: float) -> int:
    return int((time.monotonic() - began) * 1000)


def _left(deadline: float) -> float:
    """Seconds until the query's deadline (a time.monotonic() value); 0 once it passed."""
    return max(0.0, deadline - time.monotonic())


def _deadline_passed(what: str) -> DeadlineExceeded:
    return DeadlineExceeded(f"the --timeout deadline passed while {what}", Reason.REQUEST_TIMEOUT, field="--timeout")


async def _within(deadline: float, job: Awaitable[T]) -> T:
    try:
        async with asyncio.timeout(_left(deadline)):
            return await job
    except TimeoutError:
        raise _deadline_passed("looking for agents") from None


async def _before(deadline: float, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """`events` until they end; DeadlineExceeded if the deadline passes first. The timeout only covers waiting
    for the next event (never a consumer's work between events, which runs outside this generator's frame)."""
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        while True:
            try:
                async with asyncio.timeout(_left(deadline)):
                    event = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise _deadline_passed("looking for agents") from None
            yield event
