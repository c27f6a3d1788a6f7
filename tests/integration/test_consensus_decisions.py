"""Consensus a harness can trust, over real daemons with scripted agents, as the issue's new user tried it: an echo
agent, one answering Paris, one paraphrasing it, a slow one with a long wrong answer about Lyon, one that always
fails and one without a responder (silent: nobody answers its requests).

Seven daemons for the module; each test picks its agents with --preferred.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Ecco, error_of, list_events, up

pytestmark = pytest.mark.integration

QUESTION = "What is the capital of France?"
LYON = "Lyon is often called the gastronomic capital of France, and many visitors mistake it for the capital."
AGENTS = {
    "echo": "echo",
    "paris": "exec:echo Paris",
    "para": "exec:echo 'The capital of France is Paris.'",
    # slow and wrong; `exec` so that stopping the node kills the sleep itself
    "lyon": f"exec:sleep 1.5; echo '{LYON}'",
    "broken": "exec:echo failing on purpose >&2; exit 3",
}


CAPABILITIES = {"lyon": ("--capability", "capital", "--capability", "oracle")}
"""`ask --capability oracle` has two candidates: the silent node and slow Lyon."""


def _announce(name: str) -> tuple[str, ...]:
    return CAPABILITIES.get(name, ("--capability", "capital"))


class Nodes:
    def __init__(self, ecco: Ecco, ids: dict[str, str]) -> None:
        self.ecco, self.ids = ecco, ids

    def only(self, *names: str) -> list[str]:
        return [arg for name in names for arg in ("--preferred", self.ids[name])]

    def consensus(self, *args: str) -> tuple[dict[str, Any], float]:
        began = time.monotonic()
        result = self.ecco("consensus", *args, "--json", "--node", "user")
        elapsed = time.monotonic() - began
        assert result.code == 0, result.stdout + result.stderr
        return result.json(), elapsed

    def statuses(self, doc: dict[str, Any]) -> dict[str, str]:
        names = {pid: name for name, pid in self.ids.items()}
        return {names[r["peerId"]]: r["status"] for r in doc["responses"]}


@pytest.fixture(scope="module")
def nodes() -> Iterator[Nodes]:
    home = Path(tempfile.mkdtemp(prefix="ecco-dec-", dir="/tmp"))
    ecco = Ecco(home)
    try:
        # announces agent capabilities, never answers
        hub = up(ecco, "silent", "--capability", "capital", "--capability", "oracle")
        with ThreadPoolExecutor(max_workers=5) as pool:
            futures = {
                name: pool.submit(up, ecco, name, *_announce(name), "--responder", spec, "--bootstrap", hub["addr"])
                for name, spec in AGENTS.items()
            }
            started = {"silent": hub, **{name: future.result() for name, future in futures.items()}}
        bootstrap = [arg for node in started.values() for arg in ("--bootstrap", node["addr"])]
        started["user"] = up(ecco, "user", *bootstrap)
        found = ecco.ok(
            "peer", "discover", "--name", "capital", "--phases", "local", "--phase-timeout", "30000",
            "--min-peers", "6", "--json", "--node", "user",
        ).json()["peers"]  # fmt: skip
        assert len(found) == 6, found
        yield Nodes(ecco, {name: node["peerId"] for name, node in started.items()})
    finally:
        with ThreadPoolExecutor(max_workers=7) as pool:
            names = [pid_file.parent.name for pid_file in home.glob("nodes/*/daemon.pid")]
            list(pool.map(lambda name: ecco("node", "stop", "--node", name), names))
        ecco.kill_all()
        shutil.rmtree(home, ignore_errors=True)


def test_the_right_answer_not_the_echo_and_a_silent_agent_costs_the_deadline(nodes: Nodes) -> None:
    # the run: every default; the echo came first and won, and the silent node cost 63.5 s
    args = (QUESTION, "--phases", "local", "--min-peers", "6", "--timeout", "4000")
    doc, elapsed = nodes.consensus(*args)
    assert doc["text"].strip() in {"Paris", "The capital of France is Paris."}
    # 2 of the 4 answers agree (the echo counts as one that does not): below the default 0.6, honestly
    assert (doc["achieved"], doc["agreement"], doc["confidence"]) == (False, 2, 0.5)
    assert elapsed < 4 * 1.1 + 5  # the deadline, plus the CLI's own start-up on a loaded machine
    statuses = nodes.statuses(doc)
    assert statuses["silent"] == "timed-out" and statuses["broken"] == "failed"
    assert doc["stopReason"] == "deadline" and doc["receipt"]["stopReason"] == "deadline"
    texts = sorted(v["text"].strip() for v in doc["votes"])
    assert QUESTION in texts  # the echo is its own camp, not merged with the answers
    assert doc["receipt"]["parameters"]["similarity"] == "content"
    assert doc["receipt"]["parameters"]["timeoutMs"] == 4000


def test_majority_vote_stops_when_the_leader_cannot_be_caught(nodes: Nodes) -> None:
    # Paris and its paraphrase agree at once; slow Lyon cannot outvote them: withdrawn before it answers
    doc, elapsed = nodes.consensus(
        "request", QUESTION, *nodes.only("paris", "para", "lyon"), "--aggregation", "majority-vote"
    )
    assert elapsed < 10 and doc["stopReason"] == "leader-cannot-be-caught"
    assert nodes.statuses(doc) == {"paris": "succeeded", "para": "succeeded", "lyon": "cancelled"}
    assert doc["confidence"] == pytest.approx(2 / 3)  # the withdrawn one counts as possible dissent
    agents = {a["peerId"]: a["status"] for a in doc["receipt"]["agents"]}
    assert agents[nodes.ids["lyon"]] == "cancelled"
    events = [
        e["payload"]
        for e in list_events(nodes.ecco, "user", "consensus-progress")
        if e["payload"]["consensusId"] == doc["consensusId"]
    ]
    assert sorted(e["status"] for e in events) == ["cancelled", "succeeded", "succeeded"]


def test_first_response_returns_at_the_first_valid_answer(nodes: Nodes) -> None:
    doc, elapsed = nodes.consensus(
        "request", QUESTION, *nodes.only("broken", "lyon", "silent"), "--aggregation", "first-response"
    )
    assert doc["text"].strip() == LYON and doc["stopReason"] == "first-answer"
    assert elapsed < 10  # Lyon's 1.5 s, not the silent node's 30 s
    assert nodes.statuses(doc) == {"broken": "failed", "lyon": "succeeded", "silent": "cancelled"}


def test_allow_partial_false_fails_at_the_first_failure(nodes: Nodes) -> None:
    began = time.monotonic()
    result = nodes.ecco(
        "consensus", "request", QUESTION, *nodes.only("broken", "lyon", "silent"), "--allow-partial", "false",
        "--json", "--node", "user",
    )  # fmt: skip
    assert time.monotonic() - began < 10  # not the silent node's 30 s deadline
    error = error_of(result)
    assert error["reason"] == "PARTIAL_RESULTS_NOT_ALLOWED" and "2 still out were withdrawn" in error["message"]


def test_a_threshold_out_of_reach_stops_early_without_consensus(nodes: Nodes) -> None:
    doc, elapsed = nodes.consensus(
        "request", QUESTION, *nodes.only("paris", "echo", "silent"), "--consensus-threshold", "0.9"
    )
    assert elapsed < 10 and doc["stopReason"] == "threshold-out-of-reach" and doc["achieved"] is False


def test_reputation_and_ask_fall_back_past_failing_and_silent_candidates(nodes: Nodes) -> None:
    """Two outcomes separate a failing peer from a good one. `ask` gives each candidate its share of --timeout:
    a silent first candidate used to take all of it, leaving no time for a fallback. `paris` asks here: its
    reputation book starts empty (the user node's holds the earlier tests' outcomes)."""
    ecco, asker = nodes.ecco, ("--node", "paris")
    for _ in range(2):
        ecco.ok("request", nodes.ids["echo"], "--prompt", "hello", *asker)
        assert ecco("request", nodes.ids["broken"], "--prompt", "x", *asker).code != 0
        # slow Lyon times out twice: it now ranks below the silent node, which this node never asked
        assert ecco("request", nodes.ids["lyon"], "--prompt", "x", "--timeout", "200", *asker).code != 0
    scores = {
        r["peerId"]: r["discoveryScore"] for r in ecco.ok("peer", "reputation", "--json", *asker).json()["reputations"]
    }
    assert (scores[nodes.ids["echo"]], scores[nodes.ids["broken"]], scores[nodes.ids["lyon"]]) == (75, 25, 25)
    found = ecco.ok(
        "peer", "discover", "--name", "oracle", "--phases", "local", "--phase-timeout", "30000", "--min-peers", "2",
        "--json", *asker,
    ).json()["peers"]  # fmt: skip
    assert len(found) == 2

    # one candidate only: the error names it and how it ended
    one = ecco(
        "ask", "--capability", "oracle", QUESTION, "--max-candidates", "1", "--timeout", "1500", "--json", *asker
    )
    error = error_of(one)
    assert error["reason"] == "REQUEST_TIMEOUT" and f"{nodes.ids['silent']}: timed-out after" in error["message"]

    began = time.monotonic()
    asked = ecco.ok("ask", "--capability", "oracle", QUESTION, "--timeout", "8000", "--json", *asker).json()
    assert time.monotonic() - began < 8 * 1.1 + 3
    tried = [(c["match"]["peer"]["peerId"], c["outcome"], c["budgetMs"]) for c in asked["candidates"]]
    assert [(peer, outcome) for peer, outcome, _ in tried] == [
        (nodes.ids["silent"], "timed-out"),
        (nodes.ids["lyon"], "answered"),
    ]
    assert tried[0][2] == pytest.approx(4000, abs=300)  # half the deadline for the first of two
    assert asked["text"].strip() == LYON
