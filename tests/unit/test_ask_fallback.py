"""`ask` falls back for real: each candidate gets its share of the deadline, hedging asks the next candidate when
one is slow, and the result or the error lists every candidate tried."""

from __future__ import annotations

import asyncio
import time

import pytest

from ecco.errors import DeadlineExceeded, EccoError, Reason, Unavailable
from ecco.services.discovery.ask import LatencyWindow, ask_candidates
from ecco.services.discovery.matching import CapabilityMatch
from ecco.services.messaging import Reply


class _Peer:
    def __init__(self, peer_id: str) -> None:
        self.peer_id, self.capabilities, self.reputation = peer_id, (), None


def match(name: str) -> CapabilityMatch:
    return CapabilityMatch(name, 1.0, (), (), _Peer(name))  # type: ignore[arg-type]


def reply(name: str, error: str = "") -> Reply:
    return Reply(name, f"id-{name}", "" if error else f"answer from {name}", "stop", error, 1, 0, None)


def agents(behaviour: dict[str, str], delay_s: float = 0.0):  # type: ignore[no-untyped-def]
    """A try_one over scripted candidates: silent (times out at its budget, like the messenger), fail, gone,
    slow (answers after delay_s), or answer at once. Records (name, budget) of every call."""
    calls: list[tuple[str, float]] = []

    async def try_one(candidate: CapabilityMatch, budget_s: float) -> Reply:
        name = candidate.peer_id
        calls.append((name, budget_s))
        kind = behaviour.get(name, "answer")
        if kind == "silent":
            await asyncio.sleep(budget_s)
            raise DeadlineExceeded(f"{name} did not answer within {budget_s:.1f}s", Reason.REQUEST_TIMEOUT)
        if kind == "gone":
            raise Unavailable(f"{name} is unreachable", Reason.PEER_UNREACHABLE)
        if kind == "slow":
            await asyncio.sleep(delay_s)
        return reply(name, "boom" if kind == "fail" else "")

    return try_one, calls


async def test_a_silent_first_candidate_leaves_time_for_the_next() -> None:
    try_one, calls = agents({"a": "silent"})
    began = time.monotonic()
    result = await ask_candidates([match("a"), match("b"), match("c")], try_one, began + 0.9)
    assert result.reply.peer_id == "b"
    assert [(a.match.peer_id, a.outcome) for a in result.attempts] == [("a", "timed-out"), ("b", "answered")]
    assert calls[0][1] == pytest.approx(0.3, abs=0.05)  # a third of the deadline, not all of it
    assert time.monotonic() - began < 0.6


async def test_max_candidates_bounds_the_tries_and_the_error_lists_each() -> None:
    try_one, calls = agents({"a": "fail", "b": "gone", "c": "silent", "d": "answer"})
    began = time.monotonic()
    with pytest.raises(EccoError) as failure:
        await ask_candidates([match(n) for n in "abcd"], try_one, began + 0.6, max_candidates=3)
    assert [name for name, _ in calls] == ["a", "b", "c"]
    error = failure.value
    assert error.reason == Reason.REQUEST_TIMEOUT  # the last candidate's reason
    for name, outcome in (("a", "failed"), ("b", "unreachable"), ("c", "timed-out")):
        assert f"{name}: {outcome}" in error.message
    assert error.metadata["candidates"] == "a=failed,b=unreachable,c=timed-out"
    assert time.monotonic() - began < 0.6 * 1.1 + 0.1  # the deadline holds


async def test_hedging_asks_the_next_candidate_when_one_is_slower_than_p90() -> None:
    window = LatencyWindow()
    for seconds in (0.01, 0.02, 0.05):
        window.add(seconds)
    try_one, calls = agents({"a": "silent"})
    began = time.monotonic()
    result = await ask_candidates([match("a"), match("b")], try_one, began + 5, hedge=True, latencies=window)
    assert time.monotonic() - began < 1  # not a's 2.5 s share: b was asked after 50 ms
    assert result.reply.peer_id == "b"
    assert [(a.match.peer_id, a.outcome) for a in result.attempts] == [("b", "answered"), ("a", "cancelled")]
    assert [name for name, _ in calls] == ["a", "b"]


async def test_without_hedging_or_samples_a_slow_answer_is_awaited() -> None:
    try_one, calls = agents({"a": "slow"}, delay_s=0.1)
    result = await ask_candidates([match("a"), match("b")], try_one, time.monotonic() + 5, hedge=True)
    assert result.reply.peer_id == "a" and [name for name, _ in calls] == ["a"]  # no p90 yet: no hedge
