"""`ask`: send a prompt to the best provider of a capability and fall back to the next ones, all within one
deadline. Pure logic over injected callables (trying one candidate is the caller's job), no I/O of its own.

Each candidate gets a fair share of the time left, (deadline - now) / (candidates not yet started), so a silent
first candidate leaves time for the others (the whole --timeout went to it before) and time a fast failure saves
flows to the next. With hedging, a candidate slower than the p90 of this node's recent successful asks gets
company: the next candidate is asked too, the first answer wins, and the other request is withdrawn. The result,
and the error when no candidate answers, list every candidate tried with its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ecco.errors import DeadlineExceeded, EccoError, Reason
from ecco.services.discovery.matching import CapabilityMatch
from ecco.services.messaging import Reply

DEFAULT_MAX_CANDIDATES = 3
"""How many candidates `ask` tries, best first, when the caller does not say (`--max-candidates`)."""
OVERRUN_GRACE_S = 1.0
"""How long past the deadline a candidate's request may take to report its own timeout before it is withdrawn."""
LATENCY_SAMPLES = 100
"""The successful asks the hedging p90 is computed over (the most recent)."""

ANSWERED, FAILED, TIMED_OUT, UNREACHABLE, CANCELLED = "answered", "failed", "timed-out", "unreachable", "cancelled"
_OUTCOMES = {
    Reason.REQUEST_TIMEOUT: TIMED_OUT,
    Reason.PEER_UNREACHABLE: UNREACHABLE,
    Reason.PEER_NOT_FOUND: UNREACHABLE,
}


@dataclass(frozen=True)
class AskAttempt:
    match: CapabilityMatch
    outcome: str  # answered | failed | timed-out | unreachable | cancelled
    error: str
    elapsed_ms: int
    budget_ms: int = 0
    """The time this candidate was given."""


@dataclass(frozen=True)
class AskResult:
    reply: Reply
    attempts: list[AskAttempt]
    """Every candidate tried, in the order their outcome was known; the one that answered among them."""
    match_count: int


TryOne = Callable[[CapabilityMatch, float], Awaitable[Reply]]
"""Sends the prompt to one candidate with a timeout in seconds; raises EccoError when it cannot."""


class LatencyWindow:
    """The latencies of recent successful asks, for the hedging threshold."""

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=LATENCY_SAMPLES)

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)

    def p90(self) -> float | None:
        """Nearest-rank p90 in seconds; None before the first sample."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


async def ask_candidates(
    matches: Sequence[CapabilityMatch],
    try_one: TryOne,
    deadline: float,
    *,
    max_candidates: int = 0,
    hedge: bool = False,
    latencies: LatencyWindow | None = None,
) -> AskResult:
    """Try `matches` (best first; at most `max_candidates`, 0 = DEFAULT_MAX_CANDIDATES) until one answers
    without error or `deadline` (time.monotonic()) passes."""
    latencies = latencies or LatencyWindow()
    queue = list(matches[: max_candidates or DEFAULT_MAX_CANDIDATES])
    hedge_after = latencies.p90() if hedge else None
    attempts: list[AskAttempt] = []
    running: dict[asyncio.Task[Reply], tuple[CapabilityMatch, float, float]] = {}
    last_start = 0.0
    errors: list[EccoError] = []
    winner: Reply | None = None
    try:
        while (queue or running) and winner is None:
            now = time.monotonic()
            can_start = bool(queue) and now < deadline
            hedge_due = hedge_after is not None and running and now - last_start >= hedge_after
            if can_start and (not running or hedge_due):
                match = queue.pop(0)
                budget = (deadline - now) / (len(queue) + 1)
                running[asyncio.ensure_future(try_one(match, budget))] = (match, now, budget)
                last_start = now
                continue
            if not running:
                break
            # a candidate's request ends by itself within its budget (the grace only guards a late timeout)
            wait_s = deadline + OVERRUN_GRACE_S - now
            if can_start and hedge_after is not None:
                wait_s = min(wait_s, last_start + hedge_after - now)
            done, _ = await asyncio.wait(running, timeout=max(0.0, wait_s), return_when=asyncio.FIRST_COMPLETED)
            if not done and time.monotonic() >= deadline + OVERRUN_GRACE_S:
                break
            for task in done:
                match, started, budget = running.pop(task)
                elapsed = time.monotonic() - started
                try:
                    reply = task.result()
                except EccoError as error:
                    errors.append(error)
                    outcome = _OUTCOMES.get(error.reason, FAILED)
                    attempts.append(_attempt(match, outcome, error.message, elapsed, budget))
                    continue
                if reply.error:
                    errors.append(EccoError(f"the agent answered with an error: {reply.error}", Reason.AGENT_FAILED))
                    attempts.append(_attempt(match, FAILED, reply.error, elapsed, budget))
                elif winner is None:
                    winner = reply
                    latencies.add(elapsed)
                    attempts.append(_attempt(match, ANSWERED, "", elapsed, budget))
    finally:
        for task, (match, started, budget) in running.items():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            reason = "withdrawn: another candidate answered first" if winner else "withdrawn: the deadline passed"
            attempts.append(_attempt(match, CANCELLED, reason, time.monotonic() - started, budget))
    if winner is not None:
        return AskResult(winner, attempts, len(matches))
    raise _no_answer(attempts, errors)


def _attempt(match: CapabilityMatch, outcome: str, error: str, elapsed_s: float, budget_s: float) -> AskAttempt:
    return AskAttempt(match, outcome, error, int(elapsed_s * 1000), int(budget_s * 1000))


def _no_answer(attempts: Sequence[AskAttempt], errors: Sequence[EccoError]) -> EccoError:
    """The last candidate's error (its class and reason), naming every candidate tried and how it ended."""
    tried = "; ".join(
        f"{a.match.peer_id}: {a.outcome} after {a.elapsed_ms} ms of {a.budget_ms} ms ({a.error})" for a in attempts
    )
    metadata = {"candidates": ",".join(f"{a.match.peer_id}={a.outcome}" for a in attempts)}
    if not errors:
        tried = tried or "none could be tried"
        return DeadlineExceeded(f"no candidate answered in time: {tried}", Reason.REQUEST_TIMEOUT, metadata=metadata)
    last = errors[-1]
    return type(last)(f"no candidate answered: {tried}", last.reason, metadata=metadata)
